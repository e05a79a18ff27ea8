"""Attacks on the agent console (issue 12, item 6), each against the console's
blueprint served by a real Sanic server (``tests/console/console_server``) on
a throw-away database; each must fail.  Before: every agent read every
conversation, open or closed, over the page and the JSON API, and nobody
knew; five wrong passwords locked a named agent out for 15 minutes, so anyone
could keep an agent out by guessing every 15 minutes; failed logins were not
in the audit log; a new password left the old sessions alive.
docs/security.md, section 10."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import requests
from sqlalchemy import select

from bot.channels import handoff_bridge as bridge
from bot.console.channel import AgentConsoleInput
from bot.console.guards import LOGIN_COOKIE, SESSION_COOKIE
from bot.handoff.agents import ACCOUNT_MAX_DELAY, FREE_FAILURES
from bot.handoff.models import AgentRole, HandoffState, LoginAttempt
from bot.store import AuditEntry, Database
from tests.console.console_client import CSRF_FIELD, Agent
from tests.console.console_server import ConsoleServer

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Agent-Passw0rd"
SECRET = "用户说：我的备用邮箱是 secret-mailbox@example.cn"
WRONG_PASSWORD = "登录名或密码不正确。"
THROTTLED = re.compile(r"登录尝试过于频繁，请 (\d+) 秒后再试。")


@pytest.fixture
def delivered(monkeypatch) -> List[Tuple[str, int]]:
    """The bridge to the users' channels, recorded (no widget or Telegram here)."""
    calls: List[Tuple[str, int]] = []

    async def announce_agent(app, handoff, agent_name):
        calls.append(("announce", handoff.id))

    async def send_to_user(app, handoff, text, agent_name):
        calls.append(("send", handoff.id))

    async def give_back_to_assistant(app, handoff):
        calls.append(("give_back", handoff.id))

    monkeypatch.setattr(bridge, "announce_agent", announce_agent)
    monkeypatch.setattr(bridge, "send_to_user", send_to_user)
    monkeypatch.setattr(bridge, "give_back_to_assistant", give_back_to_assistant)
    return calls


@pytest.fixture
def console(services, delivered, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "")
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    with ConsoleServer(AgentConsoleInput()) as running:
        yield running


@pytest.fixture
def staff(services) -> Dict[str, int]:
    agents = services.agents
    return {
        "alice": agents.create("alice", "张丽", PASSWORD).id,
        "bob": agents.create("bob", "王波", PASSWORD).id,
        "chief": agents.create("chief", "李主管", PASSWORD, AgentRole.ADMIN).id,
    }


def audit(db: Database, action: str) -> List[Tuple[str, Dict[str, object]]]:
    with db.session() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return [(row.actor, json.loads(row.detail or "{}")) for row in rows.scalars()]


def login_from(console: ConsoleServer, login: str, password: str, address: Optional[str]) -> requests.Response:
    """One login attempt from a fresh browser, behind the proxy as ``address`` (None: directly)."""
    http = requests.Session()
    form = http.get(console.url + "login", timeout=30)
    token = CSRF_FIELD.search(form.text).group(1)
    headers = {"Origin": console.origin}
    if address:
        headers["X-Forwarded-For"] = address
    return http.post(console.url + "login", data={"login": login, "password": password, "csrf": token},
                     headers=headers, allow_redirects=False, timeout=30)


def refusal(answer: requests.Response) -> str:
    assert answer.status_code == 401, answer.status_code
    match = THROTTLED.search(answer.text)
    if match:
        return "wait " + match.group(1)
    assert WRONG_PASSWORD in answer.text
    return "wrong"


# -- least privilege -------------------------------------------------------------------


