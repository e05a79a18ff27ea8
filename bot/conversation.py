"""Reads what has happened in a conversation from its tracker events.

State such as "how many times in a row did we misunderstand" is derived from
the events rather than kept in slots, so it cannot drift from what the user
actually saw.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

Event = Dict[str, Any]

FALLBACK_INTENT = "nlu_fallback"
ASK_CLARIFY = "utter_ask_clarify"
OFFER_HUMAN = "utter_offer_human"
HUMAN_OFFER_THRESHOLD = 2


def _user_intent(event: Event) -> Optional[str]:
    return (event.get("parse_data") or {}).get("intent", {}).get("name")


def _bot_response_name(event: Event) -> Optional[str]:
    return (event.get("metadata") or {}).get("utter_action")


def _since_session_start(events: Iterable[Event]) -> List[Event]:
    events = list(events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") in ("session_started", "restart"):
            return events[index + 1 :]
    return events


def misunderstanding_streak(events: Iterable[Event]) -> int:
    """Consecutive user turns, up to the latest, that the assistant did not understand.

    A turn counts when NLU fell back, or when the user answered a "did you
    mean" question with "none of these".
    """
    streak = 0
    last_response: Optional[str] = None
    for event in _since_session_start(events):
        kind = event.get("event")
        if kind == "bot":
            last_response = _bot_response_name(event)
        elif kind == "user":
            intent = _user_intent(event)
            rejected_guess = intent == "deny" and last_response == ASK_CLARIFY
            streak = streak + 1 if intent == FALLBACK_INTENT or rejected_guess else 0
    return streak


def last_question_asked(events: Iterable[Event]) -> Optional[str]:
    """Name of the response the assistant sent before the latest user message."""
    events = list(events)
    seen_latest_user_message = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user_message:
                return None
            seen_latest_user_message = True
        elif kind == "bot" and seen_latest_user_message:
            return _bot_response_name(event)
    return None


def reply_to_yes_no(intent: str, events: Iterable[Event]) -> str:
    """The response that answers a bare "yes" or "no" in its context."""
    events = list(events)
    question = last_question_asked(events)
    if question == OFFER_HUMAN:
        return "utter_request_human" if intent == "affirm" else "utter_rephrase"
    if question == ASK_CLARIFY:
        if intent == "affirm":
            return "utter_pick_an_option"
        if misunderstanding_streak(events) >= HUMAN_OFFER_THRESHOLD:
            return OFFER_HUMAN
        return "utter_rephrase"
    return "utter_anything_else"
