"""One conversation's messages reach the user in the order they were stored, whichever Rasa server
stores and sends each (bot/channels/turns.py ``RepliesHeldUntilStored``, handoff_bridge ``_say``).

The load test found the widget showing an agent's reply before the notice of her claim: two
console requests, served by two Rasa servers, each stored its message under the conversation's
lock and sent it after releasing the lock, so the slower server's message came second."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, List

import pytest
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered

from bot.channels import turns
from bot.channels.handoff_bridge import _say
from bot.channels.turns import Outcome, RepliesHeldUntilStored, TurnGate, guarded
from bot.channels.widget import TurnOutput
from bot.handoff.user_replies import Reply
from tests.channels.test_turns import rasa_turn, watched_store

pytestmark = pytest.mark.integration  # shares test_turns.py's stand-ins for Rasa's turn

CONVERSATION = "widget:" + "b" * 32


class LogOfLock(InMemoryLockStore):
    """Rasa's in-memory lock store noting in ``log`` when a conversation's lock is given back."""

    def __init__(self, log: List[str]) -> None:
        super().__init__()
        self.log = log

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.log.append("lock released")
        super().finish_serving(conversation_id, ticket_number)


class SlowToSendTheClaim(OutputChannel):
    """A channel sending the claim's notice slowly, as a busy Rasa server does."""

    def __init__(self, log: List[str]) -> None:
        self.log = log

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if "已接入" in text:
            await asyncio.sleep(0.3)
        self.log.append(text)


def rasa_app(lock_store: InMemoryLockStore, store: InMemoryTrackerStore) -> Any:
    async def get_tracker(conversation: str) -> Any:
        return await store.get_or_create_tracker(conversation)

    processor = SimpleNamespace(get_tracker=get_tracker, save_tracker=store.save)
    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(lock_store=lock_store, processor=processor)))


async def stored_texts(store: InMemoryTrackerStore) -> List[str]:
    tracker = await store.retrieve(CONVERSATION)
    return [event.text for event in tracker.events if isinstance(event, BotUttered)] if tracker else []


@pytest.mark.asyncio
async def test_handoff_notices_go_out_in_the_order_they_were_stored():
    store = InMemoryTrackerStore(Domain.empty())
    app = rasa_app(InMemoryLockStore(), store)
    sent: List[str] = []
    output = SlowToSendTheClaim(sent)
    claim = asyncio.create_task(_say(app, CONVERSATION, output, Reply("客服 小王 已接入")))
    while not await stored_texts(store):  # the claim is stored; its (slow) sending has begun
        await asyncio.sleep(0.01)
    reply = asyncio.create_task(_say(app, CONVERSATION, output, Reply("客服 小王：您好")))
    await asyncio.gather(claim, reply)
    stored = await stored_texts(store)
    assert stored == ["客服 小王 已接入", "客服 小王：您好"]
    assert sent == stored


@pytest.mark.asyncio
async def test_a_notice_is_sent_before_the_conversation_is_given_back():
    log: List[str] = []

    class Noting(OutputChannel):
        async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
            log.append("sent")

    await _say(rasa_app(LogOfLock(log), InMemoryTrackerStore(Domain.empty())), CONVERSATION, Noting(), Reply("x"))
    assert log == ["sent", "lock released"]


class Held(RepliesHeldUntilStored, OutputChannel):
    def __init__(self, log: List[str]) -> None:
        self.log = log
        self.released_with: List[Any] = []

    async def release(self, tracker: Any) -> None:
        self.log.append("released")
        self.released_with.append(tracker)


@pytest.mark.asyncio
async def test_held_replies_are_released_by_the_save_that_stores_the_turn_inside_the_lock():
    log: List[str] = []
    held = Held(log)
    message = UserMessage("忘记密码", held, CONVERSATION)
    outcome = await guarded(rasa_turn(watched_store(), LogOfLock(log)), TurnGate())(message)
    assert outcome is Outcome.ANSWERED
    # Released once, by the save holding the message (not by the session start's save before it).
    assert log == ["released", "lock released"]
    assert held.released_with[0].latest_message.message_id == message.message_id


class RecordingSocketServer:
    def __init__(self) -> None:
        self.emitted: List[str] = []

    async def emit(self, event: str, data: Any, room: Any = None, **kwargs: Any) -> None:
        self.emitted.append(data["text"])


@pytest.mark.asyncio
async def test_the_widget_sends_a_turns_replies_once_whether_the_save_or_the_channel_releases_them():
    sio = RecordingSocketServer()
    output = TurnOutput(sio)  # type: ignore[arg-type]
    await output.send_text_message(CONVERSATION, "答复")
    assert sio.emitted == []
    store = watched_store()
    tracker = await store.get_or_create_tracker(CONVERSATION)
    await output.release(tracker)
    await output.send(CONVERSATION)  # the channel's send after the turn: nothing left
    await output.send_text_message(CONVERSATION, "之后")  # after the release: straight out
    assert sio.emitted == ["答复", "之后"]
    assert isinstance(output, turns.RepliesHeldUntilStored)
