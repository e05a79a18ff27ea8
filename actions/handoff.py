"""A person takes over: the handoff is queued with the assistant's summary,
routed to a team by what the assistant understood last and offered to an
online agent of that team; the user is told who took it, or their place, or
when agents answer (in the conversation's language, the ``language`` slot),
and the conversation pauses (Rasa predicts nothing until the agent hands it
back; see bot/channels/handoff_bridge.py).
The summary records the user's language (``summary["language"]``), so the
console shows it and offers canned answers in it first.  The services are
the process's (``bot.services.services()``)."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions.account_flows import STATE_SLOTS, cleared_flow
from bot.accounts.flows import trusted_slots
from bot.handoff.hours import ServiceHours
from bot.handoff.models import HandoffState
from bot.handoff.request_summary import (
    LANGUAGE_SUMMARY_KEY,
    assistant_told,
    reason_of,
    summary_of,
    understood_topic,
    user_key_of,
)
from bot.handoff.teams import routed_topic
from bot.handoff.user_replies import queued_reply
from bot.language import LANGUAGE_SLOT, language_of
from bot.services import services
from bot.topics import FAQ_INTENT

DEFAULT_CHANNEL = "rest"


def previous_bot_buttons(tracker: Tracker) -> List[Dict[Text, Any]]:
    """Buttons of the last bot message before the user's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return []
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            return (event.get("data") or {}).get("buttons") or []
    return []


def user_texts(tracker: Tracker) -> List[Text]:
    return [event.get("text") or "" for event in tracker.events if event.get("event") == "user"]


def understood_topics(tracker: Tracker) -> List[Text]:
    """What the assistant understood of each user message, oldest first: the intent,
    or ``faq/<key>`` for an FAQ answer (the response selector's choice)."""
    topics = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse_data = event.get("parse_data") or {}
        name = (parse_data.get("intent") or {}).get("name") or ""
        if name == FAQ_INTENT:
            selected = ((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("response") or {}
            name = selected.get("intent_response_key") or name
        topics.append(name)
    return topics


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        # Only what this server signed for this conversation: a forged slot shows the agent nobody verified.
        current = services()
        claimed = {name: tracker.get_slot(name) for name in STATE_SLOTS}
        slots = trusted_slots(claimed, tracker.sender_id, current.clock())
        latest_intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason = reason_of(
            latest_intent,
            tracker.get_slot("clarification"),
            previous_bot_buttons(tracker),
            flow_was_running=bool(slots.get("flow")),
        )
        summary = summary_of(
            slots,
            user_texts(tracker),
            understood_topic(tracker.events),
            current.accounts,
            told=assistant_told(tracker.events),
        )
        language = language_of(tracker.get_slot(LANGUAGE_SLOT))
        summary[LANGUAGE_SUMMARY_KEY] = language
        service = current.handoffs
        topic = routed_topic(slots.get("flow"), understood_topics(tracker))
        handoff = service.request(
            tracker.sender_id,
            tracker.get_latest_input_channel() or DEFAULT_CHANNEL,
            reason,
            summary,
            topic,
            user_key=user_key_of(slots, tracker.sender_id),
        )
        if handoff.state == HandoffState.WAITING:  # to an online agent of its team, if one is free
            handoff = service.auto_assign(handoff.id) or handoff
        reply = queued_reply(service, handoff, ServiceHours.from_settings(), service.now(), language)
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons)
        # A running flow ends here (the agent takes the problem over); then nothing
        # more is predicted until the agent hands the conversation back.
        events = cleared_flow() if slots.get("flow") else []
        return events + [ConversationPaused()]
