"""The channels' intake (bot/channels/turns.py), the readiness answer
(bot/channels/health.py) and the launcher's waiting (bot/launcher.py)
without the servers; tests/channels/test_health_and_degradation.py takes the real parts down."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, UserUttered
from redis.exceptions import ConnectionError as RedisConnectionError
from rasa.utils.endpoints import EndpointConfig

from bot import SUPPORT_PHONE
from bot.channels import health, turns
from bot.channels.busy import BUSY_TEXT
from bot.channels.turns import Outcome, TurnGate, WatchedActionEndpoint, guarded
from bot.launcher import RunningAssistant
from tests.servers import free_port

pytestmark = pytest.mark.integration


def message(text: str = "忘记密码") -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), "rest:unit")


def test_the_busy_message_is_the_issues_words_with_the_one_support_phone():
    chinese, english = BUSY_TEXT.split("\n")  # the language may be unreadable: both, Chinese first
    assert chinese == f"系统繁忙，请稍后再试；急事请拨打{SUPPORT_PHONE}"
    assert english == f"The system is busy, please try again later. If it is urgent, call {SUPPORT_PHONE}."
    assert SUPPORT_PHONE == "010-88659000"


@pytest.mark.asyncio
async def test_a_turn_that_ran_is_answered():
    async def rasa(_message):
        return None

    assert await guarded(rasa, TurnGate())(message()) is Outcome.ANSWERED


@pytest.mark.asyncio
async def test_a_store_failure_is_refused_not_raised():
    async def rasa(_message):
        raise ConnectionError("database down")

    gate = TurnGate()
    assert await guarded(rasa, gate)(message()) is Outcome.REFUSED
    assert gate.in_flight == 0


@pytest.mark.asyncio
async def test_a_failed_action_call_degrades_the_turn():
    closed = WatchedActionEndpoint.watching(EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook"))

    async def rasa_calling_a_dead_action_server(_message):
        try:
            await closed.request(json={})
        except Exception:  # noqa: BLE001 - Rasa swallows it (MessageProcessor._run_action)
            pass

    assert await guarded(rasa_calling_a_dead_action_server, TurnGate())(message()) is Outcome.DEGRADED
    # Outside a turn nothing is noted (and nothing breaks).
    with pytest.raises(Exception):
        await closed.request(json={})


@pytest.mark.asyncio
async def test_the_watched_endpoint_keeps_the_configured_url_headers_and_token():
    original = EndpointConfig("http://actions:5055/webhook", headers={"Authorization": "Bearer x"}, token="t")
    watched = WatchedActionEndpoint.watching(original)
    assert (watched.url, watched.headers, watched.token) == (original.url, original.headers, original.token)
    assert isinstance(watched.copy(), WatchedActionEndpoint)


@pytest.mark.asyncio
async def test_draining_refuses_new_turns_and_waits_for_those_in_flight():
    gate = TurnGate()
    release = asyncio.Event()
    calls = []

    async def slow_rasa(_message):
        calls.append("in")
        await release.wait()

    receive = guarded(slow_rasa, gate)
    in_flight = asyncio.ensure_future(receive(message()))
    await asyncio.sleep(0.05)
    draining = asyncio.ensure_future(gate.drain(5))
    await asyncio.sleep(0.05)
    assert gate.draining and not draining.done()
    assert await receive(message()) is Outcome.REFUSED and calls == ["in"]  # not handed to Rasa
    release.set()
    assert await in_flight is Outcome.ANSWERED
    assert await draining is True


@pytest.mark.asyncio
async def test_draining_gives_up_after_the_grace():
    gate = TurnGate()
    gate.begin()
    assert await gate.drain(0.1) is False


@pytest.mark.asyncio
async def test_readiness_without_a_model_or_while_draining_is_not_ready():
    gate = TurnGate()
    state = await health.readiness(None, gate)
    assert state == {"ready": False, "checks": {"draining": "no", "model": "not_loaded"}}
    gate.draining = True
    assert (await health.readiness(None, gate))["checks"]["draining"] == "yes"


def test_the_action_servers_health_is_next_to_its_webhook():
    assert health.action_server_health_url("http://127.0.0.1:5055/webhook") == "http://127.0.0.1:5055/health"
    assert health.action_server_health_url("http://actions/rasa/webhook/") == "http://actions/rasa/health"


def test_the_launcher_keeps_waiting_when_the_action_server_exits():
    """``python -m bot run`` waits for the Rasa server only; the action server's exit is reported once."""
    action = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    rasa = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2); raise SystemExit(7)"])
    reported = []
    assistant = RunningAssistant("http://rasa", "http://actions", processes=[action, rasa])
    assert assistant.wait(on_action_server_exit=reported.append) == 7
    assert reported == [3]


