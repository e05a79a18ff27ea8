"""The agent console over real HTTP: its blueprint on a small Sanic app
(``console_server.ConsoleServer``) on a temporary SQLite database (the
``services`` fixture, on the real clock), agents from ``AgentDirectory``,
handoffs from ``HandoffService``, and the delivery bridge
replaced by recorders.  Sessions, CSRF and origins, the claim race, replies,
notes, transfer, hand back and resolve, the events feed, escaping, reports,
logout.  The live queue in headless Chromium: test_console_browser.py."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests
from sqlalchemy import select

from bot.channels import handoff_bridge as bridge
from bot.console.channel import AgentConsoleInput
from bot.console.guards import LOGIN_COOKIE, SESSION_COOKIE
from bot.handoff.agents import FREE_FAILURES, AgentDirectory
from bot.handoff.canned import canned_replies
from bot.handoff.models import AuthorKind, HandoffOutcome, HandoffState
from bot.handoff.service import HandoffService
from bot.store import AuditEntry, Database, utcnow
from bot.topics import FAQ_TOPICS
from tests.accounts.conftest import Clock
from tests.handoff.conftest import PASSWORD, SUMMARY
from tests.console.console_client import CSRF_FIELD, Agent
from tests.console.console_server import ConsoleServer

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def clock():
    """The real clock for the services (not tests/handoff's movable one)."""
    return utcnow


@pytest.fixture
def db(services) -> Database:
    return services.database


@pytest.fixture
def directory(services) -> AgentDirectory:
    return services.agents


@pytest.fixture
def service(services) -> HandoffService:
    return services.handoffs


@pytest.fixture
def delivered(monkeypatch) -> Dict[str, List[Tuple[Any, ...]]]:
    """The bridge replaced by recorders: what the console asked it to do."""
    calls: Dict[str, List[Tuple[Any, ...]]] = {"send_to_user": [], "give_back_to_assistant": [],
                                               "announce_agent": []}

    async def send_to_user(app, handoff, text, agent_name):
        calls["send_to_user"].append((handoff.id, handoff.sender_id, text, agent_name))

    async def give_back_to_assistant(app, handoff):
        calls["give_back_to_assistant"].append((handoff.id, handoff.sender_id, handoff.state, handoff.outcome))

    async def announce_agent(app, handoff, agent_name):
        calls["announce_agent"].append((handoff.id, agent_name))

    monkeypatch.setattr(bridge, "announce_agent", announce_agent)
    monkeypatch.setattr(bridge, "send_to_user", send_to_user)
    monkeypatch.setattr(bridge, "give_back_to_assistant", give_back_to_assistant)
    return calls


@pytest.fixture
def server(services, delivered):
    with ConsoleServer(AgentConsoleInput()) as running:
        yield running


def agent_client(server: ConsoleServer, login: str) -> Agent:
    return Agent(server).login(login)


def set_cookies(answer: requests.Response) -> List[str]:
    return answer.raw.headers.getlist("Set-Cookie")


def audit_actions(db: Database) -> List[Tuple[str, str]]:
    with db.session() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(row.actor, row.action) for row in rows]


def request_handoff(service: HandoffService, sender: str = "user-1", summary: Optional[Dict[str, Any]] = None,
                    reason: str = "user_request"):
    return service.request(sender, "widget", reason, summary or SUMMARY)


# -- sessions ----------------------------------------------------------------------------


def test_pages_need_a_login_and_json_answers_401(server, service):
    handoff = request_handoff(service)
    anonymous = Agent(server)
    for path in ("", f"conversations/{handoff.id}", "reports", "reports.csv?days=7&by=team", "search?q=x", "teams"):
        answer = anonymous.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["Location"] == "/webhooks/console/login"
    photo = f"conversations/{handoff.id}/photos/{'ab' * 16}"
    for path in ("events?after=0", "api/queue", f"api/conversations/{handoff.id}", photo):
        answer = anonymous.get(path)
        assert answer.status_code == 401, path
        assert answer.json()["error"] == "登录已过期，请重新登录。"
    # without the slash the cookie (Path=/webhooks/console/) would not be sent
    assert anonymous.http.get(server.origin + "/webhooks/console", allow_redirects=False).headers["Location"] \
        == "/webhooks/console/"


