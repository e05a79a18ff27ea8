"""Answers a bare "yes" or "no" according to what the assistant last asked."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import reply_to_yes_no


class ActionReplyToYesNo(Action):
    def name(self) -> Text:
        return "action_reply_to_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        dispatcher.utter_message(response=reply_to_yes_no(intent, tracker.events))
        return []
