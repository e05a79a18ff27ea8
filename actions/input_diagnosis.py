"""Says why a message could not be read: empty, emoji only, garbled or too long."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import config
from bot.input_screen import InputProblem, screen_message


class ActionDiagnoseInput(Action):
    """Sets ``input_problem``; rules pick the explanation for it."""

    def name(self) -> Text:
        return "action_diagnose_input"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        problem = screen_message(tracker.latest_message.get("text"), config.get_int("MAX_MESSAGE_CHARS"))
        # A "/invalid_input" payload has readable text; call it what it is, empty of content.
        return [SlotSet("input_problem", (problem or InputProblem.EMPTY).value)]
