"""Load shedding (bot/channels/load_shedding.py): the admission rule, the intake's use of it,
and each channel's answer to a shed turn (REST over HTTP, the widget's socket handler,
Telegram's webhook), with Rasa replaced by a stand-in that stores each turn it is given in
Rasa's in-memory conversation store; no Rasa server.  The same against the real servers:
tests/channels/test_load_shedding_e2e.py."""
from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace
from typing import Dict, List, Optional

import httpx
import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from bot.channels import load_shedding
from bot.channels.handoff_bridge import handoff_traffic
from bot.channels.load_shedding import AdmissionRule, LoadSheddingSetupError
from bot.channels.rest import RestAccess
from bot.channels.telegram import SECRET_HEADER, TelegramInput
from bot.channels.busy import BUSY_TEXT, RETRY_AFTER_SECONDS
from bot.channels.turns import TURNS, Outcome, TurnGate, guarded, intake
from bot.channels.widget import WidgetInput
from bot.handoff.user_replies import CANCEL_PAYLOAD
from tests.channels.test_rest_channel import TOKEN, served
from tests.channels.test_telegram_channel import CHAT, OTHER_CHAT, SECRET, webhook_settings
from tests.channels.test_telegram_channel import served as telegram_served
from tests.channels.test_widget_channel import RecordingServer
from tests.fake_telegram import FakeTelegram

SLOW = "慢"
# Far below any wait a turn would have behind others: a shed turn is answered at once.
AT_ONCE_SECONDS = 2.0
# The CPU a turn takes on a Rasa server's event loop (docs/capacity.md: 133-179 ms measured).
MEASURED_CPU_SECONDS_PER_TURN = 0.150


class StoringRasa:
    """Stands in for Rasa's ``on_new_message``: stores the user's message in a conversation
    store (Rasa's in-memory one) and answers; a turn of ``SLOW`` waits until ``release``."""

    def __init__(self) -> None:
        self.store = InMemoryTrackerStore(Domain.empty())
        self.given: List[str] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, message: UserMessage) -> None:
        self.given.append(message.text)
        if message.text == SLOW:
            self.started.set()
            await self.release.wait()
        tracker = await self.store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text))
        await self.store.save(tracker)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")

    async def stored(self, conversation: str) -> List[str]:
        tracker = await self.store.retrieve(conversation)
        return [event.text for event in tracker.events if isinstance(event, UserUttered)] if tracker else []


@pytest.fixture(autouse=True)
def handoff_store(services):
    """The handoff table the intake reads (tests/conftest.py's throw-away store)."""
    return services


@pytest.fixture
def one_turn_at_a_time(monkeypatch):
    """``MAX_TURNS_IN_FLIGHT=1`` for the channels built in the test (the intake reads it then)."""
    monkeypatch.setenv("MAX_TURNS_IN_FLIGHT", "1")
    assert TURNS.in_flight == 0
    yield
    assert TURNS.in_flight == 0  # every turn of the test ended, counted out


def user(text: str, conversation: str = "rest:a") -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), conversation)


# -- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("in_flight, own_turn_in_flight, admitted", [
    (0, False, True),
    (59, False, True),
    (60, False, False),  # the limit reached: a new conversation's turn is shed
    (75, False, False),
    (60, True, True),  # its conversation has a turn in flight here: taken, it waits for that one
    (75, True, True),
])
def test_a_turn_is_admitted_below_the_limit_or_when_its_conversation_is_in_flight(
        in_flight, own_turn_in_flight, admitted):
    assert AdmissionRule(60).admits(in_flight, own_turn_in_flight) is admitted


def test_zero_turns_shedding_off():
    assert AdmissionRule(0).admits(100_000, False)


@pytest.mark.parametrize("waited, own_turn_in_flight, admitted", [
    (0.0, False, True),  # unknown (no trusted stamp): the count alone decides
    (9.9, False, True),
    (10.5, False, False),  # waited longer than the setting before the channel had it
    (10.5, True, False),  # its conversation's turn in flight does not make an old request young
])
def test_a_turn_whose_request_waited_too_long_is_shed_whatever_the_count(waited, own_turn_in_flight, admitted):
    assert AdmissionRule(60, 10.0).admits(1, own_turn_in_flight, waited) is admitted
    assert AdmissionRule(60, 0.0).admits(1, own_turn_in_flight, waited)  # 0: no age rule