def test_the_module_level_gate_is_the_one_the_health_channel_drains():
    assert health.TURNS is turns.TURNS


class LockStoreLosingRedisOnRelease(InMemoryLockStore):
    """Rasa's lock store as it behaves when Redis restarts during a turn: the conversation's lock
    was taken, the turn ran and saved, and releasing the lock (after the save) raises."""

    def finish_serving(self, conversation_id, ticket_number):
        raise RedisConnectionError("Connection refused")


def rasa_turn(tracker_store, lock_store):
    """What Rasa's ``Agent.handle_message`` does with the stores: inside the lock, a new
    conversation's session start saved first, then the turn with the user's message."""

    async def handle(message: UserMessage) -> None:
        async with lock_store.lock(message.sender_id):
            tracker = await tracker_store.get_or_create_tracker(message.sender_id)
            tracker.update(SessionStarted())
            await tracker_store.save(tracker)
            tracker.update(UserUttered(message.text, message_id=message.message_id))
            await tracker_store.save(tracker)

    return handle


def watched_store() -> FailSafeTrackerStore:
    store = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    turns.watch_stores(SimpleNamespace(tracker_store=store))
    return store


@pytest.mark.asyncio
async def test_a_turn_failing_after_its_save_is_degraded_so_the_client_does_not_send_it_twice():
    store = watched_store()
    outcome = await guarded(rasa_turn(store, LockStoreLosingRedisOnRelease()), TurnGate())(message())
    assert outcome is Outcome.DEGRADED  # REFUSED would tell the client (REST: 503) to send it again
    stored = await store.retrieve("rest:unit")
    assert [event.text for event in stored.events if isinstance(event, UserUttered)] == ["忘记密码"]


@pytest.mark.asyncio
async def test_a_turn_failing_before_any_save_is_still_refused():
    class LockStoreWithoutRedis(InMemoryLockStore):
        def get_or_create_lock(self, conversation_id):
            raise RedisConnectionError("Connection refused")

    store = watched_store()
    outcome = await guarded(rasa_turn(store, LockStoreWithoutRedis()), TurnGate())(message())
    assert outcome is Outcome.REFUSED
    assert await store.retrieve("rest:unit") is None


class StoreLosingTheDatabaseAfterTheSessionStart(InMemoryTrackerStore):
    """PostgreSQL restarting in the middle of a new conversation's first turn: the session start
    was saved, the turn with the user's message is not."""

    async def save(self, tracker):
        if any(isinstance(event, UserUttered) for event in tracker.events):
            raise ConnectionError("database restarting")
        await super().save(tracker)


@pytest.mark.asyncio
async def test_a_turn_whose_message_was_not_saved_is_refused_though_its_session_start_was():
    store = FailSafeTrackerStore(StoreLosingTheDatabaseAfterTheSessionStart(Domain.empty()))
    turns.watch_stores(SimpleNamespace(tracker_store=store))
    outcome = await guarded(rasa_turn(store, InMemoryLockStore()), TurnGate())(message())
    assert outcome is Outcome.REFUSED  # the widget shows none of its replies; the user sends it again
    stored = await store.retrieve("rest:unit")
    assert not [event for event in stored.events if isinstance(event, UserUttered)]
