"""Simulated users and agents against a running assistant (the cluster behind nginx), for
the load test (`make loadtest`, tests/bench/loadtest.py) and the smoke load and chaos tests
(tests/core/test_cluster.py).

Each simulated user holds one conversation at a time, over the widget's socket.io or over
REST, and starts the next when it ends, until the plan's time is up.  Conversations, by the
plan's mix:

* ``faq``: three FAQ questions (canonical questions the model answers with their own answer);
* ``reset``: 忘记密码 → login name → the SMS code read from the outbox (the account service,
  as ``python -m bot sms outbox`` reads it) → the one-time reset link;
* ``realname``: 实名认证失败 → login name → code → the diagnosis → two photos uploaded over
  HTTP (``/webhooks/account/upload`` or ``/webhooks/rest/upload``) → 实名认证审核中;
* ``handoff`` (widget only: REST has no way to push an agent's words): 转人工 → an agent on
  the console's API claims it, replies and resolves it → the rating question → a rating.

Every reset and real-name conversation gets a fresh account (``AccountPool``, imported with
the accounts importer), so no per-phone limit or earlier review changes the script.

What is checked, per conversation, as it ends:

* every message sent got a reply (the busy message counts) — else *lost*;
* the bot messages the user saw equal the conversation's stored bot messages, in order
  (widget: the history a fresh socket receives; REST: the events in the database) —
  otherwise *out_of_order*, *duplicated* or *lost*.  A widget whose script ended early (an
  unexpected reply) still listens, up to ``LATE_SECONDS``, for stored messages not yet seen:
  a message that comes then is *late* (counted in ``late_replies``), not lost;
* REST: the user messages stored equal those answered 200 (503 means "not stored");
* handoffs: the agent's reply reaches the conversation that asked, exactly once; at the end
  no conversation has two handoffs and none asked is left unanswered.

In ``strict`` mode (the smoke test, the load test) a busy message, an unexpected reply or an
HTTP error is an *error* — except that with ``resend_busy`` (the load test's default: an
overloaded replica sheds turns with the busy message) the user waits and sends a busy-answered
message again, counted in ``busy`` and ``resent_after_busy``, as in chaos mode; a message
answered busy ``ATTEMPTS`` times in a row is given up (*gave_up*: every send was answered,
none was taken — overload, not loss; the smoke test allows none).  In chaos
mode they are counted (``busy``, ``retried``, ``diverged``): a user resends after a busy
message and a REST client resends after nginx's 502 (the replica died holding the request).
In both modes a widget whose socket drops (its server died, or it missed socket.io's ping
under overload) or cannot connect tries again, takes the history it is given (which must
hold everything it saw) and resends what is not in it, as the widget does (``reconnects``,
``connect_retries``).
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import re
import statistics
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import aiohttp
import socketio
import sqlalchemy as sa

from bot.accounts.account_import import import_accounts
from bot.accounts.checks import CODE_DIGITS
from bot.accounts.service import AccountService
from bot.channels.busy import BUSY_TEXT
from bot.handoff.agents import AgentDirectory
from bot.language import tr
from bot.store import Database
from bot.store.passwords import hash_password
from bot.topics import FAQ_TOPICS
from tests.console.console_client import Agent
from tests.project_data import answers as chinese_answers
from tests.widget_images import photo

KINDS = ("faq", "reset", "realname", "handoff")
DEFAULT_MIX = {"faq": 0.55, "reset": 0.2, "realname": 0.15, "handoff": 0.1}
AGENT_PASSWORD = "Load-Test-Passw0rd"
JSON = {"Accept": "application/json"}
AGENT_REPLY = "负载测试客服回复 H{id}"
AGENT_REPLY_PATTERN = re.compile(r"负载测试客服回复 H(\d+)")
RESET_LINK = "/webhooks/account/reset?token="
CODE = re.compile(r"\b(\d{6})\b")
# A widget turn ends with the expected message; without it, after this long without a message.
QUIET_SECONDS = 20.0
TRAILING_SECONDS = 0.3
# At the end, how long a widget waits for stored messages it has not seen yet.
LATE_SECONDS = 60.0
# How often a user waiting for the rating question looks whether the agent has resolved.
RATING_POLL_SECONDS = 10.0
RATING_MARK = "打个分"  # in the rating question the assistant asks when an agent resolves
# The flows' first question (the explanation before it names the login name too: a user who
# answered after the explanation would answer before being asked).
RESET_QUESTION = tr("flows.ref_reset", "zh")
LOOKUP_QUESTION = tr("flows.ref_default", "zh")
CODE_QUESTION = tr("flows.code_prompt", "zh", digits=CODE_DIGITS)
# The cluster's settings for a load from one machine: every simulated user comes from
# 127.0.0.1, so the limits per client address and the hourly SMS budget, meant for
# real users spread over many addresses, would refuse the load after a few dozen
# conversations; the limits per conversation and per phone stay as they are.
LOAD_SETTINGS = {
    "SMS_LIMIT_PER_ADDRESS": "1000000",
    "LOOKUP_LIMIT_PER_ADDRESS": "1000000",
    "SMS_HOURLY_BUDGET": "1000000",
    "UPLOAD_BYTES_PER_HOUR": str(64 * 1024**3),
    "SUPPORT_HOURS": "always",
}


@dataclass(frozen=True)
class Target:
    """The assistant under load: nginx's address, the REST token, the database."""

    url: str
    rest_token: str
    database_url: str