def test_the_limit_is_a_setting_checked_at_start_up():
    assert AdmissionRule.from_config({}) == AdmissionRule(60, 10.0)
    assert AdmissionRule.from_config({"MAX_TURN_WAIT_SECONDS": "0"}).max_wait_seconds == 0
    with pytest.raises(LoadSheddingSetupError, match="MAX_TURN_WAIT_SECONDS"):
        AdmissionRule.from_config({"MAX_TURN_WAIT_SECONDS": "-1"})
    assert AdmissionRule.from_config({"MAX_TURNS_IN_FLIGHT": "5"}).limit == 5
    with pytest.raises(LoadSheddingSetupError, match="MAX_TURNS_IN_FLIGHT"):
        AdmissionRule.from_config({"MAX_TURNS_IN_FLIGHT": "-1"})
    with pytest.raises(ValueError, match="MAX_TURNS_IN_FLIGHT"):
        AdmissionRule.from_config({"MAX_TURNS_IN_FLIGHT": "many"})


def test_a_bad_limit_stops_a_channel_from_being_built(monkeypatch):
    monkeypatch.setenv("MAX_TURNS_IN_FLIGHT", "-3")
    with pytest.raises(LoadSheddingSetupError):
        guarded(StoringRasa())


def test_the_default_has_the_last_admitted_turn_answered_within_about_ten_seconds():
    """One event loop runs the turns in flight: the last of them is answered after about
    limit x CPU per turn."""
    assert 8 <= AdmissionRule.from_config({}).limit * MEASURED_CPU_SECONDS_PER_TURN <= 10


# -- the intake ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_saturated_intake_refuses_a_new_turn_at_once_and_hands_it_to_nobody():
    rasa, gate = StoringRasa(), TurnGate()
    receive = guarded(rasa, gate, AdmissionRule(2))
    first = asyncio.ensure_future(receive(user(SLOW, "rest:a")))
    second = asyncio.ensure_future(receive(user(SLOW, "rest:b")))
    await asyncio.sleep(0.05)
    assert gate.in_flight == 2

    started = time.monotonic()
    assert await receive(user("你好", "rest:c")) is Outcome.REFUSED
    assert time.monotonic() - started < AT_ONCE_SECONDS
    assert rasa.given == [SLOW, SLOW] and await rasa.stored("rest:c") == []
    assert gate.load.shed == 1

    # At the limit still, but its conversation has a turn in flight: taken (Rasa's conversation lock
    # would have it wait for that turn; the stand-in has none).
    assert await receive(user("还有一个问题", "rest:a")) is Outcome.ANSWERED
    assert rasa.given == [SLOW, SLOW, "还有一个问题"] and gate.in_flight == 2

    rasa.release.set()
    assert [await turn for turn in (first, second)] == [Outcome.ANSWERED] * 2
    assert gate.in_flight == 0 and not gate.load.has_turn_of("rest:a")
    assert await receive(user("你好", "rest:c")) is Outcome.ANSWERED  # served once the turns finished
    assert await rasa.stored("rest:c") == ["你好"]


@pytest.mark.asyncio
async def test_exempt_messages_pass_a_saturated_intake_and_an_unreadable_exemption_sheds():
    rasa, gate = StoringRasa(), TurnGate()

    async def exempt(message: UserMessage) -> bool:
        if message.text == "表坏了":
            raise ConnectionError("database down")
        return message.text == CANCEL_PAYLOAD

    receive = guarded(rasa, gate, AdmissionRule(1), exempt)
    slow = asyncio.ensure_future(receive(user(SLOW, "rest:a")))
    await asyncio.sleep(0.05)
    assert await receive(user(CANCEL_PAYLOAD, "rest:b")) is Outcome.ANSWERED
    assert await receive(user("表坏了", "rest:b")) is Outcome.REFUSED  # refused, never raised
    assert rasa.given == [SLOW, CANCEL_PAYLOAD]
    rasa.release.set()
    assert await slow is Outcome.ANSWERED


