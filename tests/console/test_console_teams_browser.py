"""A support agent's shift in headless Chromium (issue 14 items 3–5): she logs
in, sets herself 在线, and a user's handoff about her team's problem is
routed and auto-assigned to her by the real ``action_request_human`` while
her console tab is in the background: a desktop notification fires.  A
second user's problem belongs to a team nobody of which is online: that user
hears so at once, with the service hours, and when nobody has claimed it
within HANDOFF_WEBHOOK_MINUTES the signed webhook reaches a local receiver
the test starts — once, although two console processes sweep.

The console runs as in test_console.py (the blueprint on small Sanic apps over
the ``services`` fixture, the delivery bridge replaced by recorders), on a
clock the test can move forward."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionRequestHuman
from bot.console.channel import AgentConsoleInput
from bot.handoff.models import HandoffState
from bot.store import utcnow
from tests.console.console_server import ConsoleServer
from tests.console.test_console import delivered  # noqa: F401  (the bridge replaced by recorders)
from tests.handoff.conftest import PASSWORD
from tests.servers import free_port
from tests.trackers import action, user

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-" + "x" * 24
# Headless Chromium reports every tab visible; a background tab reports "hidden". This makes
# the console's tab report what the test says, and records what the Notification API is given.
INIT_SCRIPT = """
(() => {
  window.__hidden = false;
  Object.defineProperty(document, "visibilityState", { get: () => window.__hidden ? "hidden" : "visible" });
  Object.defineProperty(document, "hidden", { get: () => window.__hidden });
  window.__notifications = [];
  const Real = window.Notification;
  function Recorded(title, options) {
    window.__notifications.push({ title: title, body: (options || {}).body || "" });
    return new Real(title, options);
  }
  Recorded.requestPermission = Real.requestPermission.bind(Real);
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  window.Notification = Recorded;
})();
"""


class MovableClock:
    """The real time, plus whatever the test moved it forward by."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class Receiver:
    """A local HTTP server standing in for a WeCom/DingTalk group robot."""

    def __init__(self) -> None:
        self.posts: List[Dict[str, Any]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "headers": dict(self.headers), "raw": raw,
                                 "body": json.loads(raw)})
                answer = b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def receiver(monkeypatch) -> Iterator[Receiver]:
    with Receiver() as running:
        monkeypatch.setenv("HANDOFF_WEBHOOK_URL", f"http://127.0.0.1:{running.port}/robot/send?access_token=T")
        monkeypatch.setenv("HANDOFF_WEBHOOK_MINUTES", "5")
        monkeypatch.setenv("HANDOFF_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("SUPPORT_HOURS", "always")
        yield running


@pytest.fixture
def replicas(services, delivered, receiver):  # noqa: F811
    """Two console processes' worth of blueprints on one database, each sweeping every 0.3 s."""
    with ConsoleServer(AgentConsoleInput(sweep_seconds=0.3)) as first, \
            ConsoleServer(AgentConsoleInput(sweep_seconds=0.3)) as second:
        yield first, second


def ask_for_a_person(sender: str, problem_text: str, intent: str) -> str:
    """The user's turns as the real action sees them: a problem, the assistant's answer, 转人工."""
    events = [user(problem_text, intent), action(f"utter_{intent}"), user("转人工", "request_human")]
    for event in events:
        if event["event"] == "user":
            event["input_channel"] = "widget"
    latest = dict(events[-1]["parse_data"], text="转人工")
    dispatcher = CollectingDispatcher()
    tracker = Tracker(sender, {}, latest, events, False, None, {}, "action_listen")
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, ActionRequestHuman().run(dispatcher, tracker, {})).result(timeout=30)
    return dispatcher.messages[0]["text"]