@dataclass
class Plan:
    users: int = 500
    seconds: float = 300.0
    think: Tuple[float, float] = (3.0, 10.0)
    agents: int = 4
    mix: Dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    widget_share: float = 0.5
    strict: bool = True
    # A busy message (a shed turn, a part down) is read as a real user reads it: wait, send again.
    # Counted (``busy``), not an error; the load test's default, strict mode's errors otherwise.
    resend_busy: bool = False
    reply_timeout: float = 120.0
    handoff_timeout: float = 180.0
    seed: int = 13
    # The loopback addresses (127.0.n.1, n = 1 …) the widgets connect from, one picked per
    # conversation.  nginx's ip_hash (socket.io's stickiness) spreads real users, who come from
    # many addresses, over the Rasa servers; from one address every widget reaches one server.
    widget_addresses: int = 1


@dataclass
class Report:
    latencies: Dict[str, List[float]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    problems: Dict[str, List[str]] = field(default_factory=dict)
    events: List[Tuple[float, str]] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def time(self, kind: str, milliseconds: float) -> None:
        self.latencies.setdefault(kind, []).append(milliseconds)

    def problem(self, kind: str, detail: str) -> None:
        self.problems.setdefault(kind, []).append(f"[{time.monotonic() - self.started:.0f} s] {detail}")

    def count(self, kind: str) -> int:
        return len(self.problems.get(kind, []))

    def summary(self) -> Dict[str, Any]:
        duration = max(self.finished - self.started, 1e-9)
        turns = sum(len(values) for kind, values in self.latencies.items() if kind in KINDS)
        kinds = {}
        for kind, values in sorted(self.latencies.items()):
            kinds[kind] = {
                "n": len(values),
                "p50_ms": round(percentile(values, 0.50)),
                "p95_ms": round(percentile(values, 0.95)),
                "p99_ms": round(percentile(values, 0.99)),
                "mean_ms": round(statistics.fmean(values)),
            }
        return {
            "seconds": round(duration, 1),
            "turns": turns,
            "turns_per_second": round(turns / duration, 2),
            "kinds": kinds,
            "counts": dict(sorted(self.counts.items())),
            "problems": {kind: len(details) for kind, details in sorted(self.problems.items())},
            "problem_examples": {kind: details[:5] for kind, details in sorted(self.problems.items())},
            "events": [(round(at, 1), what) for at, what in self.events],
        }


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# -- accounts and agents ------------------------------------------------------------------------


class AccountPool:
    """Fresh accounts (a 境外护照 holder whose real-name check failed: its diagnosis asks for
    photos) imported in batches, one per reset or real-name conversation."""

    BATCH = 200

    def __init__(self, database_url: str) -> None:
        self.database = Database(database_url)
        self.run = uuid.uuid4().hex[:5]
        self.made = 0
        self.free: "asyncio.Queue[Tuple[str, str]]" = asyncio.Queue()
        self.password_hash = hash_password("Load@2026pass")
        self._filling: Optional["asyncio.Task[None]"] = None

    def _batch(self) -> List[Tuple[str, str]]:
        start, self.made = self.made, self.made + self.BATCH
        run_digits = int(self.run, 16) % 1000
        made = [(f"lt{self.run}_{n}", f"17{run_digits:03d}{n:06d}") for n in range(start, self.made)]
        entries = [
            {
                "login_name": login,
                "kind": "natural",
                "password_hash": self.password_hash,
                "phone": phone,
                "name": "负载测试",
                "document": {"type": "境外护照", "number": f"L{self.run.upper()}{n:06d}"},
                "realname": {"state": "failed"},
            }
            for n, (login, phone) in enumerate(made, start)
        ]
        import_accounts(self.database, {"accounts": entries}, actor="loadtest")
        return made

    async def fill(self, at_least: int) -> None:
        while self.free.qsize() < at_least:
            for account in await patiently(self._batch):
                self.free.put_nowait(account)

    async def take(self) -> Tuple[str, str]:
        if self.free.qsize() < self.BATCH // 2 and (self._filling is None or self._filling.done()):
            self._filling = asyncio.create_task(self.fill(self.BATCH))
        return await self.free.get()

    async def code_for(self, phone: str, timeout: float) -> Optional[str]:
        """The code the assistant texted ``phone`` (the outbox: SMS_BACKEND=outbox)."""
        service = AccountService(self.database)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                sent = await asyncio.to_thread(service.outbox, phone, 1)
            except sa.exc.OperationalError:  # the database restarting (chaos)
                sent = []
            if sent:
                match = CODE.search(sent[0].text)
                if match:
                    return match.group(1)
            await asyncio.sleep(0.3)
        return None

    def close(self) -> None:
        self.database.dispose()


def create_agents(database_url: str, count: int) -> List[str]:
    """Agents for the console (plain agents, not admins); their logins."""
    database = Database(database_url)
    directory = AgentDirectory(database)
    prefix = uuid.uuid4().hex[:4]
    logins = []
    for number in range(count):
        login = f"load{prefix}{number}"
        directory.create(login, f"负载客服{number}", AGENT_PASSWORD, actor="loadtest")
        logins.append(login)
    database.dispose()
    return logins


class SimulatedAgent:
    """An agent working the console's API: takes waiting handoffs, answers each once, resolves it."""

    def __init__(self, target: Target, login: str, shared: "AgentDesk") -> None:
        self.http = Agent(type("Console", (), {"url": f"{target.url}/webhooks/console/", "origin": target.url}))
        self.login = login
        self.desk = shared

    async def work(self, report: Report) -> None:
        while True:
            try:
                await asyncio.to_thread(self.http.login, self.login, AGENT_PASSWORD)
                break
            except Exception:  # noqa: BLE001 - the console restarting (chaos): log in again
                await asyncio.sleep(1)
        while True:
            try:
                await self._round(report)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a part restarting (chaos); the next poll retries
                report.counts["agent_retries"] += 1
                if report.counts["agent_retries"] <= 3:
                    report.events.append((time.monotonic() - report.started, f"agent retry: {error!r}"[:160]))
            await asyncio.sleep(0.5)

    async def _round(self, report: Report) -> None:
        queue = await asyncio.to_thread(self.http.get, "api/queue", headers=JSON)
        if queue.status_code != 200:
            raise RuntimeError(f"api/queue {queue.status_code}")
        lists = queue.json()
        for row in lists["waiting"]:
            if row["id"] not in self.desk.taken:
                self.desk.taken.add(row["id"])
                if await self._act(row["id"], "claim") is None:
                    self.desk.taken.discard(row["id"])
                    report.counts["claims_refused"] += 1
                else:
                    report.counts["handoffs_claimed"] += 1
        # Her own conversations, from the queue page (a claim whose answer was lost is there too).
        for row in lists["mine"]:
            handoff = row["id"]
            if handoff not in self.desk.replied_at:
                self.desk.replied_at[handoff] = time.monotonic()
                warning = await self._act(handoff, "reply", {"text": AGENT_REPLY.format(id=handoff)})
                if warning != "":  # not delivered: she sends it again next round
                    del self.desk.replied_at[handoff]
                else:
                    report.counts["handoffs_answered"] += 1
                continue
            warning = await self._act(handoff, "resolve")
            if warning:
                self.desk.give_back_failed.add(handoff)
            elif warning == "":
                self.desk.resolved_at.setdefault(handoff, time.monotonic())

    async def _act(self, handoff: int, action: str, form: Optional[Dict[str, str]] = None) -> Optional[str]:
        """The console's answer: None when refused, else its warning ("" when none)."""
        answer = await asyncio.to_thread(self.http.post, f"conversations/{handoff}/{action}", form, headers=JSON)
        if answer.status_code != 200:
            return None
        return answer.json().get("warning") or ""


@dataclass
class AgentDesk:
    taken: set = field(default_factory=set)
    replied_at: Dict[int, float] = field(default_factory=dict)
    give_back_failed: set = field(default_factory=set)
    resolved_at: Dict[int, float] = field(default_factory=dict)


# -- conversations ---------------------------------------------------------------------------


# How often a user sends one message before giving up (after a busy message, waits of 4, 8, 12
# and then 15 s: about 84 s in all).
ATTEMPTS = 8


class Unexpected(Exception):
    """The reply was not the script's; the conversation cannot go on as written."""


class Conversation:
    """One simulated user's conversation; ``say`` is one turn, ``check`` runs at its end."""

    channel = ""

    def __init__(self, target: Target, plan: Plan, report: Report, http: aiohttp.ClientSession) -> None:
        self.target, self.plan, self.report, self.http = target, plan, report, http
        self.seen: List[str] = []  # the bot messages the user saw, busy message excepted
        self.label = ""

    async def say(self, text: str, expect: str, kind: str, display: Optional[str] = None, **metadata: str) -> List[str]:
        """Sends until the reply is not the busy message (chaos) and returns the reply's texts;
        ``Unexpected`` when the reply lacks ``expect``."""
        busy_answers = 0
        for attempt in range(ATTEMPTS):
            texts = await self._turn(text, expect, kind, display, metadata)
            if texts is None:  # resend (the transport failed before anything was stored)
                await asyncio.sleep(min(2.0 * (attempt + 1), 6.0))
                continue
            expected = any(expect in reply for reply in texts)
            if BUSY_TEXT in texts:
                self.report.counts["busy"] += 1
                busy_answers += 1
                if self.plan.strict and not self.plan.resend_busy:
                    self.report.problem("errors", f"{self.label}: the busy message to {text!r}")
                    raise Unexpected("busy")
                if not expected:  # (with the expected reply, a later action failed: go on)
                    self.report.counts["resent_after_busy"] += 1
                    # "请稍后再试": a person waits a few seconds, longer each time.
                    await asyncio.sleep(min(4.0 * (attempt + 1), 15.0) if self.plan.resend_busy
                                        else min(2.0 * (attempt + 1), 6.0))
                    continue
            if not expected:
                if self.plan.strict:
                    self.report.problem("errors", f"{self.label}: {text!r} got {texts!r:.200}")
                else:
                    self.report.counts["diverged"] += 1
                raise Unexpected(text)
            return texts
        if busy_answers == ATTEMPTS:  # answered every time, each time "busy": the user gives up
            self.report.problem("gave_up", f"{self.label}: {text!r} answered busy {ATTEMPTS} times in a row")
        else:
            self.report.problem("errors", f"{self.label}: {text!r} not handled after {ATTEMPTS} attempts")
        raise Unexpected(text)

    async def _turn(
        self, text: str, expect: str, kind: str, display: Optional[str], metadata: Dict[str, str]
    ) -> Optional[List[str]]:
        raise NotImplementedError

    async def upload(self, data: bytes, name: str) -> str:
        raise NotImplementedError

    async def check(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass

    def sent(self) -> None:
        self.report.counts["messages_in"] += 1

    def answered(self) -> None:
        self.report.counts["replies_out"] += 1

    def compare(self, stored: List[str]) -> None:
        """The bot messages stored against those the user saw (busy messages are never stored)."""
        if stored == self.seen:
            return
        if sorted(stored) == sorted(self.seen):
            self.report.problem("out_of_order", f"{self.label}: saw {self.seen!r:.3000} stored {stored!r:.3000}")
        elif len(self.seen) > len(stored):
            self.report.problem("duplicated", f"{self.label}: saw {self.seen!r:.3000} stored {stored!r:.3000}")
        else:
            self.report.problem("lost", f"{self.label}: saw {self.seen!r:.3000} stored {stored!r:.3000}")


class RestConversation(Conversation):
    channel = "rest"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sender = f"load-{uuid.uuid4().hex[:12]}"
        self.label = f"rest:{self.sender}"
        self.stored_user_messages = 0
        self.headers = {"Authorization": f"Bearer {self.target.rest_token}"}

    async def _turn(
        self, text: str, expect: str, kind: str, display: Optional[str], metadata: Dict[str, str]
    ) -> Optional[List[str]]:
        body: Dict[str, Any] = {"sender": self.sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        self.sent()
        started = time.monotonic()
        try:
            async with self.http.post(f"{self.target.url}/webhooks/rest/webhook", json=body, headers=self.headers,
                                      timeout=aiohttp.ClientTimeout(total=self.plan.reply_timeout)) as answer:
                status, raw = answer.status, await answer.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return self._failed(text, f"{type(error).__name__}")
        elapsed = (time.monotonic() - started) * 1000
        if status == 503:  # not stored; the body's message is the busy text
            self.answered()
            return [json.loads(raw).get("message", "")]
        if status != 200:
            return self._failed(text, f"HTTP {status}")
        replies = [reply.get("text") or "" for reply in json.loads(raw)]
        self.stored_user_messages += 1
        if not replies:
            self.report.problem("lost", f"{self.label}: no reply to {text!r}")
            return []
        self.answered()
        self.report.time(kind, elapsed)
        self.seen.extend(reply for reply in replies if reply != BUSY_TEXT)
        return replies

    def _failed(self, text: str, what: str) -> Optional[List[str]]:
        """nginx's 502 (the replica died holding the request) or a dropped connection: in
        chaos the client sends again (docs/deploy.md), otherwise it is an error."""
        if self.plan.strict:
            self.report.problem("errors", f"{self.label}: {text!r}: {what}")
            raise Unexpected(what)
        self.report.counts["retried"] += 1
        self.report.counts["messages_in"] -= 1  # the same message, sent again
        return None

    async def upload(self, data: bytes, name: str) -> str:
        for attempt in range(8):
            form = aiohttp.FormData()
            form.add_field("sender", self.sender)
            form.add_field("file", data, filename=name, content_type="image/jpeg")
            started = time.monotonic()
            try:
                async with self.http.post(f"{self.target.url}/webhooks/rest/upload", data=form, headers=self.headers,
                                          timeout=aiohttp.ClientTimeout(total=60)) as answer:
                    status, raw = answer.status, await answer.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                status, raw = 0, repr(error).encode()
            if status == 200:
                self.report.time("upload", (time.monotonic() - started) * 1000)
                return str(json.loads(raw)["upload_id"])
            if self.plan.strict:
                self.report.problem("errors", f"{self.label}: upload HTTP {status} {raw[:120]!r}")
                raise Unexpected("upload")
            self.report.counts["upload_retries"] += 1
            await asyncio.sleep(2.0 * (attempt + 1))
        raise Unexpected("upload")

    async def check(self) -> None:
        rows = await stored_events(self.target.database_url, f"rest:{self.sender}")
        users = sum(1 for kind, _ in rows if kind == "user")
        bots = [text for kind, text in rows if kind == "bot"]
        if users != self.stored_user_messages:
            self.report.problem("duplicated" if users > self.stored_user_messages else "lost",
                                f"{self.label}: {self.stored_user_messages} messages answered 200, {users} stored")
        self.compare(bots)


async def stored_events(database_url: str, conversation: str) -> List[Tuple[str, str]]:
    def read() -> List[Tuple[str, str]]:
        engine = _engine(database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": conversation}
            ).all()
        found = []
        for kind, data in rows:
            if kind in ("user", "bot"):
                text = (json.loads(data) or {}).get("text") or ""
                if kind == "bot" and not text:
                    continue
                found.append((kind, text))
        return found

    return await patiently(read)


T = TypeVar("T")


async def patiently(work: Callable[[], T]) -> T:
    """``work`` off the event loop, again while the database restarts (chaos): the load test's
    own reads and imports must not fail where the assistant is allowed to be busy."""
    for _attempt in range(30):
        try:
            return await asyncio.to_thread(work)
        except sa.exc.OperationalError:
            await asyncio.sleep(1)
    return await asyncio.to_thread(work)


_ENGINES: Dict[str, sa.engine.Engine] = {}


def _engine(url: str) -> sa.engine.Engine:
    if url not in _ENGINES:
        _ENGINES[url] = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    return _ENGINES[url]


class WidgetConversation(Conversation):
    """Over socket.io through nginx (WebSocket), as the widget speaks it (bot/channels/widget.py)."""

    channel = "widget"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.session_id: Optional[str] = None
        self.sio: Optional[socketio.AsyncClient] = None
        self.inbox: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.dropped = asyncio.Event()
        self.arrivals: Dict[str, float] = {}
        # Its socket dropped and it could not get a new one in ``reply_timeout`` (an error of its
        # own): the real widget goes on trying, and shows the history when it gets through.
        self.gone = False

    async def open(self) -> List[Dict[str, Any]]:
        """A socket and the session (new, or this one again); returns the history it was given."""
        deadline = time.monotonic() + self.plan.reply_timeout
        while True:
            # From the conversation's own address when the plan spreads them (its session is bound to it).
            bound = {"http_session": self.http} if self.plan.widget_addresses > 1 else {}
            client = socketio.AsyncClient(reconnection=False, **bound)
            confirmed: "asyncio.Queue[Any]" = asyncio.Queue()
            client.on("session_confirm", confirmed.put_nowait)
            client.on("session_history", functools.partial(self._history_came, confirmed))
            client.on("bot_uttered", self._arrived)
            client.on("disconnect", functools.partial(self._dropped, client))
            try:
                await client.connect(self.target.url, socketio_path="/socket.io", transports=["websocket"],
                                     wait_timeout=10)
                await client.emit("session_request", {"session_id": self.session_id})
                session = await asyncio.wait_for(confirmed.get(), 20)
                answer = await asyncio.wait_for(confirmed.get(), 20)
                if not (isinstance(answer, tuple) and answer[0] == "history"):
                    raise ConnectionError("no history")
                self.session_id, self.sio = session, client
                self.dropped.clear()
                self.label = f"widget:{session}"
                return list(answer[1].get("messages", []))
            except (socketio.exceptions.ConnectionError, asyncio.TimeoutError, ConnectionError, OSError) as error:
                # As the widget does: it connects again (an overloaded or restarting server).
                await _quietly(client.disconnect())
                if time.monotonic() > deadline:
                    self.report.problem("errors", f"widget connect: {error!r:.160}")
                    raise Unexpected("connect") from None
                self.report.counts["connect_retries"] += 1
                await asyncio.sleep(1.0)

    def _dropped(self, client: socketio.AsyncClient, *_reason: Any) -> None:
        # python-socketio passes the reason since 5.12; an old socket's end means nothing.
        if self.sio is client:
            self.dropped.set()

    def _history_came(self, confirmed: "asyncio.Queue[Any]", history: Any) -> None:
        # What came before it is in it (the server sends it under the conversation's lock);
        # what comes after it is not, and stays to be read.
        while not self.inbox.empty():
            self.inbox.get_nowait()
        confirmed.put_nowait(("history", history))

    def _arrived(self, message: Dict[str, Any]) -> None:
        self.inbox.put_nowait({**message, "at": time.monotonic()})

    async def reconnect(self) -> List[Dict[str, Any]]:
        """The socket dropped (its replica died): a new one, to whichever replica nginx picks,
        with the session's history, which is what the widget then shows."""
        self.report.counts["reconnects"] += 1
        if self.sio is not None:
            await _quietly(self.sio.disconnect())
        try:
            history = await self.open()
        except Unexpected:
            self.gone = True
            raise
        stored = [message.get("text", "") for message in history if message.get("sender") == "bot"]
        if not _is_subsequence(self.seen, stored):
            self.report.problem("lost", f"{self.label}: history after reconnecting lacks what was seen: "
                                        f"{self.seen!r:.300} / {stored!r:.300}")
        else:
            self.report.counts["reconnected_with_history"] += 1
        self.seen = stored
        return history

    async def _turn(
        self, text: str, expect: str, kind: str, display: Optional[str], metadata: Dict[str, str]
    ) -> Optional[List[str]]:
        assert self.sio is not None
        if display:
            metadata = {**metadata, "display_text": display}
        self.sent()
        started = time.monotonic()
        try:
            await self.sio.emit("user_uttered", {"session_id": self.session_id, "message": text, "metadata": metadata})
        except socketio.exceptions.BadNamespaceError:
            self.dropped.set()
        replies = await self._replies(started, self.plan.reply_timeout, until=expect)
        if replies is None:  # the socket dropped before a reply
            shown = display or text
            history = await self.reconnect()
            after = _replies_after(history, shown)
            if after is not None and after:
                self.answered()
                self.report.counts["answered_in_history"] += 1
                return after
            self.report.counts["retried"] += 1
            self.report.counts["messages_in"] -= 1
            return None
        if not replies:
            self.report.problem("lost", f"{self.label}: no reply to {text!r} in {self.plan.reply_timeout:.0f} s")
            raise Unexpected("lost")
        self.answered()
        self.report.time(kind, (replies[0]["at"] - started) * 1000)
        return [reply.get("text", "") for reply in replies]

    async def _replies(
        self, started: float, timeout: float, until: Optional[str] = None, quiet: bool = True
    ) -> Optional[List[Dict[str, Any]]]:
        """The bot messages of one turn: the first, then any within a short pause (the turn's
        messages are emitted back to back); ``until`` waits for a message containing it.  None:
        the socket dropped first."""
        replies: List[Dict[str, Any]] = []
        deadline = started + timeout
        while True:
            # The turn's messages come one by one (an answer, then the flow's question after an
            # action call): wait for the expected one, or the busy message, or a long pause.
            wait = deadline - time.monotonic()
            if replies and quiet:
                wait = min(wait, TRAILING_SECONDS if until is None else QUIET_SECONDS)
            if wait <= 0:
                return replies
            getter = asyncio.ensure_future(self.inbox.get())
            dropped = asyncio.ensure_future(self.dropped.wait())
            done, _ = await asyncio.wait({getter, dropped}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            dropped.cancel()
            if getter not in done:
                getter.cancel()
                # A dropped socket (its server died, or missed socket.io's ping under overload):
                # the widget reconnects and shows the history; ``reconnect`` checks it.
                return None if dropped in done else replies
            message = getter.result()
            replies.append(message)
            if message.get("text") != BUSY_TEXT:
                self.seen.append(message.get("text", ""))
            if until is not None and (until in message.get("text", "") or message.get("text") == BUSY_TEXT):
                return replies

    async def wait_for(self, text: str, timeout: float) -> Optional[Dict[str, Any]]:
        """A message containing ``text`` that comes without a message of the user's (an agent's)."""
        while True:
            replies = await self._replies(time.monotonic(), timeout, until=text, quiet=False)
            if replies is None:
                history = await self.reconnect()
                found = [m for m in history if m.get("sender") == "bot" and text in m.get("text", "")]
                if found:
                    return {**found[-1], "at": time.monotonic()}
                continue
            matching = [reply for reply in replies if text in reply.get("text", "")]
            return matching[-1] if matching else None

    async def upload(self, data: bytes, name: str) -> str:
        for attempt in range(8):
            form = aiohttp.FormData()
            form.add_field("sender", self.session_id or "")
            form.add_field("file", data, filename=name, content_type="image/jpeg")
            started = time.monotonic()
            try:
                async with self.http.post(f"{self.target.url}/webhooks/account/upload", data=form,
                                          timeout=aiohttp.ClientTimeout(total=60)) as answer:
                    status, raw = answer.status, await answer.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                status, raw = 0, repr(error).encode()
            if status == 200:
                self.report.time("upload", (time.monotonic() - started) * 1000)
                return str(json.loads(raw)["upload_id"])
            if self.plan.strict:
                self.report.problem("errors", f"{self.label}: upload HTTP {status} {raw[:120]!r}")
                raise Unexpected("upload")
            self.report.counts["upload_retries"] += 1
            await asyncio.sleep(2.0 * (attempt + 1))
        raise Unexpected("upload")

    async def check(self) -> None:
        """A fresh socket on the session: its history is what the user saw, in order."""
        if self.session_id is None:
            return
        history = await self._history()
        if history is None:
            self.report.problem("errors", f"{self.label}: the history could not be read")
            return
        stored = [message.get("text", "") for message in history if message.get("sender") == "bot"]
        if self.gone:
            # The fresh socket is the reconnect the widget would have made at last: it shows the
            # history, which must hold everything seen (what the user missed is not lost).
            if _is_subsequence(self.seen, stored):
                self.report.counts["shown_by_a_later_reconnect"] += len(stored) - len(self.seen)
                self.seen = stored
            self.compare(stored)
            return
        # Messages still on their way: those stored and not seen yet, then any stray one.
        deadline = time.monotonic() + LATE_SECONDS
        while True:
            missing = len(self.seen) < len(stored)
            wait = deadline - time.monotonic() if missing else 1.5
            try:
                message = await asyncio.wait_for(self.inbox.get(), max(wait, 0.0))
            except asyncio.TimeoutError:
                break
            if message.get("text") != BUSY_TEXT:
                self.seen.append(message.get("text", ""))
                if missing:
                    self.report.counts["late_replies"] += 1
        if self.sio is not None:
            await _quietly(self.sio.disconnect())
        self.compare(stored)

    async def _history(self) -> Optional[List[Dict[str, Any]]]:
        """The session's history as a fresh socket receives it (None: no socket in ten tries)."""
        for _attempt in range(10):
            probe = WidgetConversation(self.target, self.plan, Report(), self.http)
            probe.session_id = self.session_id
            try:
                history = await probe.open()
                break
            except Unexpected:
                await asyncio.sleep(2)
        else:
            return None
        await _quietly(probe.close())
        return history

    async def close(self) -> None:
        if self.sio is not None:
            await _quietly(self.sio.disconnect())


def _is_subsequence(part: List[str], whole: List[str]) -> bool:
    remaining = iter(whole)
    return all(any(item == candidate for candidate in remaining) for item in part)


def _replies_after(history: List[Dict[str, Any]], shown: str) -> Optional[List[str]]:
    """The bot messages after the user's last ``shown`` message in the history, or None."""
    for index in range(len(history) - 1, -1, -1):
        message = history[index]
        if message.get("sender") == "user" and message.get("text") == shown:
            return [m.get("text", "") for m in history[index + 1:] if m.get("sender") == "bot"]
    return None


async def _quietly(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:  # noqa: BLE001 - closing a socket that is already gone
        pass


# -- scripts ---------------------------------------------------------------------------------


@dataclass
class World:
    """What every simulated user shares."""

    target: Target
    plan: Plan
    report: Report
    http: aiohttp.ClientSession
    accounts: AccountPool
    faq: List[Tuple[str, str]]  # question, the answer's opening
    desk: AgentDesk
    handoffs_asked: Dict[str, float] = field(default_factory=dict)
    widget_http: List[aiohttp.ClientSession] = field(default_factory=list)  # one per source address

    def http_of_widget(self, rng: random.Random) -> aiohttp.ClientSession:
        return rng.choice(self.widget_http) if self.widget_http else self.http


async def think(world: World, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(*world.plan.think))


async def faq_script(world: World, chat: Conversation, rng: random.Random) -> None:
    for question, answer in rng.sample(world.faq, 3):
        await chat.say(question, answer, "faq")
        await think(world, rng)


async def reset_script(world: World, chat: Conversation, rng: random.Random) -> None:
    login, phone = await world.accounts.take()
    await chat.say("忘记密码了", RESET_QUESTION, "reset")
    await think(world, rng)
    await chat.say(login, CODE_QUESTION, "reset")
    code = await world.accounts.code_for(phone, 30)
    if code is None:
        world.report.problem("errors", f"{chat.label}: no SMS to {phone}")
        raise Unexpected("sms")
    await think(world, rng)
    await chat.say(code, RESET_LINK, "reset")


async def realname_script(world: World, chat: Conversation, rng: random.Random) -> None:
    login, phone = await world.accounts.take()
    await chat.say("实名认证失败了怎么办", LOOKUP_QUESTION, "realname")
    await think(world, rng)
    await chat.say(login, CODE_QUESTION, "realname")
    code = await world.accounts.code_for(phone, 30)
    if code is None:
        world.report.problem("errors", f"{chat.label}: no SMS to {phone}")
        raise Unexpected("sms")
    await think(world, rng)
    await chat.say(code, "正面", "realname")
    for side, expect in (("正面", "反面"), ("反面", "实名认证审核中")):
        await think(world, rng)
        upload_id = await chat.upload(PHOTOS[side], f"证件{side}.jpg")
        await chat.say("/send_file", expect, "realname", display=f"[照片] 证件{side}.jpg", upload_id=upload_id)


async def rating_question(
    world: World, chat: "WidgetConversation", handoff: int, agent_reply: str
) -> Optional[Dict[str, Any]]:
    """The rating question, waited for until ``reply_timeout`` after the agent resolved the
    handoff (an agent working through her queue under load resolves minutes after replying),
    or ``handoff_timeout`` after her reply when she has not resolved it by then.  A widget that
    reconnected while it waited for the agent's reply may have been given the question already,
    in the history after that reply."""
    seen = chat.seen
    last_reply = max((index for index, text in enumerate(seen) if text == agent_reply), default=len(seen))
    shown = [text for text in seen[last_reply + 1:] if RATING_MARK in text]
    if shown:
        return {"text": shown[-1]}
    replied = time.monotonic()
    while True:
        rating = await chat.wait_for(RATING_MARK, RATING_POLL_SECONDS)
        if rating is not None:
            return rating
        resolved = world.desk.resolved_at.get(handoff)
        waited_since = resolved if resolved is not None else replied
        patience = world.plan.reply_timeout if resolved is not None else world.plan.handoff_timeout
        if time.monotonic() - waited_since > patience:
            return None


async def handoff_script(world: World, chat: Conversation, rng: random.Random) -> None:
    assert isinstance(chat, WidgetConversation)
    asked = time.monotonic()
    await chat.say("/request_human", "为您转", "handoff", display="转人工客服")  # 正在为您转接…; 已为您转…
    world.handoffs_asked[chat.label] = asked
    world.report.counts["handoffs_asked"] += 1
    reply = await chat.wait_for("负载测试客服回复", world.plan.handoff_timeout)
    if reply is None:
        world.handoffs_asked.pop(chat.label, None)
        world.report.problem("handoff_lost", f"{chat.label}: no agent reply in {world.plan.handoff_timeout:.0f} s")
        raise Unexpected("handoff")
    world.handoffs_asked.pop(chat.label, None)
    handoff = int(AGENT_REPLY_PATTERN.search(reply["text"]).group(1))
    world.report.time("handoff_wait", (reply["at"] - asked) * 1000)
    if handoff in world.desk.replied_at:
        world.report.time("agent_reply", (reply["at"] - world.desk.replied_at[handoff]) * 1000)
    chat.handoff_id = handoff  # type: ignore[attr-defined]
    if await rating_question(world, chat, handoff, reply["text"]) is None:
        if handoff in world.desk.give_back_failed:  # the console told the agent so (chaos)
            world.report.counts["give_back_failed"] += 1
            raise Unexpected("rating")
        if handoff not in world.desk.resolved_at:  # the agent is still busy with her queue
            world.report.counts["resolve_late"] += 1
            raise Unexpected("rating")
        world.report.problem("lost", f"{chat.label}: no rating question after the agent resolved H{handoff}")
        raise Unexpected("rating")
    await think(world, rng)
    await chat.say("/rate_handoff 5", "感谢您的 5 分评价", "handoff", display="5 分")


SCRIPTS: Dict[str, Callable[[World, Conversation, random.Random], Awaitable[None]]] = {
    "faq": faq_script,
    "reset": reset_script,
    "realname": realname_script,
    "handoff": handoff_script,
}
PHOTOS = {"正面": photo("JPEG", "#f2efe6", "FRONT"), "反面": photo("JPEG", "#e6eef2", "BACK")}


async def one_conversation(world: World, kind: str, widget: bool, rng: random.Random) -> None:
    chat: Conversation
    if widget:
        chat = WidgetConversation(world.target, world.plan, world.report, world.http_of_widget(rng))
    else:
        chat = RestConversation(world.target, world.plan, world.report, world.http)
    world.report.counts[f"conversations_{kind}_{chat.channel}"] += 1
    try:
        if isinstance(chat, WidgetConversation):
            await chat.open()
        await SCRIPTS[kind](world, chat, rng)
        world.report.counts["conversations_completed"] += 1
    except Unexpected:
        world.report.counts["conversations_cut_short"] += 1
    finally:
        try:
            await chat.check()
        finally:
            await chat.close()
        handoff = getattr(chat, "handoff_id", None)
        if handoff is not None:
            await check_handoff(world, chat, handoff)
        elif chat.label in world.handoffs_asked and any(AGENT_REPLY_PATTERN.search(text) for text in chat.seen):
            # Its widget could not reconnect while it waited: the reply is in its history.
            world.handoffs_asked.pop(chat.label)
            world.report.counts["handoffs_answered_in_history"] += 1


async def check_handoff(world: World, chat: Conversation, handoff: int) -> None:
    """The agent's reply named the conversation's own handoff, and it came once."""
    def read() -> Optional[str]:
        with _engine(world.target.database_url).connect() as connection:
            return connection.execute(sa.text("SELECT sender_id FROM handoffs WHERE id = :h"), {"h": handoff}).scalar()

    owner = await patiently(read)
    if owner != chat.label:
        world.report.problem("handoff_misdelivered", f"H{handoff} of {owner} reached {chat.label}")
    replies = sum(1 for text in chat.seen if AGENT_REPLY_PATTERN.search(text))
    if replies != 1:
        world.report.problem("handoff_duplicated" if replies > 1 else "handoff_lost",
                             f"{chat.label}: the agent's reply seen {replies} times")


async def simulated_user(world: World, number: int, stop_at: float) -> None:
    rng = random.Random(world.plan.seed * 100003 + number)
    kinds, weights = list(world.plan.mix), list(world.plan.mix.values())
    await asyncio.sleep(rng.uniform(0, min(5.0, world.plan.seconds / 4)))  # users arrive over a few seconds
    first = True
    while time.monotonic() < stop_at:
        kind = rng.choices(kinds, weights)[0]
        if first and number < len(kinds):  # every kind at least once, however short the run
            kind = kinds[number]
        first = False
        widget = kind == "handoff" or rng.random() < world.plan.widget_share
        await one_conversation(world, kind, widget, rng)
        await think(world, rng)


async def usable_faq(target: Target, http: aiohttp.ClientSession) -> List[Tuple[str, str]]:
    """The canonical FAQ questions the model answers with their own answer (asked once each)."""
    answers = chinese_answers()
    usable = []
    headers = {"Authorization": f"Bearer {target.rest_token}"}
    for key, question in FAQ_TOPICS.items():
        expected = answers.get(f"utter_faq/{key}", "")
        body = {"sender": f"load-probe-{uuid.uuid4().hex[:8]}", "message": question}
        async with http.post(f"{target.url}/webhooks/rest/webhook", json=body, headers=headers) as answer:
            replies = [reply.get("text", "") for reply in await answer.json()]
        if expected and replies and replies[0] == expected:
            usable.append((question, expected[:40]))
    if len(usable) < 3:
        raise RuntimeError(f"only {len(usable)} FAQ questions are answered as expected")
    return usable


async def check_handoffs_in_database(world: World, since: float) -> None:
    """No conversation of the run holds two handoffs; none asked was left unanswered."""
    def read() -> List[Tuple[str, int]]:
        with _engine(world.target.database_url).connect() as connection:
            return connection.execute(sa.text(
                "SELECT sender_id, COUNT(*) FROM handoffs WHERE sender_id LIKE 'widget:%' "
                "GROUP BY sender_id HAVING COUNT(*) > 1")).all()

    for sender, count in await patiently(read):
        world.report.problem("handoff_duplicated", f"{sender}: {count} handoffs")
    for label in world.handoffs_asked:
        world.report.problem("handoff_lost", f"{label}: asked, never answered")


Chaos = Sequence[Tuple[float, str, Callable[[], Awaitable[None]]]]


async def run_load(target: Target, plan: Plan, chaos: Chaos = ()) -> Report:
    """``plan.users`` simulated users for ``plan.seconds`` (conversations under way then are
    finished), ``plan.agents`` agents on the console, and the ``chaos`` steps at their times."""
    report = Report()
    accounts = AccountPool(target.database_url)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        faq = await usable_faq(target, http)
        needs_accounts = plan.mix.get("reset", 0) + plan.mix.get("realname", 0)
        await accounts.fill(max(AccountPool.BATCH, int(plan.users * 2 * needs_accounts)))
        logins = await asyncio.to_thread(create_agents, target.database_url, plan.agents)
        world = World(target, plan, report, http, accounts, faq, AgentDesk())
        if plan.widget_addresses > 1:
            world.widget_http = [
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(f"127.0.{n}.1", 0)))
                for n in range(1, plan.widget_addresses + 1)
            ]
        agents = [asyncio.create_task(SimulatedAgent(target, login, world.desk).work(report)) for login in logins]
        report.started = time.monotonic()
        stop_at = report.started + plan.seconds

        async def run_chaos() -> None:
            for at, name, step in chaos:
                await asyncio.sleep(max(0.0, report.started + at - time.monotonic()))
                report.events.append((time.monotonic() - report.started, f"{name}: start"))
                await step()
                report.events.append((time.monotonic() - report.started, f"{name}: done"))

        chaos_task = asyncio.create_task(run_chaos())
        await asyncio.gather(*(simulated_user(world, number, stop_at) for number in range(plan.users)))
        report.finished = time.monotonic()
        await chaos_task
        for agent in agents:
            agent.cancel()
        await asyncio.gather(*agents, return_exceptions=True)
        await check_handoffs_in_database(world, report.started)
        for session in world.widget_http:
            await session.close()
    accounts.close()
    return report


# -- the cluster under load ---------------------------------------------------------------------


def cluster_settings(directory: str, replicas: int, actions: int) -> Dict[str, str]:
    """The environment of a throw-away cluster in ``directory`` on free ports: the caller's
    environment without the project's settings (so a developer's own do not leak in), plus
    ``LOAD_SETTINGS``."""
    from bot import config
    from tests.servers import free_run

    names = {setting.name for setting in config.SETTINGS}
    return {
        **{name: value for name, value in os.environ.items() if name not in names},
        "CLUSTER_DIR": directory,
        "RASA_PORT": str(free_run(replicas + 1)),
        "ACTIONS_PORT": str(free_run(actions + 1)),
        "CLUSTER_POSTGRES_PORT": str(free_run(1)),
        "REDIS_PORT": str(free_run(1)),
        **LOAD_SETTINGS,
    }


def socketio_replica(rasa_ports: Sequence[int]) -> int:
    """The index (1-based) of the Rasa server holding most connections from nginx: the one
    nginx's ``ip_hash`` sends every loopback socket.io client to."""
    held = []
    for port in rasa_ports:
        listing = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                                 capture_output=True, text=True).stdout
        held.append(len(listing.splitlines()))
    return held.index(max(held)) + 1
