"""The start of a conversation session, which takes the client's language as a hint.

Rasa's own ``action_session_start`` with one addition.  As Rasa's: the
``SessionStarted`` event, then the slots set in the ending session carried
over (when the domain's ``carry_over_slots_to_new_session`` says so; the
session's metadata, which Rasa put in ``session_started_metadata`` just
before, among them), then ``action_listen``.  The addition: when the
``language`` slot is still unset, the metadata's ``language_hint`` (the
widget sends the browser's ``navigator.language``, Telegram the client's
``language_code``: "en-US", "zh-hans") sets it, if it names one of
``LANGUAGES``; any other language leaves it unset (Chinese, the default).  A
language the user chose or wrote in (a set slot) always wins over the hint.
"""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.language import LANGUAGE_HINT_METADATA, LANGUAGE_SLOT, language_of

SESSION_METADATA_SLOT = "session_started_metadata"


def hinted_language(metadata: Optional[Dict[str, Any]]) -> Optional[str]:
    """One of ``LANGUAGES`` for the metadata's language tag ("en-GB" -> en), else None."""
    hint = (metadata or {}).get(LANGUAGE_HINT_METADATA)
    if not isinstance(hint, str):
        return None
    language = language_of(hint)  # the default language for a tag it does not know ...
    return language if hint.strip().lower().startswith(language) else None  # ... which is no hint


def _slots_set_this_session(tracker: Tracker) -> List[str]:
    """Names of the slots that SlotSet events set since the session (or the conversation) began."""
    names: List[str] = []
    for event in tracker.events:
        if event.get("event") in ("session_started", "restart"):
            names = []
        elif event.get("event") == "slot" and event.get("name") not in names:
            names.append(event["name"])
    return names


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        events: List[Dict[Text, Any]] = [SessionStarted()]
        carried: List[Dict[Text, Any]] = []
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
            carried = [SlotSet(name, tracker.get_slot(name)) for name in _slots_set_this_session(tracker)]
        else:
            metadata = tracker.get_slot(SESSION_METADATA_SLOT)
            carried = [SlotSet(SESSION_METADATA_SLOT, metadata)] if metadata is not None else []
        events.extend(carried)
        hint = hinted_language(tracker.get_slot(SESSION_METADATA_SLOT))
        carried_language = next((event["value"] for event in carried if event["name"] == LANGUAGE_SLOT), None)
        if hint is not None and carried_language is None:
            events.append(SlotSet(LANGUAGE_SLOT, hint))
        events.append(ActionExecuted("action_listen"))
        return events
