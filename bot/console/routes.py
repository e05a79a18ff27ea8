"""The agent console: support agents take conversations over from the
assistant and hand them back, in the browser, under ``/webhooks/console/``.

Pages (HTML rendered by ``bot/handoff/console_pages.py``)::

  GET  login, POST login, POST logout
  GET  ""                                  the queue: waiting, mine, others'
  GET  conversations/<id>                  summary, transcript, actions
  POST conversations/<id>/claim|reply|note|transfer|hand-back|resolve
  GET  reports?days=N                      per-day figures with SVG charts
  GET  static/console.js|console.css

JSON for the page script (``bot/handoff/console_static/console.js``)::

  GET  events?after=<event id>             HandoffService.events_after
  GET  api/queue                           the three lists of the queue page
  GET  api/conversations/<id>?after=<message id>   state and new messages

The database is the only state: every request reads the session, the
handoffs and the events from it, so any number of Rasa processes behind one
address serve the console alike.  Pages poll ``events`` and fetch the
snapshots when something changed.

Security:

* The session cookie ``console_session`` is HttpOnly, SameSite=Strict, limited
  to ``/webhooks/console/`` and Secure on https (the request's or
  PUBLIC_BASE_URL's); the server keeps only its hash (``AgentDirectory``).
* Every POST must come from the console's own origin (``Origin``, else
  ``Referer``; neither: refused) and carry the session's CSRF token (form
  field ``csrf`` or header ``X-CSRF-Token``), else HTTP 403.  The login form
  has its own double-submit token (cookie ``console_login`` = field ``csrf``).
* Pages: a strict Content-Security-Policy (no inline script or style), no
  framing, no caching, ``Referrer-Policy: same-origin``.  Data is escaped on
  the server and written with ``textContent`` in the browser.
* Agents' actions are written to the audit log by ``HandoffService`` /
  ``AgentDirectory`` (login) and here (logout).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from functools import wraps
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple, Union

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import select

from bot import config
from bot.accounts.checks import InvalidInput
from bot.accounts.database import Database
from bot.accounts.models import AuditEntry
from bot.accounts.service import NotFound, utcnow
from bot.channels.common import in_thread, origin_of, request_origins
from bot.handoff import bridge
from bot.handoff import console_pages as pages
from bot.handoff.agents import AgentDirectory, AgentView, LoginRefused
from bot.handoff.canned import canned_replies
from bot.handoff.models import Handoff, HandoffState
from bot.handoff.reports import handoff_report
from bot.handoff.service import HandoffConflict, HandoffService, HandoffView

logger = logging.getLogger(__name__)

CONSOLE_PATH = pages.CONSOLE_PATH
SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
EVENTS_LIMIT = 100
MAX_REPORT_DAYS = 366
STATIC_DIR = Path(__file__).resolve().parent.parent / "handoff" / "console_static"
STATIC_FILES = {
    "console.js": (STATIC_DIR / "console.js", "application/javascript; charset=utf-8"),
    "console.css": (STATIC_DIR / "console.css", "text/css; charset=utf-8"),
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
FOREIGN_ORIGIN = "请求来源不是客服工作台本身，已拒绝。"
BAD_CSRF = "页面已过期或请求不完整（安全校验失败），请刷新页面后重试。"
LOGIN_EXPIRED = "登录页已过期，请重新输入。"
SESSION_EXPIRED = "登录已过期，请重新登录。"
NOT_FOUND = "没有这个会话。"
ABANDON_SWEEP_SECONDS = 60
DELIVERY_FAILED = "回复已记录，但发送给用户时出错：请稍后确认用户是否收到。"
GIVE_BACK_FAILED = "会话已结束，但通知智能助手时出错：请告知管理员查看日志。"

Handler = Callable[..., Awaitable[HTTPResponse]]


# -- responses ------------------------------------------------------------------------


def html_page(document: str, status: int = 200) -> HTTPResponse:
    return response.html(document, status=status, headers=dict(SECURITY_HEADERS))


def json_reply(data: Any, status: int = 200) -> HTTPResponse:
    return response.json(data, status=status, headers=dict(SECURITY_HEADERS), ensure_ascii=False)


def see_other(path: str) -> HTTPResponse:
    return response.redirect(path, status=303, headers=dict(SECURITY_HEADERS))


def wants_json(request: Request) -> bool:
    return "application/json" in (request.headers.get("accept") or "")


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


# -- origins -----------------------------------------------------------------------------


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of the console's own origin (browsers send
    ``Origin`` with every POST; ``Referer`` is the fallback; neither: refused)."""
    origin = request.headers.get("origin")
    if origin is not None:
        claimed = origin.strip().lower().rstrip("/")
    else:
        claimed = origin_of(request.headers.get("referer") or "")
    return bool(claimed) and claimed in request_origins(request)


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "unknown"


