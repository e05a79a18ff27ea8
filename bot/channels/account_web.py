"""HTTP routes of the account flows, served by the Rasa server under
``/webhooks/account/``:

* ``POST /webhooks/account/upload`` (multipart: ``sender``, ``file``) stores a
  document photo for a web widget's conversation (``sender`` is the widget's
  session id; the upload belongs to ``widget:<session id>``) and answers
  ``{"upload_id": ...}``; the widget then sends ``/send_file`` with metadata
  ``{"upload_id": ...}``.  A refused file gets HTTP 400 and
  ``{"error": "<reason in Chinese>"}``.  Browsers may post from the
  assistant's own pages and from the sites in WIDGET_ALLOWED_ORIGINS; other
  sites get HTTP 403.  REST clients upload to ``/webhooks/rest/upload``
  (bot/channels/rest.py); both end in :func:`stored_file_reply`.
* ``GET|POST /webhooks/account/reset?token=...``: the one-time password-reset
  page the assistant links to. Passwords are typed only here, never in the chat.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.accounts.checks import InvalidInput
from bot.accounts.passwords import PASSWORD_RULE
from bot.channels.common import account_service, in_thread, origin_allowed, request_origins, store_upload
from bot.channels.conversation_ids import widget_conversation

logger = logging.getLogger(__name__)

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",  # the token is in the address
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def page(title: str, body: str, status: int = 200) -> HTTPResponse:
    document = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - 科技部政务服务平台</title>
<style>body{{font-family:sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem;line-height:1.6}}
label{{display:block;margin-top:1rem}}input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button{{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem}}.error{{color:#b00020}}</style>
</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"""
    return response.html(document, status=status, headers=PAGE_HEADERS)


def link_unusable(refusal: InvalidInput) -> HTTPResponse:
    return page("链接不可用", f'<p class="error">{html.escape(str(refusal))}</p>', 410)


def reset_form(token: str, masked_login: str, error: str = "") -> HTTPResponse:
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return page(
        "设置新密码",
        f"""{problem}
<p>账号：{html.escape(masked_login)}</p>
<p>{html.escape(PASSWORD_RULE)}</p>
<form method="post" action="reset">
<input type="hidden" name="token" value="{html.escape(token)}">
<label for="password">新密码</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8">
<label for="repeated">再输入一次</label>
<input id="repeated" name="repeated" type="password" autocomplete="new-password" required minlength="8">
<button type="submit">确定</button></form>""",
        400 if error else 200,
    )


class AccountWebInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "account"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("account_web", __name__)

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
                masked = await in_thread(account_service().reset_link_login, token)
            except InvalidInput as refusal:
                return link_unusable(refusal)
            return reset_form(token, masked)

        @routes.route("/reset", methods=["POST"])
        async def reset_submit(request: Request) -> HTTPResponse:
            form = request.form or {}
            token = form.get("token", "")
            try:
                masked = await in_thread(
                    account_service().reset_password, token, form.get("password", ""), form.get("repeated", "")
                )
            except InvalidInput as problem:
                try:
                    login = await in_thread(account_service().reset_link_login, token)
                except InvalidInput as refusal:
                    return link_unusable(refusal)
                return reset_form(token, login, str(problem))
            return page(
                "密码已重置",
                f"<p>账号 {html.escape(masked)} 的新密码已生效，请回到平台用新密码登录。" "这个链接已失效。</p>",
            )

        return routes

    async def _upload(self, request: Request) -> HTTPResponse:
        origin = request.headers.get("origin")
        if not origin_allowed(origin, request_origins(request)):
            return response.json({"error": "此网站未获准使用账号助手。"}, status=403)
        reply = await self._store_upload(request)
        if origin:  # the widget on a page of an allowed site reads the answer
            reply.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
        return reply

    @staticmethod
    async def _store_upload(request: Request) -> HTTPResponse:
        try:
            conversation = widget_conversation((request.form or {}).get("sender") or "")
        except ValueError:
            return response.json(
                {"error": '"sender" must be the web widget\'s session id (REST clients: /webhooks/rest/upload)'},
                status=400,
            )
        return await stored_file_reply(request, conversation)


async def stored_file_reply(request: Request, conversation: str) -> HTTPResponse:
    """Stores the request's ``file`` for ``conversation`` and answers its upload id, or why not (400)."""
    file = (request.files or {}).get("file")
    if file is None:
        return response.json({"error": "请选择要上传的照片（表单字段 file）。"}, status=400)
    try:
        upload = await store_upload(conversation, file.body, file.name)
    except InvalidInput as problem:
        return response.json({"error": str(problem)}, status=400)
    return response.json({"upload_id": upload.id, "size": upload.size, "content_type": upload.content_type})
