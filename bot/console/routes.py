"""The console's route handlers: each reads the request, calls the console's
services off the event loop (``services.ConsoleServices``; no SQL here),
then answers with a page (``pages``), JSON or a redirect (``responses``).
Who may call which handler is decided by ``guards``; which conversations an
agent may read and act on, by the handoff service (``bot.handoff.access``): its
refusal, ``HandoffHidden``, is answered with HTTP 403 and no transcript.  The table of
routes is :meth:`ConsoleRoutes.register`.

After an agent's action the user hears of it through ``bot.channels.handoff_bridge``
(announce the agent, deliver a reply, give the conversation back); a failed
delivery is reported to the agent, the action itself stands.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode, urlsplit

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.accounts.checks import InvalidInput
from bot.channels import handoff_bridge as bridge
from bot.channels.client_address import client_address
from bot.channels.common import in_thread
from bot.console import pages
from bot.console.guards import (
    FOREIGN_ORIGIN,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Guards,
    Handler,
    drop_cookie,
    login_token,
    login_token_matches,
    same_origin,
    set_cookie,
)
from bot.console.responses import csv_reply, html_page, image_reply, json_reply, see_other, static_file, wants_json
from bot.console.services import ConsoleServices, search_criteria
from bot.console.team_routes import TeamRoutes
from bot.console.views import (
    CONSOLE_PATH,
    SEARCH_FIELDS,
    Frame,
    agent_csv_rows,
    conversation_url,
    event_json,
    report_csv_rows,
    team_csv_rows,
    url,
)
from bot.handoff.agents import AgentView, LoginRefused
from bot.handoff.service import HandoffConflict, HandoffHidden, HandoffView
from bot.store import NotFound

logger = logging.getLogger(__name__)

EVENTS_LIMIT = 100
MAX_REPORT_DAYS = 366
BAD_DAYS = f"天数需要是 1 到 {MAX_REPORT_DAYS} 之间的整数。"
NO_PHOTO = "没有这张照片（可能已按保存期限删除）。"
PHOTO_ID = re.compile(r"[0-9a-f]{32}")  # uploads are named by secrets.token_hex(16)
LOGIN_EXPIRED = "登录页已过期，请重新输入。"
NOT_FOUND = "没有这个会话。"
DELIVERY_FAILED = "回复已记录，但发送给用户时出错：请稍后确认用户是否收到。"
GIVE_BACK_FAILED = "会话已结束，但通知智能助手时出错：请告知管理员查看日志。"

Delivery = Callable[[Any], Awaitable[Optional[str]]]  # None, or a warning for the agent


class ConsoleRoutes:
    """The handlers, on the services ``services()`` gives (built at first use)."""

    def __init__(self, services: Callable[[], ConsoleServices]) -> None:
        self._services = services
        self.guards = Guards(services)

    @property
    def services(self) -> ConsoleServices:
        return self._services()

    def register(self, routes: Blueprint) -> None:
        page, api, action = self.guards.page, self.guards.api, self.guards.action

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
        add(action(self._presence), "/presence", "POST", "console_presence")
        TeamRoutes(self._services, self.guards).register(add)
        add(page(self._reports_csv), "/reports.csv", "GET", "console_reports_csv")
        add(page(self._search_page), "/search", "GET", "console_search")
        add(
            api(self._photo),
            "/conversations/<handoff_id:int>/photos/<upload_id:str>",
            "GET",
            "console_photo",
        )
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

    # -- login -----------------------------------------------------------------------

    async def _login_form(self, request: Request) -> HTTPResponse:
        if await self.guards.session(request) is not None:
            return see_other(CONSOLE_PATH)
        message = "您已退出登录。" if request.args.get("bye") else ""
        return self._login_page(request, message=message)

    @staticmethod
    def _login_page(
        request: Request, login: str = "", error: str = "", message: str = "", status: int = 200
    ) -> HTTPResponse:
        token = login_token(request)
        reply = html_page(pages.login_page(token, login, error, message), status)
        set_cookie(reply, request, LOGIN_COOKIE, token)
        return reply

    async def _login(self, request: Request) -> HTTPResponse:
        form = request.form or {}
        login = (form.get("login") or "").strip()[:64]
        if not same_origin(request):
            return self._login_page(request, login, FOREIGN_ORIGIN, status=403)
        if not login_token_matches(request, form.get("csrf")):
            return self._login_page(request, login, LOGIN_EXPIRED, status=403)
        agents = self.services.agents
        try:
            agent = await in_thread(agents.authenticate, login, form.get("password") or "", client_address(request))
            token, _ = await in_thread(agents.start_session, agent)
        except LoginRefused as refusal:
            return self._login_page(request, login, str(refusal), status=401)
        reply = see_other(CONSOLE_PATH)
        set_cookie(reply, request, SESSION_COOKIE, token)
        drop_cookie(reply, request, LOGIN_COOKIE)
        return reply

    async def _logout(self, request: Request) -> HTTPResponse:
        checked = await self.guards.check_post(request)
        if isinstance(checked, HTTPResponse):  # refused
            if checked.status in (401, 303):  # no session anyway: drop the stale cookie too
                drop_cookie(checked, request, SESSION_COOKIE)
            return checked
        agent, token = checked
        await in_thread(self.services.agents.log_out, token, agent, client_address(request))
        reply = see_other(url("login?bye=1"))
        drop_cookie(reply, request, SESSION_COOKIE)
        return reply

    # -- static files --------------------------------------------------------------------

    @staticmethod
    async def _static(_: Request, name: str) -> HTTPResponse:
        return await static_file(name)

    # -- the queue ---------------------------------------------------------------------

    async def _queue_page_route(self, request: Request) -> HTTPResponse:
        if not request.path.endswith("/"):  # the cookie's path ends with a slash
            return see_other(CONSOLE_PATH)
        return await self.guards.page(self._queue_page)(request)

    async def _queue_page(self, request: Request, agent: AgentView, frame: Frame, error: str = "") -> HTTPResponse:
        lists = await in_thread(self.services.queue_lists, agent)
        return html_page(pages.queue_page(frame, lists["waiting"], lists["mine"], lists["others"], error))

    async def _queue_json(self, request: Request, agent: AgentView) -> HTTPResponse:
        return json_reply(await in_thread(self.services.queue_snapshot, agent))

    async def _events(self, request: Request, agent: AgentView) -> HTTPResponse:
        handoffs = self.services.handoffs
        await in_thread(self.services.heartbeat, agent)  # an open page: she is still there
        raw = request.args.get("after")
        if raw is None:
            return json_reply({"events": [], "last_id": await in_thread(handoffs.latest_event_id), "more": False})
        try:
            after = max(0, int(raw))
        except ValueError:
            return json_reply({"error": "after 必须是整数（上次收到的事件编号）。"}, 400)
        events = await in_thread(handoffs.events_after, after, EVENTS_LIMIT)
        return json_reply(
            {
                "events": [event_json(event) for event in events],
                "last_id": events[-1].id if events else after,
                "more": len(events) >= EVENTS_LIMIT,
            }
        )

    # -- a conversation ----------------------------------------------------------------

    async def _conversation_page(
        self, request: Request, agent: AgentView, frame: Frame, handoff_id: int
    ) -> HTTPResponse:
        via = _via(request)
        if via is False:
            return html_page(pages.message_page("没有找到", NOT_FOUND, frame), 404)
        return await self._render_conversation(request, frame, handoff_id, via=via or None)

    async def _photo(self, request: Request, agent: AgentView, handoff_id: int, upload_id: str) -> HTTPResponse:
        via = _via(request)
        if via is False or not PHOTO_ID.fullmatch(upload_id):
            return json_reply({"error": NO_PHOTO}, 404)
        try:
            thumbnail = await in_thread(
                self.services.thumbnail, handoff_id, upload_id, agent, client_address(request), via or None
            )
        except HandoffHidden as hidden:
            return json_reply({"error": str(hidden)}, 403)
        if thumbnail is None:
            return json_reply({"error": NO_PHOTO}, 404)
        return image_reply(thumbnail)

    async def _render_conversation(
        self,
        request: Request,
        frame: Frame,
        handoff_id: int,
        error: str = "",
        status: int = 200,
        reply_draft: str = "",
        note_draft: str = "",
        via: Optional[int] = None,
    ) -> HTTPResponse:
        try:
            found = await in_thread(self.services.conversation, handoff_id, frame.agent, client_address(request), via)
        except HandoffHidden as hidden:
            return html_page(pages.message_page("无权查看", str(hidden), frame), 403)
        if found is None:
            return html_page(pages.message_page("没有找到", NOT_FOUND, frame), 404)
        return html_page(
            pages.conversation_page(
                frame,
                found.handoff,
                found.messages,
                found.transfer_targets,
                found.canned,
                error,
                reply_draft,
                note_draft,
                found.log,
                found.history,
                found.via,
            ),
            status,
        )

    async def _conversation_json(self, request: Request, agent: AgentView, handoff_id: int) -> HTTPResponse:
        try:
            after = max(0, int(request.args.get("after", "0")))
        except ValueError:
            return json_reply({"error": "after 必须是整数（上次收到的消息编号）。"}, 400)
        try:
            found = await in_thread(
                self.services.conversation_update, handoff_id, after, agent, client_address(request)
            )
        except HandoffHidden as hidden:
            return json_reply({"error": str(hidden)}, 403)
        return json_reply(found) if found is not None else json_reply({"error": NOT_FOUND}, 404)

    # -- actions ---------------------------------------------------------------------

    async def _act(
        self,
        request: Request,
        agent: AgentView,
        token: str,
        handoff_id: int,
        step: Callable[[], Any],
        after: Optional[Delivery] = None,
        drafts: Optional[Dict[str, str]] = None,
    ) -> HTTPResponse:
        """Runs ``step`` (a service call) off the loop, then ``after`` (delivery); answers
        with a redirect to the conversation, or to the queue when the agent may no
        longer see it (or JSON), or the page with the refusal."""
        try:
            result = await in_thread(step)
        except HandoffHidden as hidden:  # not theirs: the reason, without the conversation
            if wants_json(request):
                return json_reply({"error": str(hidden)}, 403)
            frame = await self.guards.frame(token, agent)
            return html_page(pages.message_page("无权操作", str(hidden), frame), 403)
        except NotFound:
            return await self._refused(request, agent, token, handoff_id, NOT_FOUND, 404, drafts)
        except HandoffConflict as conflict:
            return await self._refused(request, agent, token, handoff_id, str(conflict), 409, drafts)
        except InvalidInput as problem:
            return await self._refused(request, agent, token, handoff_id, str(problem), 400, drafts)
        warning = await after(result) if after else None
        if wants_json(request):
            return json_reply({"ok": True, "warning": warning})
        if not await in_thread(self.services.visible, handoff_id, agent):
            # e.g. resolved or transferred by a plain agent: it is no longer theirs to open
            if warning:
                return await self._queue_page(request, agent, await self.guards.frame(token, agent), warning)
            return see_other(CONSOLE_PATH)
        if warning:
            return await self._refused(request, agent, token, handoff_id, warning, 200)
        return see_other(conversation_url(handoff_id))

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
        frame = await self.guards.frame(token, agent)
        drafts = drafts or {}
        return await self._render_conversation(
            request,
            frame,
            handoff_id,
            reason,
            status,
            reply_draft=drafts.get("reply_draft", ""),
            note_draft=drafts.get("note_draft", ""),
        )

    async def _claim(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        async def announce(handoff: HandoffView) -> Optional[str]:
            try:
                await bridge.announce_agent(request.app, handoff, agent.display_name)
            except Exception:  # noqa: BLE001 - claimed already; the agent must hear about it
                logger.exception("console: telling the user of handoff %s failed", handoff.id)
                return DELIVERY_FAILED
            return None

        handoffs = self.services.handoffs
        return await self._act(
            request, agent, token, handoff_id, lambda: handoffs.claim(handoff_id, agent.id), announce
        )

    async def _reply(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        text = _form_text(request)
        handoffs = self.services.handoffs

        def step() -> Tuple[Any, HandoffView]:
            message = handoffs.reply(handoff_id, agent.id, text)
            return message, handoffs.get(handoff_id)

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
        handoffs = self.services.handoffs
        return await self._act(
            request,
            agent,
            token,
            handoff_id,
            lambda: handoffs.note(handoff_id, agent.id, text),
            None,
            {"note_draft": text},
        )

    async def _transfer(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        raw = ((request.form or {}).get("agent_id") or "").strip()
        if not raw.isdigit():
            return await self._refused(request, agent, token, handoff_id, "请选择要转给的客服。", 400)
        handoffs = self.services.handoffs
        return await self._act(
            request, agent, token, handoff_id, lambda: handoffs.transfer(handoff_id, agent.id, int(raw))
        )

    async def _hand_back(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        return await self._close(request, agent, token, handoff_id, self.services.handoffs.hand_back)

    async def _resolve(self, request: Request, agent: AgentView, token: str, handoff_id: int) -> HTTPResponse:
        return await self._close(request, agent, token, handoff_id, self.services.handoffs.resolve)

    async def _close(
        self,
        request: Request,
        agent: AgentView,
        token: str,
        handoff_id: int,
        close: Callable[[int, int], HandoffView],
    ) -> HTTPResponse:
        """Hand back or resolve: ``close(handoff_id, agent_id)``, then the assistant takes over."""

        async def give_back(handoff: HandoffView) -> Optional[str]:
            try:
                await bridge.give_back_to_assistant(request.app, handoff)
            except Exception:  # noqa: BLE001 - closed already; the agent must hear about it
                logger.exception("console: giving handoff %s back to the assistant failed", handoff.id)
                return GIVE_BACK_FAILED
            return None

        return await self._act(request, agent, token, handoff_id, lambda: close(handoff_id, agent.id), give_back)

    # -- presence ----------------------------------------------------------------------

    async def _presence(self, request: Request, agent: AgentView, token: str) -> HTTPResponse:
        """在线 / 忙碌 / 离开 from the header; going online may assign her waiting
        conversations at once, whose users are told who took them."""
        form = request.form or {}
        try:
            assigned = await in_thread(self.services.set_presence, agent, form.get("presence") or "")
        except InvalidInput as problem:
            if wants_json(request):
                return json_reply({"error": str(problem)}, 400)
            frame = await self.guards.frame(token, agent)
            return html_page(pages.message_page("状态", str(problem), frame), 400)
        await announce_assigned(request.app, assigned)
        if wants_json(request):
            return json_reply({"ok": True, "presence": form.get("presence")})
        # Back to the page she was on: the path of the (same-origin, checked) Referer, only within the console.
        back = urlsplit(request.headers.get("referer") or "").path
        return see_other(back if back.startswith(CONSOLE_PATH) and "//" not in back else CONSOLE_PATH)

    # -- reports -----------------------------------------------------------------------

    async def _reports_page(self, request: Request, agent: AgentView, frame: Frame) -> HTTPResponse:
        days = _report_days(request)
        if days is None:
            return html_page(pages.message_page("统计报表", BAD_DAYS, frame), 400)
        try:
            report = await in_thread(self.services.report, days)
            agents = await in_thread(self.services.agent_report, days)
            teams = await in_thread(self.services.team_report, days)
        except ValueError as problem:  # SUPPORT_TIMEZONE
            return html_page(pages.message_page("统计报表", str(problem), frame), 500)
        return html_page(pages.reports_page(frame, report, days, agents, teams))

    async def _reports_csv(self, request: Request, agent: AgentView, frame: Frame) -> HTTPResponse:
        days = _report_days(request)
        by = request.args.get("by") or "day"
        if days is None or by not in ("day", "agent", "team"):
            problem = BAD_DAYS if days is None else "by 只能是 day（每日数据）、agent（每位客服）或 team（每个团队）。"
            return html_page(pages.message_page("统计报表", problem, frame), 400)
        try:
            if by == "day":
                rows = report_csv_rows(await in_thread(self.services.report, days))
            elif by == "agent":
                rows = agent_csv_rows(await in_thread(self.services.agent_report, days))
            else:
                rows = team_csv_rows(await in_thread(self.services.team_report, days))
        except ValueError as problem:  # SUPPORT_TIMEZONE
            return html_page(pages.message_page("统计报表", str(problem), frame), 500)
        return csv_reply(rows, f"handoff-report-{by}-{days}d.csv")

    # -- search ------------------------------------------------------------------------

    async def _search_page(self, request: Request, agent: AgentView, frame: Frame) -> HTTPResponse:
        query = {name: (request.args.get(name) or "").strip()[:100] for name in SEARCH_FIELDS}
        if not any(query.values()) and not request.args.get("page"):
            agents = await in_thread(self.services.agents.list)
            teams = await in_thread(self.services.teams.list)
            return html_page(pages.search_page(frame, query, None, [], agents, {}, teams=teams))
        try:
            criteria = search_criteria(query)
        except ValueError as problem:
            agents = await in_thread(self.services.agents.list)
            teams = await in_thread(self.services.teams.list)
            return html_page(pages.search_page(frame, query, None, [], agents, {}, str(problem), teams), 400)
        raw_page = request.args.get("page") or "1"
        page_number = int(raw_page) if raw_page.isdigit() else 1
        found, results, agents = await in_thread(
            self.services.search, criteria, agent, client_address(request), page_number
        )
        links = {}
        kept = {name: value for name, value in query.items() if value}
        if found.page > 1:
            links["prev"] = url("search") + "?" + urlencode({**kept, "page": found.page - 1})
        if found.page < found.pages:
            links["next"] = url("search") + "?" + urlencode({**kept, "page": found.page + 1})
        teams = await in_thread(self.services.teams.list)
        return html_page(pages.search_page(frame, query, found, results, agents, links, teams=teams))


async def announce_assigned(app: Any, assigned: Sequence[HandoffView]) -> None:
    """Tells the users of auto-assigned handoffs who took them (a failure is logged: the
    agent sees the conversation anyway, and the user sees her first reply)."""
    for handoff in assigned:
        try:
            await bridge.announce_agent(app, handoff, handoff.agent_name or "")
        except Exception:  # noqa: BLE001 - assigned already; one failed notice must not stop the others
            logger.exception("console: telling the user of auto-assigned handoff %s failed", handoff.id)


def _form_text(request: Request) -> str:
    return (request.form or {}).get("text") or ""


def _via(request: Request) -> Union[int, bool]:
    """``?via=<id>``: the held handoff a history read goes through; 0: none; False: not a number."""
    raw = (request.args.get("via") or "").strip()
    if not raw:
        return 0
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else False


def _report_days(request: Request) -> Optional[int]:
    raw = (request.args.get("days") or "7").strip()
    days = int(raw) if raw.isdigit() else 0
    return days if 1 <= days <= MAX_REPORT_DAYS else None
