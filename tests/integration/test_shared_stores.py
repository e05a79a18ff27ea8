"""The deployment set-up for several Rasa processes: conversations in
PostgreSQL (DATABASE_URL) and conversation locks in Redis (REDIS_HOST)."""
import uuid

import pytest
import redis
import sqlalchemy as sa

from bot.chat import send
from tests.integration.conftest import RESULTS, AssistantProcess
from tests.servers import postgres_server, redis_server


@pytest.fixture(scope="module")
def shared_stores():
    with postgres_server() as database_url, redis_server() as redis_port:
        yield database_url, redis_port


@pytest.fixture(scope="module")
def assistant_on_shared_stores(shared_stores):
    database_url, redis_port = shared_stores
    process = AssistantProcess(
        RESULTS / "integration-shared-stores.log",
        DATABASE_URL=database_url,
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(redis_port),
    )
    process.start()
    yield process
    process.stop()


def test_conversations_live_in_postgresql_and_locks_in_redis(assistant_on_shared_stores, shared_stores):
    database_url, redis_port = shared_stores
    process = assistant_on_shared_stores
    sender = f"pg-{uuid.uuid4().hex[:8]}"
    lock_writes_before = redis.Redis(port=redis_port).info("commandstats").get("cmdstat_set", {}).get("calls", 0)

    assert send(process.running.rest_webhook, sender, "/nlu_fallback")
    process.restart()
    second = send(process.running.rest_webhook, sender, "/nlu_fallback")
    assert "人工" in second[0]["text"]  # the offer of a person: the first miss was remembered

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        user_turns = connection.execute(
            sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :sender AND type_name = 'user'"),
            {"sender": sender},
        ).scalar_one()
    assert user_turns == 2
    lock_writes = redis.Redis(port=redis_port).info("commandstats").get("cmdstat_set", {}).get("calls", 0)
    assert lock_writes - lock_writes_before >= 2  # one conversation lock taken per message