def test_login_sets_an_http_only_strict_session_cookie_and_opens_the_queue(server, alice):
    browser = Agent(server)
    form = browser.get("login")
    assert form.status_code == 200 and "登录名" in form.text and "密码" in form.text
    login_cookie = next(cookie for cookie in set_cookies(form) if cookie.startswith(LOGIN_COOKIE + "="))
    assert "HttpOnly" in login_cookie and "SameSite=Strict" in login_cookie

    answer = browser.login_attempt("ALICE", PASSWORD)  # login names ignore case
    assert answer.status_code == 303 and answer.headers["Location"] == "/webhooks/console/"
    session_cookie = next(cookie for cookie in set_cookies(answer) if cookie.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    assert "Path=/webhooks/console/" in session_cookie
    assert "Secure" not in session_cookie  # plain http, no https PUBLIC_BASE_URL

    queue = browser.get()
    assert queue.status_code == 200
    assert "张丽" in queue.text and "排队等待" in queue.text and "我接待的会话" in queue.text
    assert browser.get("login").headers["Location"] == "/webhooks/console/"  # logged in already


def test_the_session_cookie_is_secure_behind_an_https_public_address(server, alice, monkeypatch):
    browser = Agent(server)
    form = browser.get("login")
    token = CSRF_FIELD.search(form.text).group(1)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://assistant.example.gov.cn")
    # (set only now: the test's client sends no Secure cookie over plain http, a browser on https does)
    answer = browser.http.post(server.url + "login", data={"login": "alice", "password": PASSWORD, "csrf": token},
                               headers={"Origin": "https://assistant.example.gov.cn"}, allow_redirects=False)
    assert answer.status_code == 303
    session_cookie = next(cookie for cookie in set_cookies(answer) if cookie.startswith(SESSION_COOKIE + "="))
    assert "Secure" in session_cookie


def test_a_wrong_password_is_refused_with_a_message(server, alice):
    browser = Agent(server)
    answer = browser.login_attempt("alice", "Wrong-Passw0rd")
    assert answer.status_code == 401
    assert "登录名或密码不正确。" in answer.text
    assert not any(cookie.startswith(SESSION_COOKIE + "=") for cookie in set_cookies(answer))
    assert 'value="alice"' in answer.text  # the login name stays filled in
    assert browser.get().status_code == 303


class TestTheThrottleOnTheLoginPage:
    """On a stopped clock: the first wait is one second, which a slow machine's
    next login (form, token, password hash) may outlast on the real one."""

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    def test_the_throttle_reaches_the_login_page(self, server, alice):
        browser = Agent(server)
        for _ in range(FREE_FAILURES):
            assert browser.login_attempt("alice", "Wrong-Passw0rd").status_code == 401
        answer = browser.login_attempt("alice", PASSWORD)  # inside the wait: even the right password, now
        assert answer.status_code == 401
        assert re.search(r"登录尝试过于频繁，请 \d+ 秒后再试。", answer.text)
        assert not any(cookie.startswith(SESSION_COOKIE + "=") for cookie in set_cookies(answer))


def test_the_login_form_needs_its_token_and_the_own_origin(server, alice):
    browser = Agent(server)
    form = browser.get("login")
    token = CSRF_FIELD.search(form.text).group(1)
    no_token = browser.http.post(server.url + "login", data={"login": "alice", "password": PASSWORD},
                                 headers={"Origin": server.origin}, allow_redirects=False)
    assert no_token.status_code == 403 and "登录页已过期" in no_token.text
    fresh = CSRF_FIELD.search(browser.get("login").text).group(1)
    foreign = browser.http.post(server.url + "login", data={"login": "alice", "password": PASSWORD, "csrf": fresh},
                                headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert foreign.status_code == 403
    cookieless = requests.post(server.url + "login", data={"login": "alice", "password": PASSWORD, "csrf": token},
                               headers={"Origin": server.origin}, allow_redirects=False)
    assert cookieless.status_code == 403  # the token without its cookie is worthless
    assert not any(cookie.startswith(SESSION_COOKIE + "=")
                   for answer in (no_token, foreign, cookieless) for cookie in set_cookies(answer))


def test_logout_ends_the_session(server, db, alice):
    browser = agent_client(server, "alice")
    token = browser.http.cookies.get(SESSION_COOKIE)
    answer = browser.post("logout")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/webhooks/console/login")
    dropped = next(cookie for cookie in set_cookies(answer) if cookie.startswith(SESSION_COOKIE + "="))
    assert "Max-Age=0" in dropped
    assert "已退出登录" in browser.get("login?bye=1").text
    replayed = requests.get(server.url, cookies={SESSION_COOKIE: token}, allow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["Location"] == "/webhooks/console/login"
    assert requests.get(server.url + "api/queue", cookies={SESSION_COOKIE: token}).status_code == 401
    assert ("agent:alice", "agent_logout") in audit_actions(db)


# -- CSRF and origins ----------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_forbidden(server, service, alice, bob):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    assert browser.post(f"conversations/{handoff.id}/claim", csrf=False).status_code == 403
    wrong = browser.post(f"conversations/{handoff.id}/claim", csrf=False, data={"csrf": "x" * 43})
    assert wrong.status_code == 403 and "安全校验失败" in wrong.text
    # another session's token does not fit this session
    bob_token = agent_client(server, "bob").csrf
    assert browser.post(f"conversations/{handoff.id}/claim", csrf=False, data={"csrf": bob_token}).status_code == 403
    assert service.get(handoff.id).state == HandoffState.WAITING
    # the header works like the form field (the page script uses it)
    answer = browser.post(f"conversations/{handoff.id}/claim", csrf=False,
                          headers={"X-CSRF-Token": browser.csrf, "Accept": "application/json"})
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert service.get(handoff.id).agent_id == alice.id


def test_a_post_from_a_foreign_origin_is_forbidden(server, service, alice):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    assert browser.post(f"conversations/{handoff.id}/claim", origin="https://evil.example").status_code == 403
    assert browser.post(f"conversations/{handoff.id}/claim", origin="null").status_code == 403
    # no Origin: the Referer decides; neither: refused
    assert browser.post(f"conversations/{handoff.id}/claim", origin=None,
                        headers={"Referer": "https://evil.example/page"}).status_code == 403
    assert browser.post(f"conversations/{handoff.id}/claim", origin=None).status_code == 403
    assert browser.post("logout", origin="https://evil.example").status_code == 403
    assert service.get(handoff.id).state == HandoffState.WAITING
    same_site = browser.post(f"conversations/{handoff.id}/claim", origin=None,
                             headers={"Referer": server.url + f"conversations/{handoff.id}"})
    assert same_site.status_code == 303
    assert service.get(handoff.id).agent_id == alice.id


def test_a_post_without_a_session_goes_to_the_login(server, service):
    handoff = request_handoff(service)
    anonymous = Agent(server)
    assert anonymous.post(f"conversations/{handoff.id}/claim").headers["Location"] == "/webhooks/console/login"
    answer = anonymous.post(f"conversations/{handoff.id}/reply", data={"text": "hi"},
                            headers={"Accept": "application/json"})
    assert answer.status_code == 401


# -- the queue and the events --------------------------------------------------------------


def test_the_queue_lists_waiting_mine_and_for_admins_others_with_the_count_in_the_title(server, service, alice,
                                                                                       bob, admin):
    first = request_handoff(service, "user-1", {"problem": "收不到验证码"})
    second = request_handoff(service, "user-2", {"problem": "实名认证失败"}, reason="misunderstood")
    third = request_handoff(service, "user-3", {"problem": "忘记登录名"}, reason="flow_dead_end")
    service.claim(second.id, alice.id)
    service.claim(third.id, bob.id)
    page = agent_client(server, "alice").get().text
    assert "<title>(1) 排队与会话 - 客服工作台</title>" in page
    waiting = page[page.index('id="waiting-rows"'):page.index('id="mine-rows"')]
    mine = page[page.index('id="mine-rows"'):page.index('id="others-rows"')]
    others = page[page.index('id="others-rows"'):]
    assert f'data-handoff-id="{first.id}"' in waiting and "收不到验证码" in waiting and "网页" in waiting
    assert f'data-handoff-id="{second.id}"' in mine and "助手多次没有理解用户" in mine
    # (changed: every agent saw the others' conversations) only admins do
    assert f'data-handoff-id="{third.id}"' not in page and "其他客服接待中的会话只有管理员可以查看。" in others

    snapshot = agent_client(server, "bob").get("api/queue").json()
    assert [row["id"] for row in snapshot["waiting"]] == [first.id]
    assert [row["id"] for row in snapshot["mine"]] == [third.id]
    assert snapshot["others"] == []
    chief = agent_client(server, "chief")
    snapshot = chief.get("api/queue").json()
    assert [row["id"] for row in snapshot["others"]] == [second.id, third.id]
    assert [row["agent_name"] for row in snapshot["others"]] == ["张丽", "王波"]
    page = chief.get().text
    assert f'data-handoff-id="{third.id}"' in page[page.index('id="others-rows"'):] and "王波" in page


def test_the_events_feed_returns_what_came_after_an_id(server, service, alice):
    browser = agent_client(server, "alice")
    start = browser.get("events").json()
    assert start["events"] == [] and start["last_id"] == service.latest_event_id()
    handoff = request_handoff(service)
    service.claim(handoff.id, alice.id)
    feed = browser.get(f"events?after={start['last_id']}").json()
    assert [event["kind"] for event in feed["events"]] == ["created", "claimed"]
    assert all(event["handoff_id"] == handoff.id for event in feed["events"])
    assert feed["last_id"] == feed["events"][-1]["id"] and feed["more"] is False
    assert browser.get(f"events?after={feed['last_id']}").json()["events"] == []
    assert browser.get("events?after=soon").status_code == 400
    answer = browser.get(f"events?after={start['last_id']}")
    assert answer.headers["Cache-Control"] == "no-store"


# -- a conversation ----------------------------------------------------------------------


def test_two_agents_claiming_at_once_over_http_exactly_one_wins(server, service, alice, bob, delivered):
    agents = {"alice": agent_client(server, "alice"), "bob": agent_client(server, "bob")}
    for round_number in range(4):
        handoff = request_handoff(service, f"race-{round_number}")
        barrier = threading.Barrier(2)

        def claim(name: str) -> Tuple[str, requests.Response]:
            barrier.wait(timeout=30)
            return name, agents[name].post(f"conversations/{handoff.id}/claim")

        with ThreadPoolExecutor(2) as pool:
            results = dict(pool.map(claim, ["alice", "bob"]))
        statuses = sorted(answer.status_code for answer in results.values())
        assert statuses == [303, 403], statuses  # (changed from 409: the loser may not see it any more)
        winner = next(name for name, answer in results.items() if answer.status_code == 303)
        loser = results["bob" if winner == "alice" else "alice"]
        assert "已被其他客服接手" in loser.text
        assert results[winner].headers["Location"] == f"/webhooks/console/conversations/{handoff.id}"
        assert service.get(handoff.id).agent_name == {"alice": "张丽", "bob": "王波"}[winner]
        assert delivered["announce_agent"][-1] == (handoff.id, {"alice": "张丽", "bob": "王波"}[winner])
    assert len(delivered["announce_agent"]) == 4  # the user hears once per claim, never from the loser


def test_the_conversation_page_shows_the_summary_and_the_masked_transcript(server, service, alice):
    handoff = request_handoff(service, summary={"problem": "收不到验证码", "checked": ["预留手机号已绑定"],
                                                "found": "短信网关正常", "identity": "王*（wa*****88）"})
    service.record_user_message("user-1", "我的手机是 13812345678，身份证 110101199003071234")
    page = agent_client(server, "alice").get(f"conversations/{handoff.id}").text
    summary = page[page.index('data-testid="summary"'):page.index('data-testid="transcript"')]
    for label, value in (("用户的问题", "收不到验证码"), ("助手已核查", "预留手机号已绑定"),
                         ("核查结果", "短信网关正常"), ("用户身份（已脱敏）", "王*（wa*****88）"),
                         ("转人工原因", "用户要求转人工")):
        assert label in summary and value in summary
    assert "13812345678" not in page and "110101199003071234" not in page
    assert "排队中，等待客服接手。" in page
    # only the claim applies while waiting; the reply form is there but hidden
    assert 'data-needs="claim">' in page and 'data-needs="reply" hidden>' in page


def test_html_in_messages_and_summaries_is_shown_as_text(server, service, alice):
    handoff = request_handoff(service, summary={"problem": XSS, XSS: [XSS]})
    service.record_user_message("user-1", XSS)
    browser = agent_client(server, "alice")
    page = browser.get(f"conversations/{handoff.id}").text
    assert "<script>window.__xss" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;" in page
    queue = browser.get().text
    assert "<script>window" not in queue and "&lt;script&gt;window.__xss=1" in queue
    as_json = browser.get(f"api/conversations/{handoff.id}").json()
    assert as_json["messages"][-1]["text"] == XSS  # JSON carries the text; the page script writes it as text


def test_a_reply_is_stored_and_sent_to_the_user(server, service, alice, bob, delivered):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    assert browser.post(f"conversations/{handoff.id}/claim").status_code == 303
    answer = browser.post(f"conversations/{handoff.id}/reply", data={"text": "  您好，请换谷歌浏览器再试。 "})
    assert answer.status_code == 303
    assert delivered["send_to_user"] == [(handoff.id, "user-1", "您好，请换谷歌浏览器再试。", "张丽")]
    agent_messages = [m for m in service.transcript(handoff.id) if m.kind == AuthorKind.AGENT]
    assert [m.text for m in agent_messages] == ["您好，请换谷歌浏览器再试。"]
    page = browser.get(f"conversations/{handoff.id}").text
    assert "客服 张丽" in page and "您好，请换谷歌浏览器再试。" in page

    # only the assigned agent replies; an empty reply is refused with a reason
    other = agent_client(server, "bob").post(f"conversations/{handoff.id}/reply", data={"text": "我来"})
    assert other.status_code == 403 and "这个会话由其他客服接待" in other.text  # (changed from 409)
    assert "您好，请换谷歌浏览器再试。" not in other.text  # and no transcript with the refusal
    empty = browser.post(f"conversations/{handoff.id}/reply", data={"text": "   "})
    assert empty.status_code == 400 and "回复内容不能为空。" in empty.text
    assert len(delivered["send_to_user"]) == 1

    # the page script's way: JSON in, JSON out
    fetched = browser.post(f"conversations/{handoff.id}/reply", data={"text": "还有问题吗？"},
                           headers={"Accept": "application/json"})
    assert fetched.status_code == 200 and fetched.json() == {"ok": True, "warning": None}
    assert delivered["send_to_user"][-1][2] == "还有问题吗？"
    update = browser.get(f"api/conversations/{handoff.id}?after={agent_messages[-1].id}").json()
    assert [m["text"] for m in update["messages"]] == ["还有问题吗？"]
    assert update["handoff"]["can"] == {"claim": False, "reply": True, "manage": True, "note": True,
                                        "closed": False}


def test_a_failed_delivery_is_reported_to_the_agent(server, service, alice, monkeypatch):
    async def broken(app, handoff, text, agent_name):
        raise ConnectionError("widget down")

    monkeypatch.setattr(bridge, "send_to_user", broken)
    handoff = request_handoff(service)
    service.claim(handoff.id, alice.id)
    answer = agent_client(server, "alice").post(f"conversations/{handoff.id}/reply", data={"text": "您好"})
    assert answer.status_code == 200 and "发送给用户时出错" in answer.text


def test_a_note_stays_with_the_agents(server, service, alice, delivered):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    # notes are allowed before claiming too
    assert browser.post(f"conversations/{handoff.id}/note", data={"text": "用户之前来过两次"}).status_code == 303
    assert delivered["send_to_user"] == []
    notes = [m for m in service.transcript(handoff.id) if m.kind == AuthorKind.NOTE]
    assert [m.text for m in notes] == ["用户之前来过两次"]
    page = browser.get(f"conversations/{handoff.id}").text
    assert "内部备注 · 张丽（用户看不到）" in page and 'class="msg msg-note"' in page


def test_transfer_to_another_agent(server, service, db, alice, bob, directory, delivered):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    browser.post(f"conversations/{handoff.id}/claim")
    page = browser.get(f"conversations/{handoff.id}").text
    transfer_options = page[page.index('id="transfer-to"'):page.index("</select>", page.index('id="transfer-to"'))]
    assert f'value="{bob.id}"' in transfer_options and f'value="{alice.id}"' not in transfer_options
    answer = browser.post(f"conversations/{handoff.id}/transfer", data={"agent_id": str(bob.id)})
    assert answer.status_code == 303 and answer.headers["Location"] == "/webhooks/console/"  # not hers now
    assert service.get(handoff.id).agent_id == bob.id
    assert "会话由 张丽 转给 王波。" in [m.text for m in service.transcript(handoff.id)]
    # alice is no longer its agent: she cannot reply or read it (changed: 409, and she could read it)
    assert browser.post(f"conversations/{handoff.id}/reply", data={"text": "hi"}).status_code == 403
    assert browser.get(f"conversations/{handoff.id}").status_code == 403
    assert [row["id"] for row in agent_client(server, "bob").get("api/queue").json()["mine"]] == [handoff.id]
    refused = agent_client(server, "bob").post(f"conversations/{handoff.id}/transfer", data={"agent_id": ""})
    assert refused.status_code == 400 and "请选择要转给的客服。" in refused.text
    directory.disable("alice")
    gone = agent_client(server, "bob").post(f"conversations/{handoff.id}/transfer", data={"agent_id": str(alice.id)})
    assert gone.status_code == 400 and "要转给的客服不存在或已停用。" in gone.text
    assert delivered["send_to_user"] == []


def test_hand_back_and_resolve_give_the_conversation_back_to_the_assistant(server, service, alice, bob, admin,
                                                                          delivered):
    handed = request_handoff(service, "user-1")
    solved = request_handoff(service, "user-2")
    browser = agent_client(server, "alice")
    for handoff in (handed, solved):
        browser.post(f"conversations/{handoff.id}/claim")
    assert agent_client(server, "bob").post(f"conversations/{handed.id}/hand-back").status_code == 403  # was 409
    for handoff, action in ((handed, "hand-back"), (solved, "resolve")):
        answer = browser.post(f"conversations/{handoff.id}/{action}")
        assert answer.status_code == 303 and answer.headers["Location"] == "/webhooks/console/"
    assert delivered["give_back_to_assistant"] == [
        (handed.id, "user-1", HandoffState.RESOLVED, HandoffOutcome.HANDED_BACK),
        (solved.id, "user-2", HandoffState.RESOLVED, HandoffOutcome.RESOLVED),
    ]
    # (changed) closed conversations are for admins
    assert browser.get(f"conversations/{handed.id}").status_code == 403
    page = agent_client(server, "chief").get(f"conversations/{handed.id}").text
    assert "已结束：会话已交还智能助手。" in page and 'data-needs="closed">' in page
    again = browser.post(f"conversations/{solved.id}/resolve")
    assert again.status_code == 403 and "这个会话已经结束。" in again.text  # (changed from 409)
    assert len(delivered["give_back_to_assistant"]) == 2
    assert browser.get("conversations/999999").status_code == 404


def test_every_agent_action_is_in_the_audit_log(server, service, db, alice, bob):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    browser.post(f"conversations/{handoff.id}/claim")
    browser.post(f"conversations/{handoff.id}/reply", data={"text": "您好"})
    browser.post(f"conversations/{handoff.id}/note", data={"text": "备注"})
    browser.post(f"conversations/{handoff.id}/transfer", data={"agent_id": str(bob.id)})
    bob_browser = agent_client(server, "bob")
    bob_browser.post(f"conversations/{handoff.id}/resolve")
    bob_browser.post("logout")
    actions = audit_actions(db)
    for entry in [("agent:alice", "agent_login"), ("agent:alice", "handoff_claimed"),
                  ("agent:alice", "handoff_replied"), ("agent:alice", "handoff_noted"),
                  ("agent:alice", "handoff_transferred"), ("agent:bob", "agent_login"),
                  ("agent:bob", "handoff_resolved"), ("agent:bob", "agent_logout")]:
        assert entry in actions, entry


# -- canned replies ------------------------------------------------------------------------


def test_canned_replies_are_the_faq_answers_with_their_questions(server, service, alice):
    replies = canned_replies()
    assert {reply.key for reply in replies} == set(FAQ_TOPICS)
    sms = next(reply for reply in replies if reply.key == "sms_code")
    assert sms.title == FAQ_TOPICS["sms_code"] and "5 分钟" in sms.text
    handoff = request_handoff(service)
    service.claim(handoff.id, alice.id)
    page = agent_client(server, "alice").get(f"conversations/{handoff.id}").text
    assert f'<option value="sms_code" data-text="' in page and FAQ_TOPICS["sms_code"] in page


# -- reports and headers ------------------------------------------------------------------


def test_the_reports_page_draws_the_figures(server, service, alice):
    for number in range(3):
        handoff = request_handoff(service, f"user-{number}", reason="misunderstood" if number else "user_request")
        service.claim(handoff.id, alice.id)
        service.reply(handoff.id, alice.id, "您好")
        service.resolve(handoff.id, alice.id)
    service.rate("user-0", 5)
    service.rate("user-1", 4)
    browser = agent_client(server, "alice")
    page = browser.get("reports?days=7").text
    assert page.count("<svg") == 6 + 4  # the days', then the agents' charts
    assert 'id="chart-handoffs"' in page and 'id="chart-rating"' in page
    table = page[page.index('data-testid="report-table"'):]
    total = table[table.index("<tfoot>"):]
    assert re.search(r"<th scope=\"row\">合计</th><td>0</td><td>3</td><td>-</td><td>1</td><td>2</td>", total)
    assert "4.5（2）" in total
    handoffs_chart = page[page.index('id="chart-handoffs"'):page.index("</svg>", page.index('id="chart-handoffs"'))]
    assert ">3</text>" in handoffs_chart  # today's bar is labelled with its total
    assert "用户要求转人工：1" in page and "助手多次没有理解用户：2" in page  # the reasons chart
    assert browser.get("reports?days=0").status_code == 400
    assert browser.get("reports?days=abc").status_code == 400
    assert 'option value="30"' in browser.get("reports?days=30").text


def content_security_policy(header: str) -> Dict[str, List[str]]:
    """A Content-Security-Policy header as {directive: [sources]}, each directive once."""
    policy: Dict[str, List[str]] = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        assert name.lower() not in policy, f"{name} given twice"
        policy[name.lower()] = sources
    return policy


def test_every_page_has_the_security_headers(server, service, alice):
    handoff = request_handoff(service)
    browser = agent_client(server, "alice")
    for answer in (browser.get(), browser.get(f"conversations/{handoff.id}"), browser.get("reports"),
                   Agent(server).get("login"), browser.get("api/queue")):
        policy = content_security_policy(answer.headers["Content-Security-Policy"])
        # Only the console's own files: no inline or eval'd code, no other hosts,
        # no framing, and forms post only to the console.
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["connect-src"] == ["'self'"]
        assert set(policy["img-src"]) <= {"'self'", "data:"}
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        sources = [source for values in policy.values() for source in values]
        assert not [source for source in sources if "*" in source or source.startswith("'unsafe-")
                    or source in ("http:", "https:", "ws:", "wss:", "blob:") or "//" in source], sources
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for name, kind in (("console.js", "application/javascript"), ("console.css", "text/css")):
        static = browser.get(f"static/{name}")
        assert static.status_code == 200 and static.headers["Content-Type"].startswith(kind)
        assert static.headers["X-Content-Type-Options"] == "nosniff"
    assert browser.get("static/../console.py").status_code == 404
    assert browser.get("static/secrets.txt").status_code == 404
    page = browser.get(f"conversations/{handoff.id}").text
    assert "<script>" not in page and " style=" not in page  # nothing inline: the policy forbids it
