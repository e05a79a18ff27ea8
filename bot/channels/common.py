"""What every channel shares: the one way a file reaches the account flows,
and the origins a page may talk to the assistant from.

A channel stores the user's file with :func:`store_upload` (same checks for
the web widget, Telegram and REST) and then hands the conversation the message
:data:`SEND_FILE_TEXT` with :func:`upload_metadata`; the flow engine picks the
upload up from there.  Identity travels the same way on every channel: the
platform's signed token under ``identity_token`` in the message metadata.
The channels take their services from ``bot.services.services()``.
Channels that take uploads bound the request size with
:func:`bound_request_size`.  The upload routes refuse in the language of the
form's ``language`` field (:func:`upload_refusal`, catalogue ``channels``); a
body too large to read is refused in every language.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, Optional, Set
from urllib.parse import urlsplit

from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import config
from bot.accounts.checks import InvalidInput
from bot.accounts.models import Upload
from bot.accounts.uploads import megabytes
from bot.language import language_of, tr, tr_every
from bot.services import services

SEND_FILE_TEXT = "/send_file"


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Hashing and database work off the event loop, so chats keep flowing."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def bound_request_size(routes: Blueprint) -> None:
    """The server a channel's routes run on reads no request body larger than
    ``config.max_request_bytes()`` (the largest photo plus multipart overhead):
    Sanic answers 413 from the Content-Length, or as soon as a chunked body
    passes the limit, before the handler or any middleware runs.  Set when the
    server starts, however it was started (``rasa run`` builds the app)."""

    @routes.listener("before_server_start")
    async def limit(app: Sanic, _loop: Any) -> None:
        app.config.REQUEST_MAX_SIZE = config.max_request_bytes()

    @routes.exception(PayloadTooLarge)
    async def too_large(_request: Request, _error: Exception) -> HTTPResponse:
        # The form (and its language) is never read: every language's text, Chinese first.
        limit = megabytes(config.get_int("MAX_UPLOAD_BYTES"))
        return response.json({"error": tr_every("channels.upload_too_large", limit=limit)}, status=413)


def form_language(request: Request) -> str:
    """The language of an upload form's optional ``language`` field (the widget sends its
    conversation's); Chinese without it or for anything else."""
    return language_of((request.form or {}).get("language"))


def upload_refusal(request: Request, key: str, status: int) -> HTTPResponse:
    """``{"error": <the catalogue text of key>}`` in the form's language, with ``status``."""
    return response.json({"error": tr(key, form_language(request))}, status=status)


async def store_upload(sender_id: str, data: bytes, original_name: Optional[str]) -> Upload:
    """Checks and stores a file; raises ``InvalidInput`` with a reason for the user."""
    return await in_thread(services().accounts.save_upload, sender_id, data, original_name)


async def stored_file_reply(request: Request, conversation: str) -> HTTPResponse:
    """Stores the request's ``file`` for ``conversation`` and answers its upload id, or why not (400),
    in the language of the form's optional ``language`` field (Chinese without it)."""
    file = (request.files or {}).get("file")
    if file is None:
        return upload_refusal(request, "channels.upload_no_file", 400)
    try:
        upload = await store_upload(conversation, file.body, file.name)
    except InvalidInput as problem:
        return response.json({"error": problem.text(form_language(request))}, status=400)
    return response.json({"upload_id": upload.id, "size": upload.size, "content_type": upload.content_type})


def upload_metadata(upload_id: str, shown_as: str) -> Dict[str, Any]:
    """Metadata of the /send_file message; ``shown_as`` is what transcripts show."""
    return {"upload_id": upload_id, "display_text": shown_as}


def embedding_origins() -> frozenset:
    return frozenset(config.get("WIDGET_ALLOWED_ORIGINS").split())


def origin_of(address: str) -> Optional[str]:
    parts = urlsplit(address.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(scheme: str, host: str, forwarded_proto: str = "") -> Set[str]:
    """The origins the assistant is reached at: the request's own, the same host
    behind a TLS-terminating proxy (X-Forwarded-Proto), and PUBLIC_BASE_URL's."""
    host = host.lower()
    origins = {f"{scheme}://{host}"}
    proto = forwarded_proto.split(",")[0].strip().lower()
    if proto in ("http", "https"):
        origins.add(f"{proto}://{host}")
    public = origin_of(config.get("PUBLIC_BASE_URL"))
    if public:
        origins.add(public)
    return origins


def request_origins(request: Any) -> Set[str]:
    """:func:`own_origins` of a Sanic request."""
    return own_origins(request.scheme, request.host, request.headers.get("x-forwarded-proto") or "")


def origin_allowed(origin: Optional[str], own: Set[str]) -> bool:
    """May a page of ``origin`` talk to the assistant?  The assistant's own
    pages may; other sites only when listed in WIDGET_ALLOWED_ORIGINS."""
    if not origin:  # not a browser's cross-site request
        return True
    return origin.strip().lower().rstrip("/") in own or origin in embedding_origins()
