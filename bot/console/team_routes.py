"""The console's 团队管理 page (administrators only): teams, their members,
the default team and the routing of topics to teams, through
``bot.handoff.teams.TeamDirectory`` (``ConsoleServices.teams``).

  GET  teams                               the page
  POST teams/create|delete|default|add|remove|route|unroute   one change each

A plain agent gets HTTP 403 for all of them.  Every change is audited as
``agent:<login>`` by the team directory; a refusal (a duplicate name, an
unknown topic or agent) is shown on the page with HTTP 400.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from sanic.request import Request
from sanic.response import HTTPResponse

from bot.accounts.checks import InvalidInput
from bot.channels.common import in_thread
from bot.console import pages
from bot.console.guards import Guards
from bot.console.responses import html_page, see_other
from bot.console.services import ConsoleServices
from bot.console.views import Frame, url
from bot.handoff.agents import AgentView
from bot.handoff.teams import TeamDirectory
from bot.store import NotFound

ADMINS_ONLY = "团队管理只有管理员可以使用。"

# Each form of the page: its fields → the team directory's change.
Change = Callable[[TeamDirectory, Dict[str, str], str], Any]
CHANGES: Dict[str, Change] = {
    "create": lambda teams, form, actor: teams.create(form["name"], actor, default=form.get("default") == "1"),
    "delete": lambda teams, form, actor: teams.delete(form["team"], actor),
    "default": lambda teams, form, actor: teams.set_default(form.get("team") or None, actor),
    "add": lambda teams, form, actor: teams.add_member(form["team"], form["login"], actor),
    "remove": lambda teams, form, actor: teams.remove_member(form["team"], form["login"], actor),
    "route": lambda teams, form, actor: teams.route(form["topic"], form["team"], actor),
    "unroute": lambda teams, form, actor: teams.unroute(form["topic"], actor),
}


class TeamRoutes:
    def __init__(self, services: Callable[[], ConsoleServices], guards: Guards) -> None:
        self._services = services
        self.guards = guards

    def register(self, add: Callable[..., None]) -> None:
        """``add(handler, uri, method, name)``: the console's route table (``ConsoleRoutes.register``)."""
        add(self.guards.page(self._page), "/teams", "GET", "console_teams")
        for name in CHANGES:
            add(self.guards.action(self._changer(name)), f"/teams/{name}", "POST", f"console_teams_{name}")

    async def _page(self, request: Request, agent: AgentView, frame: Frame) -> HTTPResponse:
        return await self._render(agent, frame)

    async def _render(self, agent: AgentView, frame: Frame, error: str = "", status: int = 200) -> HTTPResponse:
        if not agent.is_admin:
            return html_page(pages.message_page("团队管理", ADMINS_ONLY, frame), 403)
        teams, agents = await in_thread(self._services().team_page)
        return html_page(pages.teams_page(frame, teams, agents, error), status)

    def _changer(self, name: str) -> Callable[..., Any]:
        async def change(request: Request, agent: AgentView, token: str) -> HTTPResponse:
            if not agent.is_admin:
                frame = await self.guards.frame(token, agent)
                return html_page(pages.message_page("团队管理", ADMINS_ONLY, frame), 403)
            form = {key: (request.form or {}).get(key) or "" for key in ("name", "team", "login", "topic", "default")}
            try:
                await in_thread(CHANGES[name], self._services().teams, form, agent.actor)
            except (InvalidInput, NotFound) as refusal:
                return await self._render(agent, await self.guards.frame(token, agent), str(refusal), 400)
            return see_other(url("teams"))

        return change
