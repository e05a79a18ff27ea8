"""The unclaimed-handoff webhook: a JSON POST to ``HANDOFF_WEBHOOK_URL`` when
a handoff has waited ``HANDOFF_WEBHOOK_MINUTES`` without an agent.

Contract:

* :func:`send_due_webhooks` is one sweep (the Rasa servers run it in the
  background, ``bot.console.channel``; never inside a user's turn): each due
  handoff is taken with ``HandoffService.take_webhook`` (of several processes
  exactly one gets it), POSTed, and marked sent on success; a failed send is
  retried by a later sweep (``WEBHOOK_LEASE``, at most ``WEBHOOK_ATTEMPTS``).
* The body works as is for WeCom (企业微信) and DingTalk (钉钉) group robots,
  whose address carries their key or access_token: ``msgtype`` ``text`` with
  ``text.content``; other receivers read ``event`` and ``handoff``.  No user
  words leave the assistant: the problem is the topic's question from
  ``bot.topics``, never the summary or the transcript.
* With ``HANDOFF_WEBHOOK_SECRET`` each POST is signed: headers
  ``X-Handoff-Timestamp`` (milliseconds) and ``X-Handoff-Signature`` (hex
  HMAC-SHA256 of ``<timestamp>.<body>``), and DingTalk's ``timestamp`` and
  ``sign`` query parameters (base64 HMAC-SHA256 of ``<timestamp>\\n<secret>``).
* Each POST times out after ``TIMEOUT_SECONDS``; a 2xx answer is success unless
  its JSON carries a non-zero ``errcode`` (how the robots refuse).  Logs name
  the receiver's host only: its address holds the robot's key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote_plus, urlsplit

import requests

from bot import config
from bot.handoff.labels import CHANNEL_LABELS, REASON_LABELS
from bot.handoff.service import HandoffService, HandoffView
from bot.topics import topic_for

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
EVENT = "handoff_unclaimed"


def webhook_delay() -> timedelta:
    """HANDOFF_WEBHOOK_MINUTES (0 or more)."""
    minutes = config.get_int("HANDOFF_WEBHOOK_MINUTES")
    if minutes < 0:
        raise ValueError(f"setting HANDOFF_WEBHOOK_MINUTES must be 0 or more, got {minutes}")
    return timedelta(minutes=minutes)


def payload(handoff: HandoffView, now: datetime, console_url: str) -> Dict[str, Any]:
    """The JSON body for one unclaimed handoff."""
    minutes = max(0, int((now - handoff.created_at).total_seconds() // 60))
    topic = topic_for(handoff.topic or "")
    problem = topic.question if topic else "未识别的问题"
    team = handoff.team_name or "未分组"
    url = f"{console_url.rstrip('/')}/conversations/{handoff.id}"
    content = (
        f"【转人工无人接手】会话 #{handoff.id} 已等待 {minutes} 分钟。\n"
        f"团队：{team}\n问题：{problem}\n原因：{REASON_LABELS[handoff.reason]}\n"
        f"渠道：{CHANNEL_LABELS.get(handoff.channel, handoff.channel)}\n请尽快处理：{url}"
    )
    return {
        "msgtype": "text",
        "text": {"content": content},
        "event": EVENT,
        "handoff": {
            "id": handoff.id,
            "team": handoff.team_name,
            "topic": handoff.topic,
            "problem": problem,
            "reason": handoff.reason.value,
            "channel": handoff.channel,
            "waiting_minutes": minutes,
            "created_at": handoff.created_at.isoformat() + "Z",
            "url": url,
        },
    }


@dataclass(frozen=True)
class WebhookSender:
    url: str
    secret: str = ""
    post: Callable[..., requests.Response] = requests.post

    @classmethod
    def from_settings(cls) -> Optional["WebhookSender"]:
        """None when HANDOFF_WEBHOOK_URL is empty (no webhook)."""
        url = config.get("HANDOFF_WEBHOOK_URL").strip()
        if not url:
            return None
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("setting HANDOFF_WEBHOOK_URL must be an http:// or https:// address")
        return cls(url, config.get("HANDOFF_WEBHOOK_SECRET"))

    def send(self, body: Dict[str, Any]) -> bool:
        """POSTs ``body``; True when the receiver took it."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        url, headers = self.url, {"Content-Type": "application/json; charset=utf-8"}
        if self.secret:
            timestamp = str(int(time.time() * 1000))
            key = self.secret.encode("utf-8")
            headers["X-Handoff-Timestamp"] = timestamp
            headers["X-Handoff-Signature"] = hmac.new(key, timestamp.encode() + b"." + data, hashlib.sha256).hexdigest()
            ding = base64.b64encode(hmac.new(key, f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest())
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={quote_plus(ding.decode())}"
        host = urlsplit(self.url).hostname
        try:
            answer = self.post(url, data=data, headers=headers, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:
            logger.warning("handoff webhook to %s failed: %s", host, type(error).__name__)
            return False
        if not 200 <= answer.status_code < 300:
            logger.warning("handoff webhook to %s answered HTTP %s", host, answer.status_code)
            return False
        try:
            refused = (answer.json() or {}).get("errcode", 0) not in (0, None)
        except (ValueError, AttributeError):
            refused = False  # not JSON (or not an object): a plain receiver's 2xx is success
        if refused:
            logger.warning("handoff webhook to %s refused: errcode %s", host, answer.json().get("errcode"))
        return not refused


def send_due_webhooks(handoffs: HandoffService, sender: WebhookSender, console_url: str) -> int:
    """One sweep: sends the webhook of each handoff due now that this process takes; how many were sent."""
    delay = webhook_delay()
    sent = 0
    for handoff_id in handoffs.webhooks_due(delay):
        handoff = handoffs.take_webhook(handoff_id, delay)
        if handoff is None:
            continue  # another process has it
        if sender.send(payload(handoff, handoffs.now(), console_url)):
            handoffs.webhook_sent(handoff_id)
            sent += 1
    return sent
