"""The REST channel, with request validation.

Rasa's own REST channel answers a malformed body with a server error, puts
every request without a ``sender`` into one shared conversation called
"default", and returns an empty list when handling fails.  This channel keeps
the same URL and reply format but refuses bad requests with HTTP 400 and a
reason, and reports failures instead of hiding them.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.handoff_bridge import handoff_aware

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
_SENDER_PATTERN = re.compile(r"^[\w\-.:@]{1,128}$")


class BadRequest(ValueError):
    """The request cannot be handled; the message says why, for the client."""


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
    sender = payload.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not _SENDER_PATTERN.match(sender):
        raise BadRequest('"sender" is required: 1-128 letters, digits or _ - . : @ identifying the conversation')
    return sender


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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("validating_rest_webhook", __name__)
        on_new_message = handoff_aware(on_new_message)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                incoming = parse_request_body(request.body or b"")
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        incoming.text,
                        collector,
                        incoming.sender_id,
                        input_channel=self.name(),
                        metadata=incoming.metadata,
                    )
                )
            except Exception:  # noqa: BLE001 - the client must hear about any failure
                logger.exception("Handling a REST message failed")
                return response.json(
                    {"error": "the assistant could not handle this message; please retry"},
                    status=500,
                )
            return response.json(collector.messages)

        return webhook
