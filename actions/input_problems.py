"""Explains why a message could not be read (empty, emoji only, garbled, too long)."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import config
from bot.input_screen import screen_message


class ActionExplainInvalidInput(Action):
    def name(self) -> Text:
        return "action_explain_invalid_input"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        text = tracker.latest_message.get("text")
        max_chars = config.get_int("MAX_MESSAGE_CHARS")
        problem = screen_message(text, max_chars)
        if problem is None:  # e.g. the intent was sent as a "/invalid_input" payload
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(
            response=f"utter_invalid_input_{problem.value}",
            length=len(text or ""),
            max_chars=max_chars,
        )
        return []
