"""The unclaimed-handoff webhook (bot/handoff/webhook.py) on SQLite and
PostgreSQL: due after HANDOFF_WEBHOOK_MINUTES, taken by exactly one process,
sent once, retried after a failure, never for a claimed handoff; the body
(WeCom/DingTalk robots' text message, no user words), the signature, timeouts
and refusals.  The POST to a real receiver: tests/console/test_console_teams_browser.py."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bot.handoff.service import WEBHOOK_ATTEMPTS, WEBHOOK_LEASE, HandoffService
from bot.handoff.teams import TeamDirectory
from bot.handoff.webhook import WebhookSender, payload, send_due_webhooks
from bot.store import Database
from tests.handoff.conftest import SUMMARY

CONSOLE = "https://assistant.example.gov.cn/webhooks/console/"
SECRET = "SEC" + "0123456789abcdef" * 4


class Receiver:
    """A stand-in for requests.post that records what was sent and answers as told."""

    def __init__(self, status: int = 200, answer: Any = None, error: Exception = None) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.status, self.answer, self.error = status, answer, error

    def __call__(self, url: str, data: bytes, headers: Dict[str, str], timeout: float) -> requests.Response:
        self.calls.append({"url": url, "body": json.loads(data), "raw": data, "headers": headers,
                           "timeout": timeout})
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.answer if self.answer is not None else {"errcode": 0}).encode()
        return response


@pytest.fixture(autouse=True)
def five_minutes(monkeypatch):
    monkeypatch.setenv("HANDOFF_WEBHOOK_MINUTES", "5")


def waiting(service: HandoffService, sender: str = "u1", topic: str = "realname_failed"):
    summary = dict(SUMMARY, last_messages=["我的身份证号 110101199003074578 认证失败"])
    return service.request(sender, "telegram", "user_request", summary, topic)


def test_a_handoff_unclaimed_for_n_minutes_is_sent_once(service, clock, database):
    TeamDirectory(database, clock=clock).create("自然人账号", default=True)
    handoff = waiting(service)
    receiver = Receiver()
    sender = WebhookSender("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", post=receiver)
    clock.advance(minutes=4, seconds=59)
    assert send_due_webhooks(service, sender, CONSOLE) == 0
    clock.advance(seconds=1)
    assert send_due_webhooks(service, sender, CONSOLE) == 1
    assert send_due_webhooks(service, sender, CONSOLE) == 0  # once
    clock.advance(hours=1)
    assert send_due_webhooks(service, sender, CONSOLE) == 0
    [call] = receiver.calls
    assert call["url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"  # the robot's key, unsigned
    assert call["timeout"] == 5.0
    body = call["body"]
    assert body["msgtype"] == "text" and body["event"] == "handoff_unclaimed"
    assert body["handoff"] == {
        "id": handoff.id, "team": "自然人账号", "topic": "realname_failed", "problem": "实名认证失败",
        "reason": "user_request", "channel": "telegram", "waiting_minutes": 5,
        "created_at": handoff.created_at.isoformat() + "Z", "url": CONSOLE + f"conversations/{handoff.id}",
    }
    content = body["text"]["content"]
    assert f"会话 #{handoff.id} 已等待 5 分钟" in content and "团队：自然人账号" in content
    assert "问题：实名认证失败" in content and CONSOLE + f"conversations/{handoff.id}" in content
    assert "1101" not in json.dumps(body, ensure_ascii=False)  # no user words leave the assistant


def test_a_claimed_or_cancelled_handoff_is_never_sent(service, clock, alice):
    claimed, cancelled = waiting(service, "u1"), waiting(service, "u2")
    service.claim(claimed.id, alice.id)
    service.cancel("u2")
    clock.advance(minutes=10)
    receiver = Receiver()
    assert send_due_webhooks(service, WebhookSender("http://robot.local/", post=receiver), CONSOLE) == 0
    assert receiver.calls == [] and cancelled.id


def test_of_two_processes_exactly_one_takes_the_send(service, clock, database):
    handoff = waiting(service)
    clock.advance(minutes=6)
    other = Database(database.url)
    try:
        second = HandoffService(other, clock=clock)
        delay = timedelta(minutes=5)
        assert service.webhooks_due(delay) == second.webhooks_due(delay) == [handoff.id]
        taken = [service.take_webhook(handoff.id, delay), second.take_webhook(handoff.id, delay)]
        assert [view is not None for view in taken] == [True, False]
        assert second.webhooks_due(delay) == []  # being sent
    finally:
        other.dispose()


def test_a_failed_send_is_retried_after_the_lease_a_few_times(service, clock):
    waiting(service)
    clock.advance(minutes=5)
    failing = Receiver(error=requests.ConnectTimeout("slow robot"))
    sender = WebhookSender("http://robot.local/", post=failing)
    assert send_due_webhooks(service, sender, CONSOLE) == 0
    assert send_due_webhooks(service, sender, CONSOLE) == 0 and len(failing.calls) == 1  # leased
    for _ in range(WEBHOOK_ATTEMPTS + 2):
        clock.advance(seconds=WEBHOOK_LEASE.total_seconds())
        send_due_webhooks(service, sender, CONSOLE)
    assert len(failing.calls) == WEBHOOK_ATTEMPTS  # then it gives up


def test_a_refusing_robot_and_http_errors_count_as_failures(service, clock):
    waiting(service)
    clock.advance(minutes=5)
    for refusing in (Receiver(answer={"errcode": 93000, "errmsg": "invalid webhook url"}), Receiver(status=500)):
        assert not WebhookSender("http://robot.local/", post=refusing).send({"msgtype": "text"})
    assert WebhookSender("http://robot.local/", post=Receiver(answer=["ok"])).send({"msgtype": "text"})


def test_with_a_secret_each_post_is_signed_for_dingtalk_and_any_receiver(service, clock):
    handoff = waiting(service)
    receiver = Receiver()
    sender = WebhookSender("https://oapi.dingtalk.com/robot/send?access_token=T", SECRET, post=receiver)
    assert sender.send(payload(service.get(handoff.id), clock(), CONSOLE))
    [call] = receiver.calls
    query = parse_qs(urlsplit(call["url"]).query)
    timestamp = call["headers"]["X-Handoff-Timestamp"]
    assert query["access_token"] == ["T"] and query["timestamp"] == [timestamp]
    expected_sign = base64.b64encode(hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(),
                                              hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected_sign]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + call["raw"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Handoff-Signature"] == expected


def test_the_settings_are_checked(monkeypatch):
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", "")
    assert WebhookSender.from_settings() is None
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", "ftp://robot.local/")
    with pytest.raises(ValueError, match="HANDOFF_WEBHOOK_URL"):
        WebhookSender.from_settings()
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", "https://robot.local/hook?key=1")
    monkeypatch.setenv("HANDOFF_WEBHOOK_SECRET", SECRET)
    assert WebhookSender.from_settings() == WebhookSender("https://robot.local/hook?key=1", SECRET)
