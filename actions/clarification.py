"""What the assistant does when it is unsure what the user meant.

The prompt and the buttons' titles are in the conversation's language (the
``language`` slot; catalogue ``clarification``, the questions of bot/topics.py);
the payloads are the same in every language.
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.clarification import candidate_topics
from bot.conversation import HUMAN_OFFER_THRESHOLD, misunderstanding_streak
from bot.language import LANGUAGE_SLOT, tr

NONE_OF_THESE_PAYLOAD = "/deny"


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
        language = tracker.get_slot(LANGUAGE_SLOT)
        buttons = [{"title": topic.question_in(language), "payload": topic.button_payload} for topic in topics]
        none_of_these = {"title": tr("clarification.none_of_these", language), "payload": NONE_OF_THESE_PAYLOAD}
        dispatcher.utter_message(text=tr("clarification.prompt", language), buttons=buttons + [none_of_these])
        return [SlotSet("clarification", "choices")]
