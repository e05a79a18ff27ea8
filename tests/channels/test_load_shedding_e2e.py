"""Load shedding against the real servers as ``make run`` starts them, with
``MAX_TURNS_IN_FLIGHT=1``: one REST turn is held in flight (the action server paused
with SIGSTOP while the turn waits for it), and a new conversation's turn must get the
busy message at once (REST 503, the widget the busy message), with nothing of it stored,
while the handoff's traffic still passes; once the held turn finished, the next turn is
served.  The channels' own answers without the servers: tests/channels/test_load_shedding.py."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from typing import Any, Dict, List, Tuple

import pytest
from sqlalchemy import create_engine, text

from bot.channels.busy import BUSY_TEXT
from tests.assistants import assistant_on_sqlite, post_rest_message, reply_texts
from tests.widget_client import WidgetClient

pytestmark = pytest.mark.integration

# Far less than the held turn waits: a shed turn is answered at once, not after it.
AT_ONCE_SECONDS = 5.0


@pytest.fixture(scope="module")
def saturable(tmp_path_factory):
    with assistant_on_sqlite(tmp_path_factory, "load-shedding-servers.log", MAX_TURNS_IN_FLIGHT="1",
                             SUPPORT_HOURS="always", TELEGRAM_BOT_TOKEN="") as process:
        yield process


def conversation() -> str:
    return f"shed-{uuid.uuid4().hex[:10]}"


def say(process, sender: str, message: str, timeout: float = 120) -> Tuple[int, Any]:
    return post_rest_message(process.running.rest_webhook, process.rest_token, sender, message, timeout)


def user_texts_stored(process, sender: str) -> List[str]:
    engine = create_engine(process.overrides["DATABASE_URL"], future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' ORDER BY id"),
                {"sender": f"rest:{sender}"},
            )
            return [json.loads(row[0]).get("text") for row in rows]
    finally:
        engine.dispose()


def test_a_saturated_server_answers_a_new_turn_busy_at_once_stores_nothing_and_serves_it_later(saturable):
    held, newcomer, in_handoff = conversation(), conversation(), conversation()
    assert say(saturable, held, "你好")[0] == 200
    assert say(saturable, in_handoff, "/request_human")[0] == 200  # waiting for a person from now on
    in_flight: Dict[str, Any] = {}

    async def scenario() -> None:
        widget = WidgetClient(saturable.running.rasa_url)
        await widget.connect()
        await widget.start_session(None)
        actions = saturable.running.action_server
        try:
            os.kill(actions.pid, signal.SIGSTOP)
            holder = threading.Thread(target=lambda: in_flight.update(rest=say(saturable, held, "忘记密码")))
            holder.start()
            await asyncio.sleep(3)  # the turn now waits for the paused action server: 1 in flight

            started = time.monotonic()
            status, body = say(saturable, newcomer, "你好")
            assert time.monotonic() - started < AT_ONCE_SECONDS
            assert status == 503 and body["message"] == BUSY_TEXT, body
            assert user_texts_stored(saturable, newcomer) == []  # not stored: the client sends it again

            started = time.monotonic()
            await widget.say("你好")
            shown = [reply.get("text") for reply in await widget.replies_until_quiet(quiet=1.0, timeout=10)]
            assert shown == [BUSY_TEXT] and time.monotonic() - started < AT_ONCE_SECONDS + 1.0

            status, _ = say(saturable, in_handoff, "还在吗", timeout=60)  # the handoff's traffic passes
            assert status == 200
            assert "还在吗" in user_texts_stored(saturable, in_handoff)

            os.kill(actions.pid, signal.SIGCONT)
            holder.join(120)
            status, replies = in_flight["rest"]
            assert status == 200 and replies and BUSY_TEXT not in reply_texts(replies), replies

            status, replies = say(saturable, newcomer, "你好")  # the resend, once the turn finished
            assert status == 200 and replies and BUSY_TEXT not in reply_texts(replies), replies
            assert user_texts_stored(saturable, newcomer) == ["你好"]
            await widget.say("你好")
            answer = [reply.get("text") or "" for reply in await widget.replies_until_quiet(quiet=2.0, timeout=60)]
            assert answer and BUSY_TEXT not in answer
        finally:
            os.kill(actions.pid, signal.SIGCONT)
            await widget.close()

    asyncio.run(scenario())
