"""Who may do what in the console: sessions, CSRF and origins.

* The session cookie ``console_session`` (and the login form's
  ``console_login``) is HttpOnly, SameSite=Strict, limited to
  ``/webhooks/console/`` and Secure on https (the request's, or whenever
  PUBLIC_BASE_URL is https); the server keeps only its hash (``AgentDirectory``).
* :meth:`Guards.page`: pages for logged-in agents; others are sent to the
  login page.  :meth:`Guards.api`: JSON for logged-in agents; others get HTTP
  401.  :meth:`Guards.action`: a POST must come from the console's own origin
  (``Origin``, else ``Referer``; neither: refused) and carry the session's
  CSRF token (form field ``csrf`` or header ``X-CSRF-Token``), else HTTP 403.
* The login form has its own double-submit token (cookie ``console_login`` =
  field ``csrf``, :func:`login_token`, :func:`login_token_matches`) and the
  same origin check.  Failed logins are throttled per login name and per client
  address (``bot.channels.client_address``: X-Forwarded-For only from
  TRUSTED_PROXIES) by ``AgentDirectory.authenticate``.
"""

from __future__ import annotations

import logging
import re
import secrets
from functools import wraps
from typing import Any, Awaitable, Callable, Optional, Tuple, Union

from sanic.request import Request
from sanic.response import HTTPResponse

from bot import config
from bot.channels.common import in_thread, origin_of, request_origins
from bot.console import pages
from bot.console.responses import html_page, json_reply, see_other, wants_json
from bot.console.services import ConsoleServices
from bot.console.views import CONSOLE_PATH, Frame, url
from bot.handoff.agents import AgentView

logger = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
FOREIGN_ORIGIN = "请求来源不是客服工作台本身，已拒绝。"
BAD_CSRF = "页面已过期或请求不完整（安全校验失败），请刷新页面后重试。"
SESSION_EXPIRED = "登录已过期，请重新登录。"

Handler = Callable[..., Awaitable[HTTPResponse]]


# -- cookies ---------------------------------------------------------------------------


def secure_cookies(request: Request) -> bool:
    return request.scheme == "https" or config.get("PUBLIC_BASE_URL").strip().lower().startswith("https:")


def set_cookie(reply: HTTPResponse, request: Request, name: str, value: str) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["path"] = CONSOLE_PATH
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    if secure_cookies(request):
        cookie["secure"] = True


def drop_cookie(reply: HTTPResponse, request: Request, name: str) -> None:
    set_cookie(reply, request, name, "")
    reply.cookies[name]["max-age"] = 0


# -- origins and the login form's token ---------------------------------------------------


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of the console's own origin (browsers send
    ``Origin`` with every POST; ``Referer`` is the fallback; neither: refused)."""
    origin = request.headers.get("origin")
    if origin is not None:
        claimed = origin.strip().lower().rstrip("/")
    else:
        claimed = origin_of(request.headers.get("referer") or "")
    return bool(claimed) and claimed in request_origins(request)


def login_token(request: Request) -> str:
    """The login form's token: the browser's current one, so that a second login
    tab does not invalidate the first one's form, else a new one."""
    current = request.cookies.get(LOGIN_COOKIE) or ""
    return current if LOGIN_TOKEN.fullmatch(current) else secrets.token_urlsafe(32)


def login_token_matches(request: Request, submitted: Optional[str]) -> bool:
    """Whether the login form's field is the token of the browser's cookie."""
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    return bool(expected) and secrets.compare_digest(expected.encode(), (submitted or "").encode())


# -- sessions ------------------------------------------------------------------------


class Guards:
    """Wrappers of the route handlers; ``services`` gives the console's services."""

    def __init__(self, services: Callable[[], ConsoleServices]) -> None:
        self._services = services

    async def session(self, request: Request) -> Optional[Tuple[str, AgentView]]:
        """The session token and its agent; None without a live session."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        agent = await in_thread(self._services().agents.session_agent, token)
        return None if agent is None else (token, agent)

    async def frame(self, token: str, agent: AgentView) -> Frame:
        return await in_thread(self._services().frame, token, agent)

    def page(self, handler: Handler) -> Handler:
        """``handler(request, agent, frame, **route)`` for logged-in agents; others go to the login page."""

        @wraps(handler)
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            session = await self.session(request)
            if session is None:
                return see_other(url("login"))
            token, agent = session
            return await handler(request, agent, await self.frame(token, agent), **kwargs)

        return guarded

    def api(self, handler: Handler) -> Handler:
        """``handler(request, agent, **route)`` for logged-in agents; others get HTTP 401."""

        @wraps(handler)
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            session = await self.session(request)
            if session is None:
                return json_reply({"error": SESSION_EXPIRED}, 401)
            _, agent = session
            return await handler(request, agent, **kwargs)

        return guarded

    def action(self, handler: Handler) -> Handler:
        """``handler(request, agent, token, **route)`` for a POST of a logged-in
        agent: own origin, live session, the session's CSRF token."""

        @wraps(handler)
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            checked = await self.check_post(request)
            if isinstance(checked, HTTPResponse):  # refused
                return checked
            agent, token = checked
            return await handler(request, agent, token, **kwargs)

        return guarded

    async def check_post(self, request: Request) -> Union[HTTPResponse, Tuple[AgentView, str]]:
        """The agent and session token of an acceptable POST, else the refusal to send."""
        as_json = wants_json(request)
        if not same_origin(request):
            logger.warning(
                "console: refused a POST to %s from origin %r / referer %r",
                request.path,
                request.headers.get("origin"),
                request.headers.get("referer"),
            )
            return forbidden(as_json, FOREIGN_ORIGIN)
        session = await self.session(request)
        if session is None:
            return json_reply({"error": SESSION_EXPIRED}, 401) if as_json else see_other(url("login"))
        token, agent = session
        csrf = request.headers.get("x-csrf-token") or (request.form or {}).get("csrf")
        if not await in_thread(self._services().agents.csrf_valid, token, csrf):
            return forbidden(as_json, BAD_CSRF)
        return agent, token


def forbidden(as_json: bool, reason: str) -> HTTPResponse:
    if as_json:
        return json_reply({"error": reason}, 403)
    return html_page(pages.message_page("请求被拒绝", reason), 403)