# -- the channel ------------------------------------------------------------------------


class AgentConsoleInput(InputChannel):
    """The console's routes; agents' messages reach users through ``bridge``, not Rasa."""

    @classmethod
    def name(cls) -> Text:
        return "console"

    def __init__(self, database: Optional[Database] = None, clock: Callable[..., Any] = utcnow) -> None:
        self._database = database
        self.clock = clock
        self._service: Optional[HandoffService] = None
        self._directory: Optional[AgentDirectory] = None

    @property
    def database(self) -> Database:
        if self._database is None:  # DATABASE_URL, opened at first use
            self._database = Database()
        return self._database

    @property
    def service(self) -> HandoffService:
        if self._service is None:
            self._service = HandoffService(self.database, clock=self.clock)
        return self._service

    @property
    def directory(self) -> AgentDirectory:
        if self._directory is None:
            self._directory = AgentDirectory(self.database, clock=self.clock)
        return self._directory

    # -- routes --------------------------------------------------------------------

    def _sweep_abandoned_handoffs(self, routes: Blueprint) -> None:
        """Waiting users who left are marked abandoned; every process may sweep
        (the transitions are conditional updates, so sweeps never clash)."""
        sweeper: Dict[str, "asyncio.Task[None]"] = {}

        async def sweep_forever() -> None:
            while True:
                await asyncio.sleep(ABANDON_SWEEP_SECONDS)
                try:
                    await in_thread(self.service.abandon_stale)
                except Exception:  # noqa: BLE001 - try again at the next sweep
                    logger.exception("console: sweeping abandoned handoffs failed")

        @routes.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            sweeper["task"] = asyncio.get_running_loop().create_task(sweep_forever())

        @routes.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if "task" in sweeper:
                sweeper["task"].cancel()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("agent_console", __name__)
        self._sweep_abandoned_handoffs(routes)
        page, api, action = self._page, self._api, self._action

        def add(handler: Handler, uri: str, method: str, name: str) -> None:
            async def endpoint(request: Request, **kwargs: Any) -> HTTPResponse:
                return await handler(request, **kwargs)

            endpoint.__name__ = endpoint.__qualname__ = name  # Sanic marks handlers; methods refuse
            routes.add_route(endpoint, uri, methods=[method], name=name)

        add(self._queue_page_route, "/", "GET", "console_queue")
        add(self._login_form, "/login", "GET", "console_login_form")
        add(self._login, "/login", "POST", "console_login")
        add(self._logout, "/logout", "POST", "console_logout")
        add(self._static, "/static/<name>", "GET", "console_static")
        add(page(self._conversation_page), "/conversations/<handoff_id:int>", "GET", "console_conversation")
        add(page(self._reports_page), "/reports", "GET", "console_reports")
        add(api(self._events), "/events", "GET", "console_events")
        add(api(self._queue_json), "/api/queue", "GET", "console_queue_json")
        add(api(self._conversation_json), "/api/conversations/<handoff_id:int>", "GET", "console_conversation_json")
        for name, handler in (
            ("claim", self._claim),
            ("reply", self._reply),
            ("note", self._note),
            ("transfer", self._transfer),
            ("hand-back", self._hand_back),
            ("resolve", self._resolve),
        ):
            add(action(handler), f"/conversations/<handoff_id:int>/{name}", "POST", f"console_{name.replace('-', '_')}")
        return routes

    # -- guards --------------------------------------------------------------------

    async def _session(self, request: Request) -> Optional[Tuple[str, AgentView]]:
        """The session token and its agent; None without a live session."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        agent = await in_thread(self.directory.session_agent, token)
        return None if agent is None else (token, agent)

    def _page(self, handler: Handler) -> Handler:
        """A page for logged-in agents; others are sent to the login page."""

        @wraps(handler)
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            session = await self._session(request)
            if session is None:
                return see_other(pages.url("login"))
            token, agent = session
            return await handler(request, agent, await self._frame(token, agent), **kwargs)

        return guarded

    def _api(self, handler: Handler) -> Handler:
        """JSON for logged-in agents; others get HTTP 401."""

        @wraps(handler)
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            session = await self._session(request)
            if session is None:
                return json_reply({"error": SESSION_EXPIRED}, 401)
            _, agent = session
            return await handler(request, agent, **kwargs)

        return guarded

    def _action(self, handler: Handler) -> Handler:
        """A POST of a logged-in agent: own origin, live session, the session's CSRF token."""

        @wraps(handler)
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            checked = await self._check_post(request)
            if isinstance(checked, HTTPResponse):  # refused
                return checked
            agent, token = checked
            return await handler(request, agent, token, **kwargs)

        return guarded

    async def _check_post(self, request: Request) -> Union[HTTPResponse, Tuple[AgentView, str]]:
        """The agent and session token of an acceptable POST, else the refusal to send."""
        as_json = wants_json(request)
        if not same_origin(request):
            logger.warning(
                "console: refused a POST to %s from origin %r / referer %r",
                request.path,
                request.headers.get("origin"),
                request.headers.get("referer"),
            )
            return self._forbidden(as_json, FOREIGN_ORIGIN)
        session = await self._session(request)
        if session is None:
            return json_reply({"error": SESSION_EXPIRED}, 401) if as_json else see_other(pages.url("login"))
        token, agent = session
        csrf = request.headers.get("x-csrf-token") or (request.form or {}).get("csrf")
        if not await in_thread(self.directory.csrf_valid, token, csrf):
            return self._forbidden(as_json, BAD_CSRF)
        return agent, token

    @staticmethod
    def _forbidden(as_json: bool, reason: str) -> HTTPResponse:
        if as_json:
            return json_reply({"error": reason}, 403)
        return html_page(pages.message_page("请求被拒绝", reason), 403)

    async def _frame(self, token: str, agent: AgentView) -> pages.Frame:
        def read() -> pages.Frame:
            csrf = self.directory.session_csrf(token) or ""
            # The event id first: anything that happens after it reaches the page by polling.
            last_event = self.service.latest_event_id()
            return pages.Frame(agent, csrf, last_event, len(self.service.queue()))

        return await in_thread(read)

    # -- login -----------------------------------------------------------------------

    async def _login_form(self, request: Request) -> HTTPResponse:
        if await self._session(request) is not None:
            return see_other(CONSOLE_PATH)
        message = "您已退出登录。" if request.args.get("bye") else ""
        return self._login_page(request, message=message)

    def _login_page(
        self, request: Request, login: str = "", error: str = "", message: str = "", status: int = 200
    ) -> HTTPResponse:
        # One token per browser: a second login tab must not invalidate the first one's form.
        current = request.cookies.get(LOGIN_COOKIE) or ""
        token = current if LOGIN_TOKEN.fullmatch(current) else secrets.token_urlsafe(32)
        reply = html_page(pages.login_page(token, login, error, message), status)
        set_cookie(reply, request, LOGIN_COOKIE, token)
        return reply

    async def _login(self, request: Request) -> HTTPResponse:
        form = request.form or {}
        login = (form.get("login") or "").strip()[:64]
        if not same_origin(request):
            return self._login_page(request, login, FOREIGN_ORIGIN, status=403)
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not secrets.compare_digest(expected.encode(), (form.get("csrf") or "").encode()):
            return self._login_page(request, login, LOGIN_EXPIRED, status=403)
        try:
            agent = await in_thread(self.directory.authenticate, login, form.get("password") or "", client_ip(request))
            token, _ = await in_thread(self.directory.start_session, agent)
        except LoginRefused as refusal:
            return self._login_page(request, login, str(refusal), status=401)
        reply = see_other(CONSOLE_PATH)
        set_cookie(reply, request, SESSION_COOKIE, token)
        drop_cookie(reply, request, LOGIN_COOKIE)
        return reply

    async def _logout(self, request: Request) -> HTTPResponse:
        checked = await self._check_post(request)
        if isinstance(checked, HTTPResponse):  # refused
            if checked.status in (401, 303):  # no session anyway: drop the stale cookie too
                drop_cookie(checked, request, SESSION_COOKIE)
            return checked
        agent, token = checked

        def end() -> None:
            self.directory.end_session(token)
            with self.database.session() as session:
                session.add(
                    AuditEntry(
                        at=self.clock(),
                        actor=agent.actor,
                        action="agent_logout",
                        detail=json.dumps({"client_ip": client_ip(request)}),
                    )
                )

        await in_thread(end)
        reply = see_other(pages.url("login?bye=1"))
        drop_cookie(reply, request, SESSION_COOKIE)
        return reply

    # -- static files --------------------------------------------------------------------

    async def _static(self, _: Request, name: str) -> HTTPResponse:
        if name not in STATIC_FILES:
            return response.text("not found", status=404, headers={"X-Content-Type-Options": "nosniff"})
        path, content_type = STATIC_FILES[name]
        return await response.file(
            path, mime_type=content_type, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        )

    # -- the queue ---------------------------------------------------------------------

    async def _queue_page_route(self, request: Request) -> HTTPResponse:
        if not request.path.endswith("/"):  # the cookie's path ends with a slash
            return see_other(CONSOLE_PATH)
        return await self._page(self._queue_page)(request)

    async def _queue_page(self, request: Request, agent: AgentView, frame: pages.Frame) -> HTTPResponse:
        lists = await in_thread(self._queue_lists, agent)
        return html_page(pages.queue_page(frame, lists["waiting"], lists["mine"], lists["others"]))

    async def _queue_json(self, request: Request, agent: AgentView) -> HTTPResponse:
        def read() -> Dict[str, Any]:
            last_event = self.service.latest_event_id()
            return {"last_event_id": last_event, **self._queue_lists(agent)}

        return json_reply(await in_thread(read))

    def _queue_lists(self, agent: AgentView) -> Dict[str, List[Dict[str, Any]]]:
        """Waiting (oldest first), mine and the others' assigned conversations."""
        now = self.clock()
        waiting = [pages.queue_row_json(entry.handoff, entry.waiting_seconds) for entry in self.service.queue()]
        mine: List[Dict[str, Any]] = []
        others: List[Dict[str, Any]] = []
        for handoff in self._assigned():
            since = int(max(0, (now - (handoff.claimed_at or handoff.created_at)).total_seconds()))
            row = pages.queue_row_json(handoff, since)
            (mine if handoff.agent_id == agent.id else others).append(row)
        return {"waiting": waiting, "mine": mine, "others": others}

    def _assigned(self) -> List[HandoffView]:
        with self.database.session() as session:
            ids = (
                session.execute(
                    select(Handoff.id)
                    .where(Handoff.state == HandoffState.ASSIGNED)
                    .order_by(Handoff.claimed_at, Handoff.id)
                )
                .scalars()
                .all()
            )
        views = []
        for handoff_id in ids:
            try:
                views.append(self.service.get(handoff_id))
            except NotFound:  # pragma: no cover - handoffs are never deleted
                continue
        return [view for view in views if view.state == HandoffState.ASSIGNED]

    async def _events(self, request: Request, agent: AgentView) -> HTTPResponse:
        raw = request.args.get("after")
        if raw is None:
            return json_reply({"events": [], "last_id": await in_thread(self.service.latest_event_id), "more": False})
        try:
            after = max(0, int(raw))
        except ValueError:
            return json_reply({"error": "after 必须是整数（上次收到的事件编号）。"}, 400)
        events = await in_thread(self.service.events_after, after, EVENTS_LIMIT)
        return json_reply(
            {
                "events": [
                    {
                        "id": event.id,
                        "handoff_id": event.handoff_id,
                        "kind": event.kind,
                        "agent_id": event.agent_id,
                        "data": event.data,
                        "at": event.at.isoformat() + "Z",
                    }
                    for event in events
                ],
                "last_id": events[-1].id if events else after,
                "more": len(events) >= EVENTS_LIMIT,
            }
        )

    # -- a conversation ----------------------------------------------------------------

    async def _conversation_page(
        self, request: Request, agent: AgentView, frame: pages.Frame, handoff_id: int
    ) -> HTTPResponse:
        return await self._render_conversation(agent, frame, handoff_id)

    async def _render_conversation(
        self,
        agent: AgentView,
        frame: pages.Frame,
        handoff_id: int,
        error: str = "",
        status: int = 200,
        reply_draft: str = "",
        note_draft: str = "",
    ) -> HTTPResponse:
        def read() -> Optional[Tuple[HandoffView, list, list]]:
            try:
                handoff = self.service.get(handoff_id)
            except NotFound:
                return None
            messages = self.service.transcript(handoff_id)
            targets = [
                candidate
                for candidate in self.directory.list()
                if candidate.active and candidate.id != handoff.agent_id
            ]
            return handoff, messages, targets

        found = await in_thread(read)
        if found is None:
            return html_page(pages.message_page("没有找到", NOT_FOUND, frame), 404)
        handoff, messages, targets = found
        return html_page(
            pages.conversation_page(
                frame, handoff, messages, targets, canned_replies(), error, reply_draft, note_draft
            ),
            status,
        )

    async def _conversation_json(self, request: Request, agent: AgentView, handoff_id: int) -> HTTPResponse:
        try:
            after = max(0, int(request.args.get("after", "0")))
        except ValueError:
            return json_reply({"error": "after 必须是整数（上次收到的消息编号）。"}, 400)

        def read() -> Optional[Dict[str, Any]]:
            try:
                handoff = self.service.get(handoff_id)
            except NotFound:
                return None
            messages = self.service.transcript(handoff_id, after)
            return {
                "handoff": pages.handoff_json(handoff, agent),
                "messages": [pages.message_json(message) for message in messages],
            }

        found = await in_thread(read)
        return json_reply(found) if found is not None else json_reply({"error": NOT_FOUND}, 404)

    # -- actions ---------------------------------------------------------------------

    async def _act(
        self,
        request: Request,
        agent: AgentView,
        token: str,
        handoff_id: int,
        step: Callable[[], Any],
        after: Optional[Callable[[Any], Awaitable[Optional[str]]]] = None,
        drafts: Optional[Dict[str, str]] = None,
    ) -> HTTPResponse:
        """Runs ``step`` (a service call) off the loop, then ``after`` (delivery); answers
        with a redirect to the conversation (or JSON), or the page with the refusal."""
        try:
            result = await in_thread(step)
        except NotFound:
            return await self._refused(request, agent, token, handoff_id, NOT_FOUND, 404, drafts)
        except HandoffConflict as conflict:
            return await self._refused(request, agent, token, handoff_id, str(conflict), 409, drafts)
        except InvalidInput as problem:
            return await self._refused(request, agent, token, handoff_id, str(problem), 400, drafts)
        warning = await after(result) if after else None
        if wants_json(request):
            return json_reply({"ok": True, "warning": warning})
        if warning:
            return await self._refused(request, agent, token, handoff_id, warning, 200)
        return see_other(pages.url(f"conversations/{handoff_id}"))

    async def _refused(
        self,
        request: Request,
        agent: AgentView,
        token: str,
        handoff_id: int,
        reason: str,
        status: int,
        drafts: Optional[Dict[str, str]] = None,
    ) -> HTTPResponse:
        if wants_json(request):
            return json_reply({"error": reason}, status)
        frame = await self._frame(token, agent)
        return await self._render_conversation(agent, frame, handoff_id, reason, status, **(drafts or {}))

    async def _claim(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        async def announce(handoff: HandoffView) -> Optional[str]:
            try:
                await bridge.announce_agent(request.app, handoff, agent.display_name)
            except Exception:  # noqa: BLE001 - claimed already; the agent must hear about it
                logger.exception("console: telling the user of handoff %s failed", handoff.id)
                return DELIVERY_FAILED
            return None

        return await self._act(
            request, agent, token, handoff_id, lambda: self.service.claim(handoff_id, agent.id), announce
        )

    async def _reply(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        text = _form_text(request)

        def step() -> Tuple[Any, HandoffView]:
            message = self.service.reply(handoff_id, agent.id, text)
            return message, self.service.get(handoff_id)

        async def deliver(result: Tuple[Any, HandoffView]) -> Optional[str]:
            message, handoff = result
            try:
                await bridge.send_to_user(request.app, handoff, message.text, agent.display_name)
            except Exception:  # noqa: BLE001 - stored already; the agent must hear about it
                logger.exception("console: delivering message %s of handoff %s failed", message.id, handoff.id)
                return DELIVERY_FAILED
            return None

        return await self._act(request, agent, token, handoff_id, step, deliver, {"reply_draft": text})

    async def _note(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        text = _form_text(request)
        return await self._act(
            request,
            agent,
            token,
            handoff_id,
            lambda: self.service.note(handoff_id, agent.id, text),
            None,
            {"note_draft": text},
        )

    async def _transfer(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        raw = ((request.form or {}).get("agent_id") or "").strip()
        if not raw.isdigit():
            return await self._refused(request, agent, token, handoff_id, "请选择要转给的客服。", 400)
        return await self._act(
            request, agent, token, handoff_id, lambda: self.service.transfer(handoff_id, agent.id, int(raw))
        )

    async def _hand_back(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        return await self._act(
            request,
            agent,
            token,
            handoff_id,
            lambda: self.service.hand_back(handoff_id, agent.id),
            self._give_back(request),
        )

    async def _resolve(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        return await self._act(
            request,
            agent,
            token,
            handoff_id,
            lambda: self.service.resolve(handoff_id, agent.id),
            self._give_back(request),
        )

    @staticmethod
    def _give_back(request: Request) -> Callable[[HandoffView], Awaitable[Optional[str]]]:
        async def give_back(handoff: HandoffView) -> Optional[str]:
            try:
                await bridge.give_back_to_assistant(request.app, handoff)
            except Exception:  # noqa: BLE001 - closed already; the agent must hear about it
                logger.exception("console: giving handoff %s back to the assistant failed", handoff.id)
                return GIVE_BACK_FAILED
            return None

        return give_back

    # -- reports -----------------------------------------------------------------------

    async def _reports_page(self, request: Request, agent: AgentView, frame: pages.Frame) -> HTTPResponse:
        raw = (request.args.get("days") or "7").strip()
        days = int(raw) if raw.isdigit() else 0
        if not 1 <= days <= MAX_REPORT_DAYS:
            return html_page(
                pages.message_page("统计报表", f"天数需要是 1 到 {MAX_REPORT_DAYS} 之间的整数。", frame), 400
            )
        try:
            report = await in_thread(lambda: handoff_report(self.database, days, now=self.clock()))
        except ValueError as problem:  # SUPPORT_TIMEZONE
            return html_page(pages.message_page("统计报表", str(problem), frame), 500)
        return html_page(pages.reports_page(frame, report, days))


def _form_text(request: Request) -> str:
    return (request.form or {}).get("text") or ""