@pytest.mark.asyncio
async def test_below_the_limit_nothing_is_asked_of_the_exemption():
    asked = []

    async def exempt(message: UserMessage) -> bool:
        asked.append(message.text)
        return False

    assert await guarded(StoringRasa(), TurnGate(), AdmissionRule(1), exempt)(user("你好")) is Outcome.ANSWERED
    assert asked == []


@pytest.mark.asyncio
async def test_shed_turns_are_logged_as_a_count_not_one_line_each(caplog):
    gate = TurnGate()
    gate.begin("rest:busy")
    receive = guarded(StoringRasa(), gate, AdmissionRule(1))
    with caplog.at_level(logging.WARNING, logger=load_shedding.__name__):
        outcomes = [await receive(user("你好", f"rest:{number}")) for number in range(20)]
    assert outcomes == [Outcome.REFUSED] * 20 and gate.load.shed == 20
    assert len([record for record in caplog.records if "load shedding" in record.getMessage()]) == 1


@pytest.mark.asyncio
async def test_draining_still_refuses_whatever_the_load():
    gate = TurnGate()
    gate.draining = True
    assert await guarded(StoringRasa(), gate, AdmissionRule(0))(user("你好")) is Outcome.REFUSED


# -- the handoff's traffic -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_handoffs_traffic_is_told_apart(services):
    assert await handoff_traffic(user("/rate_handoff 5", "rest:x"))
    assert await handoff_traffic(user(CANCEL_PAYLOAD, "rest:x"))
    assert not await handoff_traffic(user("你好", "rest:x"))
    services.handoffs.request("rest:x", "rest", "user_request", {})
    assert await handoff_traffic(user("你好", "rest:x"))  # waiting for a person
    assert not await handoff_traffic(user("你好", "rest:y"))
    services.handoffs.cancel("rest:x")
    assert not await handoff_traffic(user("你好", "rest:x"))


# -- the channels ----------------------------------------------------------------------------

AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.asyncio
async def test_rest_a_new_turn_of_a_saturated_server_gets_503_at_once_is_not_stored_and_is_served_later(
        one_turn_at_a_time, services):
    rasa = StoringRasa()
    async with served(RestAccess(token=TOKEN), rasa) as base, httpx.AsyncClient(timeout=30) as client:
        async def say(sender: str, text: str) -> httpx.Response:
            return await client.post(f"{base}/webhook", json={"sender": sender, "message": text}, headers=AUTHORIZED)

        slow = asyncio.ensure_future(say("a", SLOW))
        await asyncio.wait_for(rasa.started.wait(), 10)

        started = time.monotonic()
        shed = await say("b", "你好")
        assert time.monotonic() - started < AT_ONCE_SECONDS
        assert shed.status_code == 503 and shed.json()["message"] == BUSY_TEXT
        assert shed.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert rasa.given == [SLOW] and await rasa.stored("rest:b") == []  # not stored: the client sends again

        services.handoffs.request("rest:c", "rest", "user_request", {})  # waiting for a person
        assert (await say("c", "还在吗")).status_code == 200  # the handoff's traffic is never shed
        assert await rasa.stored("rest:c") == ["还在吗"]

        rasa.release.set()
        answered = await slow
        assert answered.status_code == 200 and answered.json()[0]["text"] == f"收到：{SLOW}"
        again = await say("b", "你好")  # the client's resend, once the turns finished
        assert again.status_code == 200 and again.json()[0]["text"] == "收到：你好"
        assert await rasa.stored("rest:b") == ["你好"]


