"""socket.io rooms shared through Redis, without losing a message when Redis restarts.

python-socketio's ``AsyncRedisManager`` publishes each emit on a Redis channel that
every Rasa process listens to.  Redis pub/sub keeps nothing: a message published
while a process is not subscribed is gone for it.  Stock, two moments lose messages
(the load test's chaos found the second: an agent's reply stored, never shown):

* while Redis is down, a publish is tried twice, logged and dropped — the caller is
  told nothing, so the console reported the reply as delivered;
* after Redis is back, each listener resubscribes after a back-off that doubles from
  1 s (up to 60 s): a publish in between reaches nobody on that process.

``DurableRedisManager`` closes both:

* a publish waits for Redis up to ``PUBLISH_PATIENCE_SECONDS`` (a restart takes a
  second or two), then raises ``ConnectionError`` — the caller says so (the console
  warns the agent; the widget channel answers with the busy message);
* before publishing it waits, up to ``RESUBSCRIBE_WAIT_SECONDS``, until as many
  processes listen as listened before (``PUBSUB NUMSUB``); a process that has not
  come back by then (killed; its restart loads a model) stops being waited for,
  and one that comes back is waited for again;
* a listener resubscribes within ``RESUBSCRIBE_MAX_SLEEP_SECONDS``.

It publishes once per emit, never again after a publish that Redis accepted, so
nobody gets a message twice.

**One order for every process.**  Stock, an emit is delivered to the emitting process's own
sockets at once and published for the others after; a process whose event loop is busy then
shows its own new message before an older one another process published, still waiting in its
listener (the load test: an agent's reply before the notice of her claim, both stored in
order).  Here an emit to a room goes out through Redis only: it is published under
``RELAYED_HOST_ID``, so every listener, this process's too, delivers it, each in Redis's order
(one Redis serialises the publishes, and a conversation's messages are published in the order
they are stored: bot/channels/turns.py).  An emit with a callback keeps the stock path (the
callback's answer is routed by the sender's ``host_id``; the channels use none), and
``ignore_queue`` emits (the busy message to one socket) never touch Redis.

**A listener that does not wait for its deliveries.**  Stock, the listener awaits each
message's delivery before it reads the next, at least one turn of the event loop per message;
a loop busy with turns (the model, Rasa's synchronous tracker store) makes each turn long, so a
listener that every process's messages go through falls behind (docs/capacity.md, the fourth
run).  Here the listener starts each delivery and reads on (``_deliver_in_background``).
Order is kept: a delivery creates its sends to the sockets before its first suspension, tasks
start in the order they were created, and a socket's send queues the packet without
suspending, so each socket gets the messages in the order the listener read them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Optional, Set

from socketio import AsyncRedisManager

PUBLISH_PATIENCE_SECONDS = 20.0
RESUBSCRIBE_WAIT_SECONDS = 6.0
RESUBSCRIBE_MAX_SLEEP_SECONDS = 1.0
POLL_SECONDS = 0.1
# The host_id room emits are published under: no process has it, so every listener delivers them.
RELAYED_HOST_ID = "relayed-through-redis"


class DurableRedisManager(AsyncRedisManager):
    """``AsyncRedisManager`` that waits for Redis and for its listeners (module docstring)."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.connected: bool = getattr(self, "connected", False)
        # How many processes listened at the last publish: the number to wait for.
        self.listeners_expected = 0
        # Deliveries the listener started and that have not ended (held so none is collected).
        self.deliveries: Set["asyncio.Future[None]"] = set()

    async def _handle_emit(self, message: Any) -> None:
        if _relayed(message, self.host_id):
            return  # the local shortcut of ``emit``: delivered by this process's listener instead
        if isinstance(message, dict) and message.get("host_id") == self.host_id:
            await super()._handle_emit(message)  # an emit with a callback, by the stock path
            return
        self._deliver_in_background(message)

    def _deliver_in_background(self, message: Any) -> None:
        delivery = asyncio.ensure_future(super()._handle_emit(message))
        self.deliveries.add(delivery)
        delivery.add_done_callback(self._delivered)

    def _delivered(self, delivery: "asyncio.Future[None]") -> None:
        self.deliveries.discard(delivery)
        failure = None if delivery.cancelled() else delivery.exception()
        if failure is not None:
            self._get_logger().error("A socket.io delivery failed: %r", failure)

    async def _publish(self, data: Any) -> Optional[int]:
        if _relayed(data, self.host_id):
            data = {**data, "host_id": RELAYED_HOST_ID}
        _, error = self._get_redis_module_and_error()
        deadline = time.monotonic() + PUBLISH_PATIENCE_SECONDS
        delay = POLL_SECONDS
        while True:
            try:
                if not self.connected:
                    self._redis_connect()
                await self._wait_for_listeners()
                receivers = int(await self.redis.publish(self.channel, self.json.dumps(data)))
                self.listeners_expected = max(self.listeners_expected, receivers)
                return receivers
            except error as exc:
                self.connected = False
                if time.monotonic() + delay > deadline:
                    self._get_logger().error("Cannot publish to redis: giving up")
                    raise ConnectionError("the socket.io message queue (Redis) is unreachable") from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _wait_for_listeners(self) -> None:
        deadline = time.monotonic() + RESUBSCRIBE_WAIT_SECONDS
        while True:
            listening = await self._listeners()
            if listening >= self.listeners_expected:
                return
            if time.monotonic() >= deadline:
                # A process gone for longer than a resubscription takes: no longer waited for.
                self.listeners_expected = listening
                return
            await asyncio.sleep(POLL_SECONDS)

    async def _listeners(self) -> int:
        counts = await self.redis.pubsub_numsub(self.channel)
        return int(counts[0][1]) if counts else 0

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:  # the stock loop, with a short back-off
        _, error = self._get_redis_module_and_error()
        retry_sleep = POLL_SECONDS
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = POLL_SECONDS
                async for message in self.pubsub.listen():
                    yield message
            except error as exc:
                self._get_logger().error("Cannot receive from redis (%s): retrying in %.1f s", exc, retry_sleep)
                subscribed = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, RESUBSCRIBE_MAX_SLEEP_SECONDS)


def _relayed(message: Any, own_host_id: str) -> bool:
    """An emit of this process without a callback: it goes to every socket through Redis."""
    return (
        isinstance(message, dict)
        and message.get("method") == "emit"
        and message.get("host_id") == own_host_id
        and message.get("callback") is None
    )
