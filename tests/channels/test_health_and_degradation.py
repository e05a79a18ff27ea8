"""Health, graceful shutdown and degradation (docs/operations.md), against the
real servers as ``make run`` starts them, on PostgreSQL and Redis started
for this module: each part is taken down for real (the action server killed,
PostgreSQL stopped, Redis stopped, the Rasa server sent SIGTERM) and the user
must get the busy message on REST and in the widget, never silence or a 500,
and the conversation must go on once the part is back."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Tuple

import pytest
from sqlalchemy import create_engine, text

from bot.channels.busy import BUSY_TEXT
from tests.assistants import RESULTS, AssistantProcess, post_rest_message, reply_texts
from tests.servers import PostgresServer, RedisServer
from tests.widget_client import WidgetClient

pytestmark = pytest.mark.integration

BUSY = BUSY_TEXT


class Stack:
    def __init__(self, postgres: PostgresServer, redis: RedisServer, assistant: AssistantProcess) -> None:
        self.postgres, self.redis, self.assistant = postgres, redis, assistant

    @property
    def running(self):
        return self.assistant.running


@pytest.fixture(scope="module")
def stack():
    RESULTS.mkdir(exist_ok=True)
    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    assistant = AssistantProcess(
        RESULTS / "ops-servers.log",
        DATABASE_URL=postgres.url,
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(redis.port),
        SUPPORT_HOURS="always",
        TELEGRAM_BOT_TOKEN="",
        SHUTDOWN_GRACE_SECONDS="40",
    )
    try:
        assistant.start()
        yield Stack(postgres, redis, assistant)
    finally:
        assistant.stop()
        redis.stop()
        postgres.close()


def conversation() -> str:
    return f"ops-{uuid.uuid4().hex[:10]}"


def get(url: str, timeout: float = 15) -> Tuple[int, Dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def say(stack: Stack, sender: str, message: str, timeout: float = 60) -> Tuple[int, Any]:
    return post_rest_message(stack.running.rest_webhook, stack.assistant.rest_token, sender, message, timeout)


def rasa_ready(stack: Stack) -> Tuple[int, Dict[str, Any]]:
    return get(f"{stack.running.rasa_url}/webhooks/health/ready")


def actions_ready(stack: Stack) -> Tuple[int, Dict[str, Any]]:
    return get(f"{stack.running.actions_url}/health/ready")


def eventually_ready(stack: Stack, timeout: float = 60) -> Dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = rasa_ready(stack)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, body
            return body
        time.sleep(0.5)


def user_texts_stored(stack: Stack, sender: str) -> List[str]:
    engine = create_engine(stack.postgres.url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' ORDER BY id"),
                {"sender": f"rest:{sender}"},  # the REST channel's namespace
            )
            return [json.loads(row[0]).get("text") for row in rows]
    finally:
        engine.dispose()


async def widget_session(stack: Stack) -> WidgetClient:
    widget = WidgetClient(stack.running.rasa_url)
    await widget.connect()
    await widget.start_session(None)
    return widget


async def widget_says(widget: WidgetClient, message: str) -> List[str]:
    await widget.say(message)
    return [reply.get("text") or "" for reply in await widget.replies_until_quiet(quiet=2.0, timeout=60)]


def test_both_servers_report_live_and_ready_with_every_check(stack):
    status, body = get(f"{stack.running.rasa_url}/webhooks/health/live")
    assert (status, body) == (200, {"status": "alive"})
    status, body = rasa_ready(stack)
    assert status == 200, body
    assert body == {"status": "ready", "checks": {
        "draining": "no", "model": "ok", "tracker_store": "ok", "lock_store": "ok", "action_server": "ok"}}
    assert get(f"{stack.running.actions_url}/health")[0] == 200
    assert actions_ready(stack) == (200, {"status": "ready", "checks": {"database": "ok", "stopping": "no"}})


def test_a_killed_action_server_gets_the_busy_message_and_the_rasa_server_stays_up(stack):
    sender = conversation()
    status, replies = say(stack, sender, "你好")
    assert status == 200 and replies and BUSY not in reply_texts(replies)

    async def scenario() -> None:
        widget = await widget_session(stack)
        try:
            stack.running.action_server.kill()
            stack.running.action_server.wait(timeout=10)
            status, body = rasa_ready(stack)
            assert status == 503 and body["checks"]["action_server"] == "unreachable", body
            # The case: 忘记密码 got an empty reply.
            status, replies = say(stack, sender, "忘记密码")
            assert status == 200 and replies and reply_texts(replies)[-1] == BUSY, replies
            assert "忘记密码" in user_texts_stored(stack, sender)  # the message is kept in the conversation
            assert BUSY in await widget_says(widget, "忘记密码")
            assert stack.running.rasa_server.poll() is None  # the Rasa server did not go down with it

            with open(stack.assistant.log_path, "a", encoding="utf-8") as log:
                stack.running.restart_action_server(log)
            assert eventually_ready(stack)["checks"]["action_server"] == "ok"
            status, replies = say(stack, sender, "忘记密码")
            assert status == 200 and replies and BUSY not in reply_texts(replies), replies
            answer = await widget_says(widget, "忘记密码")
            assert answer and BUSY not in answer
        finally:
            await widget.close()

    asyncio.run(scenario())


def test_a_stopped_database_gets_the_busy_message_not_a_500(stack):
    sender = conversation()
    assert say(stack, sender, "你好")[0] == 200

    async def scenario() -> None:
        widget = await widget_session(stack)  # before the outage: the session reads the history
        try:
            stack.postgres.stop()
            status, body = rasa_ready(stack)
            assert status == 503 and body["checks"]["tracker_store"] == "unreachable", body
            status, body = actions_ready(stack)
            assert status == 503 and body["checks"]["database"] == "unreachable", body
            status, body = say(stack, sender, "忘记密码")
            assert status == 503 and body["message"] == BUSY, body  # not stored: the client sends it again
            assert await widget_says(widget, "忘记密码") == [BUSY]
            assert stack.running.rasa_server.poll() is None

            stack.postgres.start()
            eventually_ready(stack)
            assert actions_ready(stack)[0] == 200
            status, replies = say(stack, sender, "忘记密码")
            assert status == 200 and replies and BUSY not in reply_texts(replies), replies
            answer = await widget_says(widget, "忘记密码")
            assert answer and BUSY not in answer
        finally:
            await widget.close()

    asyncio.run(scenario())


def test_a_stopped_redis_gets_the_busy_message(stack):
    sender = conversation()
    assert say(stack, sender, "你好")[0] == 200

    async def scenario() -> None:
        widget = await widget_session(stack)
        try:
            stack.redis.stop()
            status, body = rasa_ready(stack)
            assert status == 503 and body["checks"]["lock_store"] == "unreachable", body
            status, body = say(stack, sender, "忘记密码")
            assert status == 503 and body["message"] == BUSY, body
            # Straight to the socket: the widget's rooms go through Redis too.
            assert await widget_says(widget, "忘记密码") == [BUSY]

            stack.redis.start()
            eventually_ready(stack)
            status, replies = say(stack, sender, "忘记密码")
            assert status == 200 and replies and BUSY not in reply_texts(replies), replies
            answer = await widget_says(widget, "忘记密码")
            assert answer and BUSY not in answer
        finally:
            await widget.close()

    asyncio.run(scenario())


def test_sigterm_finishes_the_turns_in_flight_and_takes_no_new_ones(stack):
    """Last in this module: the Rasa server stops.  A slow turn: the action
    server is paused (SIGSTOP) while the turn waits for it."""
    sender = conversation()
    assert say(stack, sender, "你好")[0] == 200
    in_flight: Dict[str, Any] = {}

    async def scenario() -> None:
        widget = await widget_session(stack)
        newcomer = await widget_session(stack)
        actions = stack.running.action_server
        try:
            os.kill(actions.pid, signal.SIGSTOP)
            rest_turn = threading.Thread(target=lambda: in_flight.update(rest=say(stack, sender, "忘记密码", 120)))
            rest_turn.start()
            await widget.say("忘记密码")
            await asyncio.sleep(3)  # both turns now wait for the paused action server
            stack.running.rasa_server.send_signal(signal.SIGTERM)
            await asyncio.sleep(2)

            assert get(f"{stack.running.rasa_url}/webhooks/health/live")[0] == 200
            status, body = rasa_ready(stack)
            assert status == 503 and body["checks"]["draining"] == "yes", body
            status, body = say(stack, conversation(), "你好")
            assert status == 503 and body["message"] == BUSY
            assert await widget_says(newcomer, "你好") == [BUSY]

            os.kill(actions.pid, signal.SIGCONT)
            widget_answer = [reply.get("text") or "" for reply in await widget.replies_until_quiet(2.0, 60)]
            rest_turn.join(60)
            status, replies = in_flight["rest"]
            assert status == 200 and replies and BUSY not in reply_texts(replies), replies
            assert widget_answer and BUSY not in widget_answer
        finally:
            os.kill(actions.pid, signal.SIGCONT)
            for client in (widget, newcomer):
                try:
                    await client.close()
                except Exception:  # noqa: BLE001 - the server is going away
                    pass

    asyncio.run(scenario())
    assert stack.running.rasa_server.wait(timeout=60) == 0
