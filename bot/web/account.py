"""HTTP routes of the account flows, served by the Rasa server under
``/webhooks/account/`` (channel ``AccountWebInput`` in ``credentials.yml``):

* ``POST /webhooks/account/upload`` (multipart: ``sender``, ``file``) stores a
  document photo for a web widget's conversation (``sender`` is the widget's
  session id; the upload belongs to ``widget:<session id>``) and answers
  ``{"upload_id": ...}``; the widget then sends ``/send_file`` with metadata
  ``{"upload_id": ...}``.  A refused file gets HTTP 400 and
  ``{"error": "<reason>"}``, in the form's optional ``language`` (``en``;
  Chinese without it), as every refusal of this route is.  Browsers may post
  from the assistant's own pages and from the sites in WIDGET_ALLOWED_ORIGINS;
  other sites get HTTP 403.
  REST clients upload to ``/webhooks/rest/upload`` (bot/channels/rest.py);
  both end in ``bot.channels.common.stored_file_reply``.
* ``GET|POST /webhooks/account/reset?token=...``: the one-time password-reset
  page the assistant links to (HTML from ``bot/web/pages.py``). Passwords are
  typed only here, never in the chat.
* ``GET /webhooks/account/``: ``{"status": "ok"}``.

The server reads no request body larger than ``config.max_request_bytes()``
(413 before reading it, in every language: the form's is unknown), and deletes, at start-up and hourly, the photos no
review or appeal uses ``UPLOAD_UNATTACHED_HOURS`` after their upload.

The handlers call ``AccountService`` only (off the event loop).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.accounts.checks import InvalidInput
from bot.channels.common import (
    bound_request_size,
    in_thread,
    origin_allowed,
    request_origins,
    stored_file_reply,
    upload_refusal,
)
from bot.channels.conversation_ids import widget_conversation
from bot.services import services
from bot.web import pages

logger = logging.getLogger(__name__)

UPLOAD_SWEEP_SECONDS = 3600

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",  # the token is in the address
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def html_page(document: str, status: int = 200) -> HTTPResponse:
    return response.html(document, status=status, headers=PAGE_HEADERS)


def link_unusable(refusal: InvalidInput) -> HTTPResponse:
    return html_page(pages.link_unusable(str(refusal)), 410)


def reset_form(token: str, masked_login: str, error: str = "") -> HTTPResponse:
    return html_page(pages.reset_form(token, masked_login, error), 400 if error else 200)


class AccountWebInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "account"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("account_web", __name__)
        bound_request_size(routes)
        self._sweep_unattached_uploads(routes)

        @routes.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @routes.route("/upload", methods=["POST"])
        async def upload(request: Request) -> HTTPResponse:
            return await self._upload(request)

        @routes.route("/reset", methods=["GET"])
        async def reset_page(request: Request) -> HTTPResponse:
            token = request.args.get("token", "")
            try:
                masked = await in_thread(services().accounts.reset_link_login, token)
            except InvalidInput as refusal:
                return link_unusable(refusal)
            return reset_form(token, masked)

        @routes.route("/reset", methods=["POST"])
        async def reset_submit(request: Request) -> HTTPResponse:
            form = request.form or {}
            token = form.get("token", "")
            try:
                masked = await in_thread(
                    services().accounts.reset_password, token, form.get("password", ""), form.get("repeated", "")
                )
            except InvalidInput as problem:
                try:
                    login = await in_thread(services().accounts.reset_link_login, token)
                except InvalidInput as refusal:
                    return link_unusable(refusal)
                return reset_form(token, login, str(problem))
            return html_page(pages.reset_done(masked))

        return routes

    @staticmethod
    def _sweep_unattached_uploads(routes: Blueprint) -> None:
        """Photos no review or appeal uses ``UPLOAD_UNATTACHED_HOURS`` after
        their upload are deleted: at start-up, then hourly.  Every process may
        sweep (deleting a deleted photo does nothing)."""
        sweeper: Dict[str, "asyncio.Task[None]"] = {}

        async def sweep_forever() -> None:
            while True:
                try:
                    deleted = await in_thread(services().accounts.purge_unattached_uploads)
                    if deleted:
                        logger.info("deleted %d unattached upload(s)", deleted)
                except Exception:  # noqa: BLE001 - try again at the next sweep
                    logger.exception("sweeping unattached uploads failed")
                await asyncio.sleep(UPLOAD_SWEEP_SECONDS)

        @routes.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            sweeper["task"] = asyncio.get_running_loop().create_task(sweep_forever())

        @routes.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if "task" in sweeper:
                sweeper["task"].cancel()

    async def _upload(self, request: Request) -> HTTPResponse:
        origin = request.headers.get("origin")
        if not origin_allowed(origin, request_origins(request)):
            return upload_refusal(request, "channels.upload_site_not_allowed", 403)
        reply = await self._store_upload(request)
        if origin:  # the widget on a page of an allowed site reads the answer
            reply.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
        return reply

    @staticmethod
    async def _store_upload(request: Request) -> HTTPResponse:
        try:
            conversation = widget_conversation((request.form or {}).get("sender") or "")
        except ValueError:
            return upload_refusal(request, "channels.upload_widget_sender", 400)
        return await stored_file_reply(request, conversation)