def test_an_agent_cannot_read_or_touch_another_agents_or_a_closed_conversation(console, services, staff,
                                                                              delivered):
    handoffs = services.handoffs
    waiting = handoffs.request("widget:" + "a" * 32, "widget", "user_request", {"problem": "收不到验证码"})
    alices = handoffs.request("widget:" + "b" * 32, "widget", "user_request", {"problem": "忘记密码"})
    closed = handoffs.request("widget:" + "c" * 32, "widget", "user_request", {"problem": "实名认证"})
    handoffs.claim(alices.id, staff["alice"])
    handoffs.record_user_message(alices.sender_id, SECRET)
    handoffs.claim(closed.id, staff["bob"])
    handoffs.record_user_message(closed.sender_id, SECRET)
    handoffs.resolve(closed.id, staff["bob"])  # bob's own conversation, now closed

    bob = Agent(console).login("bob")
    for target in (alices, closed):
        for path in (f"conversations/{target.id}", f"api/conversations/{target.id}",
                     f"api/conversations/{target.id}?after=0"):
            answer = bob.get(path)
            assert answer.status_code == 403, path
            assert "secret-mailbox" not in answer.text and "张丽" not in answer.text, path
        for action, form in (("claim", {}), ("reply", {"text": "我来回复"}), ("note", {"text": "偷偷备注"}),
                             ("transfer", {"agent_id": str(staff["bob"])}), ("resolve", {}),
                             ("hand-back", {})):
            for accept in ("text/html", "application/json"):
                answer = bob.post(f"conversations/{target.id}/{action}", data=form, headers={"Accept": accept})
                assert answer.status_code == 403, (target.id, action, accept)
                assert "secret-mailbox" not in answer.text
    assert handoffs.get(alices.id).agent_id == staff["alice"] and handoffs.get(alices.id).state == HandoffState.ASSIGNED
    texts = [message.text for message in handoffs.transcript(alices.id) + handoffs.transcript(closed.id)]
    assert "我来回复" not in texts and "偷偷备注" not in texts and delivered == []

    # the queue lists the waiting and bob's own, not alice's
    queue = bob.get("api/queue").json()
    assert [row["id"] for row in queue["waiting"]] == [waiting.id] and queue["others"] == []
    page = bob.get().text
    assert f'data-handoff-id="{alices.id}"' not in page and "忘记密码" not in page
    assert bob.get(f"conversations/{waiting.id}").status_code == 200  # the waiting: everyone

    # the admin sees everything; an explicit transfer gives it to bob
    chief = Agent(console).login("chief")
    for target in (alices, closed):
        assert "secret-mailbox" in chief.get(f"conversations/{target.id}").text
        messages = chief.get(f"api/conversations/{target.id}").json()["messages"]
        assert SECRET in [message["text"] for message in messages]
    alice = Agent(console).login("alice")
    assert alice.post(f"conversations/{alices.id}/transfer", data={"agent_id": str(staff["bob"])}).status_code == 303
    assert "secret-mailbox" in bob.get(f"conversations/{alices.id}").text
    assert alice.get(f"api/conversations/{alices.id}").status_code == 403


def test_every_transcript_read_is_audited_with_the_client_address(console, services, staff, monkeypatch):
    handoffs = services.handoffs
    handoff = handoffs.request("widget:" + "d" * 32, "widget", "user_request", {"problem": "收不到验证码"})
    handoffs.claim(handoff.id, staff["alice"])
    alice, bob = Agent(console).login("alice"), Agent(console).login("bob")

    # Without TRUSTED_PROXIES a forwarded address is the client's own claim: not believed.
    alice.get(f"conversations/{handoff.id}", headers={"X-Forwarded-For": "198.51.100.99"})
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    proxied = {"X-Forwarded-For": "10.9.9.9, 203.0.113.50"}  # the proxy appended the real one
    alice.get(f"api/conversations/{handoff.id}?after=2", headers=proxied)
    bob.get(f"conversations/{handoff.id}", headers={"X-Forwarded-For": "203.0.113.51"})

    reads = audit(services.database, "handoff_transcript_read")
    assert reads == [
        ("agent:alice", {"handoff": handoff.id, "after_message": 0, "client_ip": "127.0.0.1"}),
        ("agent:alice", {"handoff": handoff.id, "after_message": 2, "client_ip": "203.0.113.50"}),
    ]
    assert audit(services.database, "handoff_transcript_refused") == [
        ("agent:bob", {"handoff": handoff.id, "after_message": 0, "client_ip": "203.0.113.51"})]


# -- logins ------------------------------------------------------------------------------


