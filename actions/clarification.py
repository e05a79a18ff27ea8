"""What the assistant says when it is unsure what the user meant."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clarification import candidate_topics
from bot.conversation import HUMAN_OFFER_THRESHOLD, OFFER_HUMAN, misunderstanding_streak

NONE_OF_THESE = {"title": "都不是", "payload": "/deny"}


class ActionClarify(Action):
    """Offers the likeliest topics as buttons; after repeated misses, a human."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if misunderstanding_streak(tracker.events) >= HUMAN_OFFER_THRESHOLD:
            dispatcher.utter_message(response=OFFER_HUMAN)
            return []
        topics = candidate_topics(tracker.latest_message)
        if not topics:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": topic.question, "payload": topic.button_payload} for topic in topics]
        dispatcher.utter_message(response="utter_ask_clarify", buttons=buttons + [NONE_OF_THESE])
        return []
