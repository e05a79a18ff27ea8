"""What the assistant does when it is unsure what the user meant."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.clarification import candidate_topics
from bot.conversation import HUMAN_OFFER_THRESHOLD, misunderstanding_streak

CLARIFY_PROMPT = "我不太确定您的意思，您是想问："
NONE_OF_THESE = {"title": "都不是", "payload": "/deny"}


class ActionClarify(Action):
    """Shows the likeliest topics as buttons; after repeated misses, rules offer a person.

    Sets ``clarification`` to choices, offer_human or nothing_to_offer.
    """

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if misunderstanding_streak(tracker.events) >= HUMAN_OFFER_THRESHOLD:
            return [SlotSet("clarification", "offer_human")]
        topics = candidate_topics(tracker.latest_message)
        if not topics:
            return [SlotSet("clarification", "nothing_to_offer")]
        buttons = [{"title": topic.question, "payload": topic.button_payload} for topic in topics]
        dispatcher.utter_message(text=CLARIFY_PROMPT, buttons=buttons + [NONE_OF_THESE])
        return [SlotSet("clarification", "choices")]
