"""Reads what has happened in a conversation from its tracker events.

State such as "how many times in a row did we misunderstand" is derived from
the events rather than kept in slots, so it cannot drift from what the user
actually saw.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

Event = Dict[str, Any]

FALLBACK_INTENT = "nlu_fallback"
CLARIFY_ACTION = "action_clarify"
HUMAN_OFFER_THRESHOLD = 2
_NOT_A_STEP = ("action_listen", "action_extract_slots")


def _user_intent(event: Event) -> Optional[str]:
    return (event.get("parse_data") or {}).get("intent", {}).get("name")


def _since_session_start(events: Iterable[Event]) -> List[Event]:
    events = list(events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") in ("session_started", "restart"):
            return events[index + 1 :]
    return events


def misunderstanding_streak(events: Iterable[Event]) -> int:
    """Consecutive user turns, up to the latest, that the assistant did not understand.

    A turn counts when NLU fell back, or when the user answered the
    "did you mean" buttons with "none of these".
    """
    streak = 0
    last_action: Optional[str] = None
    for event in _since_session_start(events):
        kind = event.get("event")
        if kind == "action" and event.get("name") not in _NOT_A_STEP:
            last_action = event.get("name")
        elif kind == "user":
            intent = _user_intent(event)
            rejected_guesses = intent == "deny" and last_action == CLARIFY_ACTION
            streak = streak + 1 if intent == FALLBACK_INTENT or rejected_guesses else 0
    return streak