def test_an_agent_online_is_assigned_her_teams_handoff_notified_and_the_unclaimed_one_reaches_the_webhook(
        services, replicas, receiver, clock, delivered):  # noqa: F811
    from playwright.sync_api import expect

    from tests.browser import DESKTOP, chromium

    teams, directory = services.teams, services.agents
    directory.create("alice", "张丽", PASSWORD)
    teams.create("自然人账号")
    teams.create("法人账号")
    teams.add_member("自然人账号", "alice")
    teams.route("realname_failed", "自然人账号")
    teams.route("unit_already_registered", "法人账号")
    console = replicas[0]

    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        context.grant_permissions(["notifications"], origin=console.origin)
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        problems: List[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(console.url + "login")
        page.get_by_label("登录名").fill("alice")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_title("排队与会话 - 客服工作台")
        expect(page.get_by_test_id("notify-toggle")).to_have_text("桌面通知已开启")  # permission granted
        page.get_by_test_id("presence-online").click()
        expect(page.get_by_test_id("presence-online")).to_have_attribute("aria-pressed", "true")
        assert services.agents.by_login("alice").presence.value == "online"
        page.evaluate("() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); }")

        # 1. her team's problem: routed, auto-assigned, the user told who; the background tab notifies
        told = ask_for_a_person("widget-a", "实名认证一直失败", "realname_failed")
        mine = services.handoffs.open_handoff("widget-a")
        assert told == "好的，已为您接入人工客服 张丽，请直接向客服说明您的情况。"
        assert (mine.state, mine.team_name, mine.agent_name) == (HandoffState.ASSIGNED, "自然人账号", "张丽")
        row = page.get_by_test_id("mine-row")
        expect(row).to_have_count(1, timeout=10_000)
        expect(row).to_contain_text("自然人账号")
        page.wait_for_function("() => window.__notifications.length >= 1", timeout=10_000)
        first = page.evaluate("() => window.__notifications[0]")
        assert first == {"title": f"已为您分配会话 #{mine.id}", "body": "自然人账号：用户在等您回复。"}

        # 2. another team's problem, nobody of it online: the user hears it at once, with the hours
        told = ask_for_a_person("widget-b", "单位信用代码已被注册", "unit_already_registered")
        other = services.handoffs.open_handoff("widget-b")
        assert other.state == HandoffState.WAITING and other.team_name == "法人账号"
        assert "负责这类问题的法人账号客服现在都不在线" in told and "人工服务时间：全天 24 小时" in told
        expect(page.get_by_test_id("waiting-row")).to_contain_text("法人账号", timeout=10_000)
        page.wait_for_function("() => window.__notifications.length >= 2", timeout=10_000)
        assert page.evaluate("() => window.__notifications[1].title") == f"新的转人工会话 #{other.id}"
        # with the tab in front, the page itself tells (row, sound, title): no desktop notification
        page.evaluate("() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); }")
        ask_for_a_person("widget-c", "单位账号已存在", "unit_already_registered")
        expect(page.get_by_test_id("waiting-row")).to_have_count(2, timeout=10_000)
        expect(page).to_have_title("(2) 排队与会话 - 客服工作台")
        assert page.evaluate("() => window.__notifications.length") == 2
        assert services.handoffs.cancel("widget-c")  # that user goes back to the assistant
        assert not problems, problems

        # 3. nobody claims it for 5 minutes: the webhook, once, although two processes sweep
        time.sleep(1)
        assert receiver.posts == []  # not yet
        clock.advance(minutes=5)
        deadline = time.monotonic() + 10
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # several more sweeps of both processes
        context.close()

    assert len(receiver.posts) == 1, receiver.posts
    [post] = receiver.posts
    assert post["path"].startswith("/robot/send?access_token=T&timestamp=")
    timestamp = post["headers"]["X-Handoff-Timestamp"]
    assert post["headers"]["X-Handoff-Signature"] == hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + post["raw"], hashlib.sha256).hexdigest()
    assert post["body"]["msgtype"] == "text" and post["body"]["handoff"]["id"] == other.id
    assert post["body"]["handoff"]["team"] == "法人账号" and post["body"]["handoff"]["waiting_minutes"] == 5
    assert re.search(rf"/webhooks/console/conversations/{other.id}$", post["body"]["handoff"]["url"])
    assert services.handoffs.get(mine.id).state == HandoffState.ASSIGNED  # the assigned one never went out