def test_many_wrong_passwords_cannot_lock_a_named_agent_out(console, services, staff, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    assert login_from(console, "alice", PASSWORD, "192.0.2.10").status_code == 303  # her usual address

    def guess(count: int, network: str) -> List[str]:
        """A guesser with a new address for every guess (a botnet) behind the proxy, as fast as
        it can, until the name is held in a wait (then the agent tries at once)."""
        answers: List[str] = []
        while len(answers) < count or not answers[-1].startswith("wait "):
            n = len(answers)
            answers.append(refusal(login_from(console, "alice", "Guess-%03d!x" % n, f"{network}.{n}")))
        return answers

    answers = guess(30, "198.51.100")
    assert answers[:FREE_FAILURES] == ["wrong"] * FREE_FAILURES  # then throttled, never locked
    with services.database.session() as session:
        outcomes = session.execute(select(LoginAttempt.outcome).where(LoginAttempt.login == "alice")).scalars()
        checked = sum(outcome == "failed" for outcome in outcomes)
    assert checked < len(answers) - 10  # the guesses inside a wait were refused unchecked

    # From a new address: a short wait (the password unchecked), then the right password works.
    answer = login_from(console, "alice", PASSWORD, "192.0.2.77")
    wait = int(THROTTLED.search(answer.text).group(1))
    assert answer.status_code == 401 and wait <= ACCOUNT_MAX_DELAY.total_seconds()
    time.sleep(wait)
    answer = login_from(console, "alice", PASSWORD, "192.0.2.77")
    assert answer.status_code == 303 and answer.cookies.get(SESSION_COOKIE)

    # From her usual address the right password works at once, whatever the guesser does.
    guess(FREE_FAILURES + 1, "198.51.101")
    assert login_from(console, "alice", PASSWORD, "192.0.2.10").status_code == 303

    # An unknown name is answered exactly alike: the throttle does not reveal who exists.  (Guessed
    # until a wait, as above: on a slow machine a guess can come after the first 1-second delay.)
    unknown: List[str] = []
    while len(unknown) < 20 and not (unknown and unknown[-1].startswith("wait ")):
        unknown.append(refusal(login_from(console, "nobody-here", "Guess-%03d!x" % len(unknown),
                                          f"198.51.102.{len(unknown)}")))
    assert unknown[:FREE_FAILURES] == ["wrong"] * FREE_FAILURES and unknown[-1].startswith("wait ")


def test_failed_logins_are_audited(console, services, staff, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    wrong = login_from(console, "alice", "Wrong-Passw0rd", "203.0.113.60")
    unknown = login_from(console, "mallory", "Wrong-Passw0rd", "203.0.113.61")
    assert refusal(wrong) == refusal(unknown) == "wrong"  # the same answer for both
    failed = audit(services.database, "agent_login_failed")
    assert failed == [
        ("agent:alice", {"reason": "failed", "client_ip": "203.0.113.60", "known": True}),
        ("agent:mallory", {"reason": "failed", "client_ip": "203.0.113.61", "known": False}),
    ]


# -- cookies and sessions -------------------------------------------------------------------


def cookie_line(answer: requests.Response, name: str) -> str:
    return next(line for line in answer.raw.headers.getlist("Set-Cookie") if line.startswith(name + "="))


def test_the_cookies_are_secure_when_the_public_address_is_https(console, staff, monkeypatch):
    public = "https://assistant.example.gov.cn"
    monkeypatch.setenv("PUBLIC_BASE_URL", public)
    form = requests.get(console.url + "login", timeout=30)
    login_cookie = cookie_line(form, LOGIN_COOKIE)
    assert "Secure" in login_cookie
    token = CSRF_FIELD.search(form.text).group(1)
    # (a browser on https sends the Secure cookie; this client on plain http is told to by hand)
    answer = requests.post(console.url + "login", data={"login": "alice", "password": PASSWORD, "csrf": token},
                           headers={"Origin": public, "Cookie": f"{LOGIN_COOKIE}={token}"},
                           allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    session_cookie = cookie_line(answer, SESSION_COOKIE)
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie

    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5005")  # plain http: a Secure cookie would be lost
    assert "Secure" not in cookie_line(requests.get(console.url + "login", timeout=30), LOGIN_COOKIE)


def test_a_new_password_ends_the_agents_sessions(console, services, staff):
    first, second, bob = Agent(console).login("alice"), Agent(console).login("alice"), Agent(console).login("bob")
    assert first.get("api/queue").status_code == 200
    new_password = "Brand-New-Passw0rd"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "agents", "password", "alice", "--password-stdin",
         "--database-url", services.database.url],
        input=new_password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for browser in (first, second):  # whoever had her old password (or a stolen cookie) is out
        assert browser.get("api/queue").status_code == 401
        assert browser.get().headers["Location"] == "/webhooks/console/login"
    assert bob.get("api/queue").status_code == 200  # other agents' sessions stay
    assert login_from(console, "alice", PASSWORD, None).status_code == 401
    assert login_from(console, "alice", new_password, None).status_code == 303