@pytest.mark.asyncio
async def test_rest_a_request_that_waited_too_long_behind_the_proxy_gets_503_at_once_and_is_not_stored(
        monkeypatch, services):
    """nginx stamps each request (X-Request-Start); a turn that reaches an idle channel already
    older than MAX_TURN_WAIT_SECONDS is answered busy, not run: its client, or nginx, gives up
    soon.  The stamp counts only from a trusted proxy: a client cannot age its own request."""
    monkeypatch.setenv("MAX_TURN_WAIT_SECONDS", "10")
    rasa = StoringRasa()
    async with served(RestAccess(token=TOKEN), rasa) as base, httpx.AsyncClient(timeout=30) as client:
        async def say(sender: str, waited: float) -> httpx.Response:
            headers = {**AUTHORIZED, "X-Request-Start": f"t={time.time() - waited:.3f}"}
            return await client.post(f"{base}/webhook", json={"sender": sender, "message": "你好"}, headers=headers)

        monkeypatch.setenv("TRUSTED_PROXIES", "")  # the stamp of an untrusted peer is not believed
        assert (await say("a", 60)).status_code == 200
        monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")  # the test client stands in for nginx
        late = await say("b", 30)
        assert late.status_code == 503 and late.json()["message"] == BUSY_TEXT
        assert await rasa.stored("rest:b") == []  # not stored: the client sends it again
        assert (await say("b", 0.2)).status_code == 200
        assert rasa.given == ["你好", "你好"]


class TwoSessionServer(RecordingServer):
    """The socket.io server of test_widget_channel.py, each socket with a session of its own."""

    SESSIONS: Dict[str, str] = {"sid-1": "a" * 32, "sid-2": "b" * 32}

    async def get_session(self, sid):
        return {"session_id": self.SESSIONS[sid]}

    def said_to(self, room: str) -> List[Optional[str]]:
        return [text for _, text, to in self.emitted if to == room]


@pytest.mark.asyncio
async def test_widget_a_new_turn_of_a_saturated_server_gets_the_busy_message_at_once_and_is_not_stored(
        one_turn_at_a_time):
    rasa, sio = StoringRasa(), TwoSessionServer()
    WidgetInput()._add_socket_handlers(sio, SimpleNamespace(ctx=SimpleNamespace()), intake(rasa))
    user_uttered = sio.handlers["user_uttered"]
    first, second = (f"widget:{session}" for session in TwoSessionServer.SESSIONS.values())

    slow = asyncio.ensure_future(user_uttered("sid-1", {"session_id": "a" * 32, "message": SLOW}))
    await asyncio.wait_for(rasa.started.wait(), 10)
    await asyncio.wait_for(user_uttered("sid-2", {"session_id": "b" * 32, "message": "你好"}), AT_ONCE_SECONDS)
    assert sio.said_to("sid-2") == [BUSY_TEXT]  # to the socket that sent
    assert rasa.given == [SLOW] and await rasa.stored(second) == []

    rasa.release.set()
    await slow
    assert sio.said_to(first) == [f"收到：{SLOW}"]
    await user_uttered("sid-2", {"session_id": "b" * 32, "message": "你好"})
    assert sio.said_to(second) == ["收到：你好"] and await rasa.stored(second) == ["你好"]


@pytest.mark.asyncio
async def test_telegram_a_new_turn_of_a_saturated_server_gets_the_busy_message_and_is_not_stored(
        one_turn_at_a_time):
    rasa = StoringRasa()
    with FakeTelegram("123:TEST") as fake:
        channel = TelegramInput(webhook_settings(fake))
        async with telegram_served(channel, rasa) as base, httpx.AsyncClient() as client:
            await asyncio.wait_for(channel.ready.wait(), 10)

            async def send(chat: int, text: str) -> None:
                reply = await client.post(f"{base}/webhook", json=fake.text_update(chat, text),
                                          headers={SECRET_HEADER: SECRET})
                assert reply.status_code == 200

            await send(CHAT, SLOW)
            await asyncio.wait_for(rasa.started.wait(), 10)
            await send(OTHER_CHAT, "你好")
            await fake.until(lambda: fake.texts_to(OTHER_CHAT), timeout=AT_ONCE_SECONDS)
            assert fake.texts_to(OTHER_CHAT) == [BUSY_TEXT]
            assert rasa.given == [SLOW] and await rasa.stored(f"telegram:{OTHER_CHAT}") == []

            rasa.release.set()
            await fake.until(lambda: fake.texts_to(CHAT))
            await send(OTHER_CHAT, "你好")
            await fake.until(lambda: len(fake.texts_to(OTHER_CHAT)) == 2)
            assert fake.texts_to(OTHER_CHAT) == [BUSY_TEXT, "收到：你好"]
            assert await rasa.stored(f"telegram:{OTHER_CHAT}") == ["你好"]
