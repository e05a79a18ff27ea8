"""The socket.io rooms through Redis (bot/channels/socket_rooms.py) against a real Redis
server that is stopped and started again: a message published while Redis restarts, or
before a listener has resubscribed, still reaches the listener, once; a Redis that stays
away is reported to the caller instead of dropping the message silently."""

from __future__ import annotations

import asyncio
import time
from typing import Any, List

import pytest

from bot.channels import socket_rooms
from bot.channels.socket_rooms import DurableRedisManager
from tests.servers import RedisServer


class Listener:
    """A manager's receiving side, as a Rasa process runs it (its ``_thread``'s loop)."""

    def __init__(self, url: str) -> None:
        self.manager = DurableRedisManager(url)
        self.received: List[Any] = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for message in self.manager._listen():
            self.received.append(self.manager.json.loads(message))

    async def until(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def close(self) -> None:
        self.task.cancel()

    async def leave(self) -> None:
        """The process dies: its subscription ends with its connection."""
        self.close()
        pubsub = self.manager.pubsub
        await (pubsub.aclose() if hasattr(pubsub, "aclose") else pubsub.reset())


async def subscribed(publisher: DurableRedisManager, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if not publisher.connected:
                publisher._redis_connect()
            if await publisher._listeners() >= count:
                return
        except Exception:  # noqa: BLE001 - Redis still starting
            publisher.connected = False
        await asyncio.sleep(0.05)
    raise AssertionError("the listener never subscribed")


@pytest.fixture
def redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_a_message_published_across_a_redis_restart_arrives_once(redis):
    async def scenario() -> None:
        url = f"redis://127.0.0.1:{redis.port}/0"
        listener, publisher = Listener(url), DurableRedisManager(url)
        try:
            await subscribed(publisher, 1)
            assert await publisher._publish({"n": 1}) == 1
            redis.stop()

            async def restart_later() -> None:
                await asyncio.sleep(1.5)
                await asyncio.to_thread(redis.start)

            restarting = asyncio.ensure_future(restart_later())
            # Published while Redis is down: waits for Redis and for the listener to resubscribe.
            assert await publisher._publish({"n": 2}) == 1
            await restarting
            await listener.until(2, 10)
            assert listener.received == [{"n": 1}, {"n": 2}]
        finally:
            listener.close()

    asyncio.run(scenario())


def test_a_redis_that_stays_away_is_reported_not_swallowed(redis, monkeypatch):
    monkeypatch.setattr(socket_rooms, "PUBLISH_PATIENCE_SECONDS", 1.0)

    async def scenario() -> None:
        publisher = DurableRedisManager(f"redis://127.0.0.1:{redis.port}/0")
        redis.stop()
        with pytest.raises(ConnectionError):
            await publisher._publish({"n": 1})

    asyncio.run(scenario())


def test_a_process_gone_for_good_is_waited_for_once(redis):
    async def scenario() -> None:
        url = f"redis://127.0.0.1:{redis.port}/0"
        staying, leaving, publisher = Listener(url), Listener(url), DurableRedisManager(url)
        try:
            await subscribed(publisher, 2)
            assert await publisher._publish({"n": 1}) == 2
            await leaving.leave()
            await asyncio.sleep(0.3)
            started = time.monotonic()
            assert await publisher._publish({"n": 2}) == 1
            assert time.monotonic() - started >= socket_rooms.RESUBSCRIBE_WAIT_SECONDS - 0.5
            started = time.monotonic()
            assert await publisher._publish({"n": 3}) == 1
            assert time.monotonic() - started < socket_rooms.RESUBSCRIBE_WAIT_SECONDS / 2
            await staying.until(3, 5)
            assert staying.received == [{"n": 1}, {"n": 2}, {"n": 3}]
        finally:
            staying.close()

    asyncio.run(scenario())


class Process(DurableRedisManager):
    """A Rasa process's room manager; what its sockets were sent goes to ``shown``."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.shown: List[str] = []


def test_every_process_shows_a_rooms_messages_in_the_order_they_were_published(redis, monkeypatch):
    """An older message of another process, still in this process's listener, is shown before
    this process's own newer one (stock python-socketio shows its own at once)."""
    from socketio.async_manager import AsyncManager

    async def delivered(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, **kwargs):
        self.shown.append(data["text"])

    monkeypatch.setattr(AsyncManager, "emit", delivered)

    async def scenario() -> None:
        url = f"redis://127.0.0.1:{redis.port}/0"
        holding_the_socket, other = Process(url), Process(url)
        listening = asyncio.ensure_future(holding_the_socket._thread())
        try:
            await subscribed(other, 1)
            await other.emit("bot_uttered", {"text": "客服 小王 已接入"}, room="widget:x")
            # At once, before this process's listener has had a turn on the loop:
            await holding_the_socket.emit("bot_uttered", {"text": "客服 小王：您好"}, room="widget:x")
            deadline = time.monotonic() + 10
            while len(holding_the_socket.shown) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert holding_the_socket.shown == ["客服 小王 已接入", "客服 小王：您好"]
            assert other.shown == []  # its own message went through Redis too (its listener is not running)
        finally:
            listening.cancel()

    asyncio.run(scenario())


def test_the_listener_reads_on_while_a_delivery_is_pending_and_keeps_the_order(redis, monkeypatch):
    """A delivery that has not ended (its process's event loop busy with turns) does not hold the
    next messages in the listener; they still reach the sockets in the order they were published.
    Stock python-socketio awaits each delivery before it reads the next message."""
    from socketio.async_manager import AsyncManager

    async def delivered(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, **kwargs):
        self.shown.append(data["text"])  # AsyncManager.emit creates its sends at once ...
        await self.gate.wait()  # ... and then waits for them to end

    monkeypatch.setattr(AsyncManager, "emit", delivered)

    async def scenario() -> None:
        url = f"redis://127.0.0.1:{redis.port}/0"
        receiving, other = Process(url), Process(url)
        receiving.gate = asyncio.Event()
        listening = asyncio.ensure_future(receiving._thread())
        try:
            await subscribed(other, 1)
            for n in range(3):
                await other.emit("bot_uttered", {"text": f"第{n}条"}, room="widget:x")
            deadline = time.monotonic() + 10
            while len(receiving.shown) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert receiving.shown == ["第0条", "第1条", "第2条"]
            assert len(receiving.deliveries) == 3  # none has ended, and none held the listener up
            receiving.gate.set()
            deadline = time.monotonic() + 10
            while receiving.deliveries and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert not receiving.deliveries
        finally:
            listening.cancel()

    asyncio.run(scenario())
