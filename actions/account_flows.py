"""The account flows: start, each answer of the form ``account_form``, and reset.

The actions only translate between Rasa and ``bot.accounts.flows.FlowEngine``,
which holds the logic; the engine is the process's (``bot.services.services().flows``).
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.accounts.flows import FLOW_OF_INTENT, FLOW_SLOTS, Outcome, Turn
from bot.channels.client_address import CLIENT_ADDRESS_METADATA
from bot.language import LANGUAGE_SLOT
from bot.nlu.values import EXTRACTOR_NAME
from bot.services import services

REQUESTED_SLOT = "requested_slot"
STATE_SLOTS = ("flow", "flow_data", "verified_account") + FLOW_SLOTS


def latest_metadata(tracker: Tracker) -> Dict[Text, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return {}


def values_of(message: Dict[Text, Any]) -> Dict[Text, str]:
    """The first value of each kind the NLU's ValueExtractor found in the message."""
    values: Dict[Text, str] = {}
    for entity in message.get("entities") or []:
        if entity.get("extractor") == EXTRACTOR_NAME and entity.get("value"):
            values.setdefault(entity["entity"], str(entity["value"]))
    return values


def turn_of(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    metadata = latest_metadata(tracker)
    address = metadata.get(CLIENT_ADDRESS_METADATA)  # set by the channel, whatever the client sent
    return Turn(
        text=message.get("text") or "",
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        metadata=metadata,
        sender_id=tracker.sender_id,
        values=values_of(message),
        client_address=address if isinstance(address, str) else "",
    )


# Actions between a user message and this validation that do not mean the
# conversation moved on (Rasa logs the running form itself before validating).
_TRANSPARENT_ACTIONS = {"action_listen", "action_extract_slots", "account_form"}


def answers_the_question(tracker: Tracker) -> bool:
    """True when the latest user message came after the form's question; False when
    the form runs again after another action (activation, back from a FAQ answer)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in _TRANSPARENT_ACTIONS:
            return False
    return False


def slots_of(tracker: Tracker) -> Dict[Text, Any]:
    """The flow's state and the conversation's language, which the flow speaks."""
    return {name: tracker.get_slot(name) for name in STATE_SLOTS + (LANGUAGE_SLOT,)}


def cleared_flow() -> List[Dict[Text, Any]]:
    return [SlotSet(name, None) for name in ("flow", "flow_data", REQUESTED_SLOT) + FLOW_SLOTS]


class ActionStartFlow(Action):
    """Starts the flow for the intent just recognised (also mid-flow: switches)."""

    def name(self) -> Text:
        return "action_start_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        services().flows.forget(tracker.sender_id)
        return cleared_flow() + [SlotSet("flow", FLOW_OF_INTENT.get(intent or ""))]


class ValidateAccountForm(Action):
    """Checks each answer, says what is wrong, asks the next question.

    Returning no slot for the requested one makes Rasa reject the form, so
    rules answer interruptions (a FAQ question, "取消", "转人工", another problem).
    """

    def name(self) -> Text:
        return "validate_account_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        slots, turn = slots_of(tracker), turn_of(tracker)
        engine = services().flows
        if requested is None or not answers_the_question(tracker):
            # Activation, or back after an interruption: ask, do not read the message.
            outcome = (
                engine.start(slots, turn)
                if requested is None
                else engine.resume(slots, requested, tracker.sender_id, turn.client_address)
            )
        else:
            outcome = engine.answer(slots, requested, turn)
        if outcome.rejected:
            return []
        return self._events(dispatcher, outcome)

    @staticmethod
    def _events(dispatcher: CollectingDispatcher, outcome: Outcome) -> List[Dict[Text, Any]]:
        for message in outcome.messages:
            dispatcher.utter_message(**message)
        events = [SlotSet(name, value) for name, value in outcome.slots.items()]
        if outcome.done:
            # Cleared here rather than by a follow-up action: one call to the
            # action server fewer on the turn that ends a flow.
            return events + cleared_flow()
        return events + [SlotSet(REQUESTED_SLOT, outcome.ask)]


class ActionResetFlow(Action):
    """After a flow ends or is cancelled; the verified identity stays for 30 minutes."""

    def name(self) -> Text:
        return "action_reset_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        services().flows.forget(tracker.sender_id)
        return cleared_flow()
