"""The SMS gateway: every message is recorded in the outbox table, and with the
HTTP backend also handed to the provider.

Backends (``SMS_BACKEND``):

* ``outbox`` (default): the stand-in for a phone in development and tests:
  the message is stored whole, and ``python -m bot sms outbox`` shows what was
  "delivered".
* ``http``: POST ``{"phone": "...", "text": "..."}`` as JSON to
  ``SMS_HTTP_URL`` with ``Authorization: Bearer SMS_HTTP_TOKEN``; any 2xx
  counts as sent.  A failure raises ``SmsFailed`` so the caller's
  transaction (e.g. the code it was sending) is rolled back.  Once sent, the
  text is kept nowhere: the outbox row keeps the phone, the purpose and the
  status, and ``SENT_TEXT_NOT_KEPT`` in place of the text.

The log names the purpose and the masked phone only, never the text: a code
(or a login name) must not end up in log files.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Optional

import requests
from sqlalchemy.orm import Session

from bot import config
from bot.accounts.masking import mask_phone
from bot.accounts.models import SmsMessage

logger = logging.getLogger(__name__)
SIGNATURE = "【科技部政务服务平台】"
SENT_TEXT_NOT_KEPT = "（已交给短信服务商发送，正文不保存）"


class SmsFailed(RuntimeError):
    pass


class SmsGateway:
    """Stores the message in the outbox; subclasses also deliver it."""

    def send(self, session: Session, phone: str, text: str, purpose: str, now: datetime) -> SmsMessage:
        message = SmsMessage(phone=phone, text=SIGNATURE + text, purpose=purpose, status="stored", created_at=now)
        self.deliver(message)
        session.add(message)
        session.flush()
        logger.info("SMS %s to %s (%s)", purpose, mask_phone(phone), message.status)
        return message

    def deliver(self, message: SmsMessage) -> None:
        """The outbox backend delivers nothing: the stored text is what the phone would show."""


class HttpSmsGateway(SmsGateway):
    def __init__(self, url: str, token: str = "", post: Callable[..., requests.Response] = requests.post) -> None:
        if not url:
            raise ValueError("SMS_BACKEND=http needs SMS_HTTP_URL")
        self.url, self.token, self._post = url, token, post

    def deliver(self, message: SmsMessage) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            reply = self._post(
                self.url, json={"phone": message.phone, "text": message.text}, headers=headers, timeout=10
            )
        except requests.RequestException as error:
            raise SmsFailed(f"SMS provider unreachable: {error}") from None
        if not 200 <= reply.status_code < 300:
            raise SmsFailed(f"SMS provider answered HTTP {reply.status_code}")
        message.status = "sent"
        message.text = SENT_TEXT_NOT_KEPT  # the provider has it; a code or a login name stays nowhere here


def gateway_from_settings(backend: Optional[str] = None) -> SmsGateway:
    backend = backend or config.get("SMS_BACKEND")
    if backend == "outbox":
        return SmsGateway()
    if backend == "http":
        return HttpSmsGateway(config.get("SMS_HTTP_URL"), config.get("SMS_HTTP_TOKEN"))
    raise ValueError(f"SMS_BACKEND must be outbox or http, not {backend!r}")
