"""Between human handoff and the running assistant (inside the Rasa server).

* :func:`handoff_aware` wraps a channel's ``on_new_message``: while a person
  owns the conversation, each user message is recorded for the agent (and
  still logged by Rasa, which predicts nothing: the conversation is paused);
  a waiting user's 取消 gives the conversation back to the assistant.
* :func:`handoff_traffic` tells the messages that belong to the handoff's
  side (a conversation with a handoff open, the rating, the cancel button);
  a saturated process never sheds them (bot/channels/load_shedding.py).
* :func:`announce_agent` tells the user a person has taken the conversation.
* :func:`send_to_user` stores an agent's reply in the conversation and pushes
  it to the user's own channel (widget or Telegram).
* :func:`give_back_to_assistant` resumes the assistant with its slots intact
  and lets it speak first (the rating question; the rating buttons are
  handled here too, as is a stale 取消 button).

What the user reads here is in the conversation's language (the tracker's
``language`` slot, read in ``_say``; ``bot.handoff.user_replies`` words it);
the widget is told that language with each message (``language``), for its
own texts.

Every step reads the handoff state from the database through the process's
``HandoffService`` (``bot.services.services().handoffs``), so any Rasa
process behind one address can serve any conversation.  The database work
runs off the event loop (``asyncio.to_thread``).  The channels (the REST,
widget and Telegram inputs, the console) import this module; bot/handoff
never does (it is the core without Rasa).
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from functools import partial
from typing import Any, Awaitable, Callable, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sanic import Sanic

from bot.accounts.checks import InvalidInput
from bot.channels.conversation_language import chosen_language, slot_language
from bot.handoff.service import HandoffView
from bot.handoff.user_replies import (
    CANCEL_PAYLOAD,
    Reply,
    agent_joined,
    agent_says,
    back_to_assistant,
    cancelled,
    rating_of,
    thanks_for,
)
from bot.services import services

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# A reply, or how to word it in the conversation's language (known only once the tracker is read).
Wording = Union[Reply, Callable[[str], Reply]]


def handoff_aware(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wraps a channel's ``on_new_message`` with the handoff's side of each message."""

    async def receive(message: UserMessage) -> Any:
        text = (message.text or "").strip()
        rating = rating_of(text)
        if rating is not None:  # the rating buttons after a handoff; never Rasa's business
            return await _rate(message, rating)
        handoff = await to_thread(services().handoffs.open_handoff, message.sender_id)
        if handoff is None:
            if text == CANCEL_PAYLOAD:  # a stale button: nothing is waiting
                return await _say(_app_of(), message.sender_id, message.output_channel, cancelled)
            return await on_new_message(message)
        if text == CANCEL_PAYLOAD and await to_thread(services().handoffs.cancel, message.sender_id):
            return await _say(_app_of(), message.sender_id, message.output_channel, cancelled, resume=True)
        shown = (message.metadata or {}).get("display_text") or message.text or ""
        await to_thread(services().handoffs.record_user_message, message.sender_id, shown)
        return await on_new_message(message)  # logged by Rasa; paused, so no answer

    return receive


async def handoff_traffic(message: UserMessage) -> bool:
    """Does ``message`` belong to a handoff: a rating, the cancel button, or any message of a
    conversation whose handoff is open (waiting for a person or with one)?  One read of the
    handoff table unless the text tells already; raises when that table cannot be read."""
    text = (message.text or "").strip()
    if rating_of(text) is not None or text == CANCEL_PAYLOAD:
        return True
    return await to_thread(services().handoffs.open_handoff, message.sender_id) is not None


async def _rate(message: UserMessage, rating: int) -> None:
    reply: Wording
    try:
        await to_thread(services().handoffs.rate, message.sender_id, rating)
        reply = partial(thanks_for, rating)
    except InvalidInput as refusal:
        reply = partial(_refusal_in, refusal)
    await _say(_app_of(), message.sender_id, message.output_channel, reply)


def _refusal_in(refusal: InvalidInput, language: str) -> Reply:
    return Reply(refusal.text(language))


async def announce_agent(app: Sanic, handoff: HandoffView, agent_name: str) -> None:
    reply = partial(agent_joined, agent_name)
    await _say(app, handoff.sender_id, output_channel(app, handoff.channel), reply, agent_name)


async def send_to_user(app: Sanic, handoff: HandoffView, text: str, agent_name: str) -> None:
    reply = partial(agent_says, agent_name, text)
    await _say(app, handoff.sender_id, output_channel(app, handoff.channel), reply, agent_name)


async def give_back_to_assistant(app: Sanic, handoff: HandoffView) -> None:
    """The assistant has the conversation again, slots as they were; it speaks first."""
    await _say(app, handoff.sender_id, output_channel(app, handoff.channel), back_to_assistant, resume=True)


async def _say(
    app: Optional[Sanic],
    sender_id: str,
    output: OutputChannel,
    wording: Wording,
    agent_name: Optional[str] = None,
    resume: bool = False,
) -> None:
    """Records a message in the conversation (so the widget's history shows it) and sends it,
    worded in the conversation's language.  Sent while the conversation's lock is held: the
    messages of one conversation go out in the order they were stored, whichever Rasa server
    stores each (the claim's notice, the agent's reply and the rating question come from
    console requests that nginx may send to different servers)."""
    language = chosen_language(None)
    reply = wording if isinstance(wording, Reply) else wording(language)
    if app is None:
        logger.error("no Rasa app: message to %s not recorded", sender_id)
        await _send(output, sender_id, reply, None)
        return
    rasa_agent = app.ctx.agent
    async with rasa_agent.lock_store.lock(sender_id):
        tracker = await rasa_agent.processor.get_tracker(sender_id)
        language, told = chosen_language(tracker), slot_language(tracker)
        reply = wording if isinstance(wording, Reply) else wording(language)
        if resume:
            tracker.update(ConversationResumed())
        data = {"buttons": reply.buttons} if reply.buttons else None
        tracker.update(BotUttered(reply.text, data=data, metadata={"handoff_agent": agent_name} if agent_name else {}))
        if resume:
            # The paused turns ended without the assistant listening; rules
            # expect every user message to follow action_listen.
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await rasa_agent.processor.save_tracker(tracker)
        await _send(output, sender_id, reply, told)


async def _send(output: OutputChannel, sender_id: str, reply: Reply, told: Optional[str]) -> None:
    """``told``: the slot's language for the widget's own texts (None while unset)."""
    if reply.buttons:
        await output.send_text_with_buttons(sender_id, reply.text, reply.buttons, language=told)
    else:
        await output.send_text_message(sender_id, reply.text, language=told)


def output_channel(app: Sanic, channel_name: str) -> OutputChannel:
    """The user's own channel; REST clients are not pushed to (they read the tracker)."""
    for input_channel in getattr(app.ctx, "input_channels", None) or []:
        if input_channel.name() == channel_name:
            output = input_channel.get_output_channel()
            if output is not None:
                return output
    return CollectingOutputChannel()


def _app_of() -> Optional[Sanic]:
    try:
        return Sanic.get_app()
    except Exception:  # noqa: BLE001 - no registered app (unit tests)
        return None
