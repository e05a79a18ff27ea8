"""Switching the conversation's language on request ("English please", "说中文", a button).

``action_set_language`` (rule: intent ``set_language``) sets the ``language``
slot and confirms in the new language (``common.language_switched``).  The
language is, in this order: the one the message asks for
(``requested_language``: "能说英语吗" asks for English though it is Chinese),
the ``language`` entity of a button payload (``/set_language{"language": "en"}``),
else the other language than the conversation's (a bare ``/set_language`` toggles).
"""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.language import LANGUAGE_SLOT, LANGUAGES, language_of, tr
from bot.nlu.language_rules import requested_language

LANGUAGE_ENTITY = "language"


def _entity_language(tracker: Tracker) -> Optional[str]:
    values = [
        entity.get("value")
        for entity in tracker.latest_message.get("entities") or []
        if entity.get("entity") == LANGUAGE_ENTITY and entity.get("value") in LANGUAGES
    ]
    return values[-1] if values else None


def chosen_language(tracker: Tracker) -> str:
    """The language the latest message asks for (see the module's docstring)."""
    asked = requested_language(tracker.latest_message.get("text")) or _entity_language(tracker)
    if asked is not None:
        return asked
    current = language_of(tracker.get_slot(LANGUAGE_SLOT))
    return next(language for language in LANGUAGES if language != current)


class ActionSetLanguage(Action):
    def name(self) -> Text:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        language = chosen_language(tracker)
        dispatcher.utter_message(text=tr("common.language_switched", language))
        return [SlotSet(LANGUAGE_SLOT, language)]
