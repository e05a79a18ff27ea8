"""The REST channel, for integrations: a bearer token, request validation,
and conversations of its own.

Rasa's own REST channel answers a malformed body with a server error, puts
every request without a ``sender`` into one shared conversation called
"default", and returns an empty list when handling fails.  This channel keeps
the same URL and reply format but

* requires ``Authorization: Bearer <REST_API_TOKEN>`` (HTTP 401 otherwise),
  unless ``REST_OPEN_LOCALLY=true`` opens it to this machine for local
  development (:class:`RestAccess`);
* speaks only in REST conversations: the client's ``sender`` becomes the
  conversation ``rest:<sender>`` (bot/channels/conversation_ids.py), so no
  request reaches a widget's or a Telegram chat's conversation;
* refuses bad requests with HTTP 400 and a reason, and reports failures
  instead of hiding them (bot/channels/turns.py): when an action call failed
  (the message is stored in the conversation) the reply is 200 and ends
  with the busy message; when the message could not be handled at all (the
  conversation or lock store is down, the server is shutting down, or it is
  saturated and sheds the turn, or the request waited too long to reach it:
  bot/channels/load_shedding.py, bot/channels/request_age.py) the answer is
  503 with ``{"error": ..., "message": <busy message>}`` and ``Retry-After``:
  nothing was stored, the client sends it again;
* hands the client's address (bot/channels/client_address.py, with
  ``TRUSTED_PROXIES``) to the actions in the message metadata, overwriting
  whatever the client put under that key.

``POST /webhooks/rest/upload`` (multipart ``sender`` and ``file``, same token)
stores a document photo for the client's conversation, as the widget's upload
does for its own.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import config
from bot.channels.busy import BUSY_TEXT, REFUSED_BODY, RETRY_AFTER_SECONDS
from bot.channels.client_address import CLIENT_ADDRESS_METADATA, client_address
from bot.channels.common import bound_request_size, stored_file_reply
from bot.channels.conversation_ids import MAX_REST_CLIENT_ID_CHARS, rest_conversation
from bot.channels.request_age import waited_seconds
from bot.channels.turns import Outcome, intake

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
# Headers a proxy adds: a request carrying one did not start on this machine.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


class BadRequest(ValueError):
    """The request cannot be handled; the message says why, for the client."""


class RestSetupError(ValueError):
    """The REST settings cannot work safely; the message says what to change."""


@dataclass(frozen=True)
class RestAccess:
    """Who may use the REST channel: holders of ``REST_API_TOKEN``; with
    ``REST_OPEN_LOCALLY=true`` also, without a token, any program on this
    machine (a request from a loopback address that no proxy forwarded).

    No token and not opened: the channel refuses every request (401)."""

    token: str = ""
    open_locally: bool = False

    @classmethod
    def from_config(cls, environ: Optional[Mapping[str, str]] = None) -> "RestAccess":
        flag = config.get("REST_OPEN_LOCALLY", environ).strip().lower()
        if flag not in TRUE_WORDS + FALSE_WORDS:
            raise RestSetupError(f"REST_OPEN_LOCALLY must be true or false, got {flag!r}")
        return cls(token=config.get("REST_API_TOKEN", environ).strip(), open_locally=flag in TRUE_WORDS)

    def check(self) -> None:
        """Refuses, at start-up, a token anyone could guess."""
        if self.token and (len(self.token) < config.MIN_SECRET_LENGTH or not self.token.isascii() or " " in self.token):
            raise RestSetupError(
                f"REST_API_TOKEN must be at least {config.MIN_SECRET_LENGTH} ASCII characters without spaces, e.g. "
                'from `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
            )

    def warnings(self) -> List[str]:
        """What an operator must know about these settings, one sentence each (none in production)."""
        if self.open_locally:
            return [
                "REST_OPEN_LOCALLY=true: the REST channel answers any program on this machine without a "
                "token. For local development only (make run): behind a proxy on the same machine every "
                "request looks local. In production set REST_OPEN_LOCALLY=false and REST_API_TOKEN."
            ]
        if not self.token:
            return ["REST_API_TOKEN is empty: the REST channel refuses every request (HTTP 401)."]
        return []

    def allows(self, headers: Mapping[str, str], peer: str) -> bool:
        """May a request with these headers, from the address ``peer``, use the channel?"""
        presented = bearer_token(headers.get("authorization"))
        if presented is not None and self.token:
            return hmac.compare_digest(presented.encode("utf-8"), self.token.encode("utf-8"))
        return self.open_locally and is_loopback(peer) and not any(name in headers for name in FORWARDING_HEADERS)


def bearer_token(authorization: Optional[str]) -> Optional[str]:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def busy_reply() -> HTTPResponse:
    """The message was neither handled nor stored (a store is down, the server is shutting
    down or saturated): 503 with the user's busy message; the client sends it again."""
    return response.json(
        REFUSED_BODY,
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unauthorized() -> HTTPResponse:
    return response.json(
        {"error": "the REST channel needs the header 'Authorization: Bearer <REST_API_TOKEN>'"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="rest"'},
    )


@dataclass(frozen=True)
class IncomingMessage:
    sender_id: str
    text: str
    metadata: Optional[Dict[str, Any]]


def parse_request_body(body: bytes) -> IncomingMessage:
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"body is not valid UTF-8 JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequest('body must be a JSON object like {"sender": "...", "message": "..."}')
    return IncomingMessage(
        sender_id=parse_sender(payload),
        text=_text_from(payload),
        metadata=_metadata_from(payload),
    )


def parse_sender(payload: Dict[str, Any]) -> str:
    """The REST conversation the client names: ``rest:<sender>``."""
    sender = payload.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    try:
        if not isinstance(sender, str):
            raise ValueError(sender)
        return rest_conversation(sender)
    except ValueError:
        raise BadRequest(
            f'"sender" is required: 1-{MAX_REST_CLIENT_ID_CHARS} letters, digits or _ - . : @ '
            "identifying the conversation"
        ) from None


def _text_from(payload: Dict[str, Any]) -> str:
    if "message" not in payload:
        raise BadRequest('"message" is required (a string, may be empty)')
    text = payload["message"]
    if not isinstance(text, str):
        raise BadRequest('"message" must be a string')
    return text


def _metadata_from(payload: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest('"metadata" must be a JSON object when given')
    return metadata


class ValidatingRestInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        # The token stays in the environment (bot/config.py), not in credentials.yml.
        return cls()

    def __init__(self, access: Optional[RestAccess] = None) -> None:
        self.access = access if access is not None else RestAccess.from_config()
        self.access.check()
        for warning in self.access.warnings():
            logger.warning(warning)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("validating_rest_webhook", __name__)
        bound_request_size(webhook)
        receive_message = intake(on_new_message)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/upload", methods=["POST"])
        async def upload(request: Request) -> HTTPResponse:
            if not self._allowed(request):
                return unauthorized()
            try:
                conversation = parse_sender({"sender": (request.form or {}).get("sender")})
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            return await stored_file_reply(request, conversation)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._allowed(request):
                return unauthorized()
            try:
                incoming = parse_request_body(request.body or b"")
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            collector = CollectingOutputChannel()
            # The client address is the channel's to say: a client's own value is overwritten.
            metadata = {**(incoming.metadata or {}), CLIENT_ADDRESS_METADATA: client_address(request)}
            outcome = await receive_message(
                UserMessage(
                    incoming.text,
                    collector,
                    incoming.sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                ),
                waited_seconds(request),
            )
            if outcome is Outcome.REFUSED:
                return busy_reply()
            if outcome is Outcome.DEGRADED:
                await collector.send_text_message(incoming.sender_id, BUSY_TEXT)
            return response.json(collector.messages)

        return webhook

    def _allowed(self, request: Request) -> bool:
        return self.access.allows(request.headers, request.ip)
