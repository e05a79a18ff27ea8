"""The deployment set-up for several Rasa processes: conversations in
PostgreSQL (DATABASE_URL) and conversation locks in Redis (REDIS_HOST)."""
import asyncio
import uuid
from types import SimpleNamespace

import pytest
import redis
import sqlalchemy as sa

from bot.chat import send
from bot.handoff.agents import AgentDirectory
from bot.handoff.service import HandoffService
from bot.store import Database
from tests.console.console_client import Agent
from tests.assistants import RESULTS, AssistantProcess
from tests.servers import postgres_server, redis_server
from tests.widget_client import WidgetClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared_stores():
    with postgres_server() as database_url, redis_server() as redis_port:
        yield database_url, redis_port


def process_on(shared_stores, log_name: str) -> AssistantProcess:
    database_url, redis_port = shared_stores
    return AssistantProcess(RESULTS / log_name, DATABASE_URL=database_url,
                            REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis_port))


@pytest.fixture(scope="module")
def assistant_on_shared_stores(shared_stores):
    process = process_on(shared_stores, "integration-shared-stores.log")
    process.start()
    yield process
    process.stop()


def test_conversations_live_in_postgresql_and_locks_in_redis(assistant_on_shared_stores, shared_stores):
    database_url, redis_port = shared_stores
    process = assistant_on_shared_stores
    sender = f"pg-{uuid.uuid4().hex[:8]}"
    lock_writes_before = redis.Redis(port=redis_port).info("commandstats").get("cmdstat_set", {}).get("calls", 0)

    assert send(process.running.rest_webhook, sender, "/nlu_fallback", token=process.rest_token)
    process.restart()
    second = send(process.running.rest_webhook, sender, "/nlu_fallback", token=process.rest_token)
    assert "人工" in second[0]["text"]  # the offer of a person: the first miss was remembered

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        user_turns = connection.execute(
            sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :sender AND type_name = 'user'"),
            {"sender": f"rest:{sender}"},
        ).scalar_one()
    assert user_turns == 2
    lock_writes = redis.Redis(port=redis_port).info("commandstats").get("cmdstat_set", {}).get("calls", 0)
    assert lock_writes - lock_writes_before >= 2  # one conversation lock taken per message


# -- two Rasa processes behind one address serve one handoff queue ------------------------

@pytest.fixture(scope="module")
def second_process(shared_stores, assistant_on_shared_stores):
    process = process_on(shared_stores, "integration-shared-stores-2.log")
    process.start()
    yield process
    process.stop()


@pytest.mark.asyncio
async def test_a_handoff_asked_on_one_process_is_served_from_the_other(
        assistant_on_shared_stores, second_process, shared_stores):
    database_url, _ = shared_stores
    first, second = assistant_on_shared_stores.running.rasa_url, second_process.running.rasa_url
    AgentDirectory(Database(database_url)).create("multi", "赵敏", "Agent-Passw0rd", "agent", actor="test")
    user = WidgetClient(first)
    await user.connect()
    await user.start_session()
    try:
        await user.say("/request_human", {"display_text": "转人工客服"})
        await user.replies_until_quiet(quiet=1.0)
        handoff = HandoffService(Database(database_url)).open_handoff(f"widget:{user.session_id}")
        assert handoff is not None

        agent = Agent(SimpleNamespace(url=f"{second}/webhooks/console/", origin=second))
        await asyncio.to_thread(agent.login, "multi", "Agent-Passw0rd")
        queue = (await asyncio.to_thread(agent.get, "api/queue", headers={"Accept": "application/json"})).json()
        assert handoff.id in [entry["id"] for entry in queue["waiting"]]
        assert (await asyncio.to_thread(agent.post, f"conversations/{handoff.id}/claim")).status_code == 303
        await asyncio.to_thread(agent.post, f"conversations/{handoff.id}/reply", {"text": "另一台服务器上的客服回复"})
        texts = [message["text"] for message in await user.replies_until_quiet(quiet=1.0)]
        # sent by the second process, delivered to the socket on the first through Redis
        assert any("另一台服务器上的客服回复" in text for text in texts), texts

        await asyncio.to_thread(agent.post, f"conversations/{handoff.id}/hand-back")
        assert "人工客服已结束本次服务" in (await user.next("bot_uttered"))["text"]
        await user.say("你好")
        assert "账号助手" in (await user.next("bot_uttered"))["text"]  # the first process answers again
    finally:
        await user.close()
