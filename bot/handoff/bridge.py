"""Between human handoff and the running assistant (inside the Rasa server).

* :func:`handoff_aware` wraps a channel's ``on_new_message``: while a person
  owns the conversation, each user message is recorded for the agent (and
  still logged by Rasa, which predicts nothing: the conversation is paused);
  a waiting user's 取消 gives the conversation back to the assistant.
* :func:`send_to_user` stores an agent's reply in the conversation and pushes
  it to the user's own channel (widget or Telegram).
* :func:`give_back_to_assistant` resumes the assistant with its slots intact
  and lets it speak first (the rating question).

Every step reads the handoff state from the database, so any Rasa process
behind one address can serve any conversation.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, ConversationResumed
from sanic import Sanic

from bot.accounts.database import Database
from bot.channels.common import in_thread
from bot.handoff.service import HandoffService, HandoffView

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
CANCEL_PAYLOAD = "/cancel_handoff"
# External intents the assistant's rules answer when a person is done.
FINISHED_INTENT = "handoff_finished"
CANCELLED_INTENT = "handoff_cancelled"


@lru_cache(maxsize=1)
def handoff_service() -> HandoffService:
    return HandoffService(Database())


def handoff_aware(on_new_message: OnNewMessage) -> OnNewMessage:
    async def receive(message: UserMessage) -> Any:
        handoff = await in_thread(handoff_service().open_handoff, message.sender_id)
        if handoff is None:
            return await on_new_message(message)
        if (message.text or "").strip() == CANCEL_PAYLOAD:
            if await in_thread(handoff_service().cancel, message.sender_id):
                await _resume(_app_of(), handoff, CANCELLED_INTENT, message.output_channel)
                return None
        shown = (message.metadata or {}).get("display_text") or message.text or ""
        await in_thread(handoff_service().record_user_message, message.sender_id, shown)
        return await on_new_message(message)  # logged by Rasa; paused, so no answer

    return receive


async def send_to_user(app: Sanic, handoff: HandoffView, text: str, agent_name: str) -> None:
    shown = f"人工客服 {agent_name}：{text}"
    agent = app.ctx.agent
    async with agent.lock_store.lock(handoff.sender_id):
        tracker = await agent.processor.get_tracker(handoff.sender_id)
        tracker.update(BotUttered(shown, metadata={"handoff_agent": agent_name}))
        await agent.processor.save_tracker(tracker)
    await output_channel(app, handoff.channel).send_text_message(handoff.sender_id, shown)


async def give_back_to_assistant(app: Sanic, handoff: HandoffView) -> None:
    await _resume(app, handoff, FINISHED_INTENT, output_channel(app, handoff.channel))


async def _resume(app: Optional[Sanic], handoff: HandoffView, intent: str, output: OutputChannel) -> None:
    if app is None:
        logger.error("no Rasa app to resume conversation %s", handoff.sender_id)
        return
    agent = app.ctx.agent
    async with agent.lock_store.lock(handoff.sender_id):
        tracker = await agent.processor.get_tracker(handoff.sender_id)
        tracker.update(ConversationResumed())
        await agent.processor.trigger_external_user_uttered(intent, {}, tracker, output)


def output_channel(app: Sanic, channel_name: str) -> OutputChannel:
    """The user's own channel; REST clients are not pushed to (they poll the tracker)."""
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
