"""What the console reads and changes, through the handoff services only (the
SQL is in ``bot/handoff``): :class:`ConsoleServices` gathers the reads a page
needs into one call each, for the route handlers to run off the event loop.
Who may act on and who may read which conversation is ``bot.handoff.access``:
the queue lists what the agent may act on, search finds what she may read
(her teams' conversations too, read-only), and a conversation is read through
``HandoffService.read_transcript`` (checked and audited; ``HandoffHidden``
when the agent may not read it).

:func:`connect` is the one place the console obtains its database and
services: the process's (``bot.services.services()``) unless it is given
others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bot.accounts.service import AccountService
from bot.console.views import Frame, handoff_json, message_json, queue_row_json
from bot.handoff.agents import AgentDirectory, AgentView
from bot.handoff.canned import CannedReply, canned_replies
from bot.handoff.conversation_log import LogEntry
from bot.handoff.models import HandoffState, Presence
from bot.handoff.reports import AgentStats, HandoffReport, TeamStats, agent_report, handoff_report, team_report
from bot.handoff.request_summary import summary_language
from bot.handoff.search import SearchCriteria, SearchPage
from bot.handoff.service import HandoffHidden, HandoffService, HandoffView, MessageView
from bot.handoff.teams import TeamDirectory, TeamView
from bot.services import Services
from bot.services import services as process_services
from bot.store import Database, NotFound

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Conversation:
    """What a conversation's page shows."""

    handoff: HandoffView
    messages: List[MessageView]
    transfer_targets: List[AgentView]  # active agents other than the handoff's own
    canned: Sequence[CannedReply]
    log: List[LogEntry]  # the conversation before the handoff
    history: Optional[List[HandoffView]]  # the same user's other handoffs; None: not for this agent
    via: Optional[int] = None  # read as the history of this handoff, held by the agent


@dataclass(frozen=True)
class ConsoleServices:
    database: Database
    handoffs: HandoffService
    agents: AgentDirectory
    teams: TeamDirectory
    clock: Clock
    accounts: Optional[AccountService] = None  # the photos' thumbnails

    def frame(self, token: str, agent: AgentView) -> Frame:
        """What every page of a logged-in agent carries."""
        csrf = self.agents.session_csrf(token) or ""
        # The event id first: anything that happens after it reaches the page by polling.
        last_event = self.handoffs.latest_event_id()
        return Frame(agent, csrf, last_event, len(self.handoffs.queue()))

    def queue_lists(self, agent: AgentView) -> Dict[str, List[Dict[str, Any]]]:
        """Waiting (oldest first), mine and the others' assigned conversations,
        as rows (``views.queue_row_json``); the others' only for admins."""
        now = self.clock()
        waiting = [queue_row_json(entry.handoff, entry.waiting_seconds) for entry in self.handoffs.queue()]
        mine: List[Dict[str, Any]] = []
        others: List[Dict[str, Any]] = []
        for handoff in self.handoffs.assigned_to(None if agent.is_admin else agent.id):
            if not handoff.may_act(agent.id, agent.is_admin):
                continue
            since = int(max(0, (now - (handoff.claimed_at or handoff.created_at)).total_seconds()))
            row = queue_row_json(handoff, since)
            (mine if handoff.agent_id == agent.id else others).append(row)
        return {"waiting": waiting, "mine": mine, "others": others}

    def queue_snapshot(self, agent: AgentView) -> Dict[str, Any]:
        """``api/queue``: the last event id, then the three lists."""
        last_event = self.handoffs.latest_event_id()
        return {"last_event_id": last_event, **self.queue_lists(agent)}

    def conversation(
        self, handoff_id: int, agent: AgentView, client_address: str, via: Optional[int] = None
    ) -> Optional[Conversation]:
        """None: no such handoff; HandoffHidden: not for this agent (``via``: the open
        handoff of the same user she holds).  The reads are audited."""
        try:
            handoff, messages = self.handoffs.read_transcript(handoff_id, agent.id, client_address, via=via)
        except NotFound:
            return None
        targets = [
            candidate for candidate in self.agents.list() if candidate.active and candidate.id != handoff.agent_id
        ]
        history: Optional[List[HandoffView]] = None
        if via is None and (agent.is_admin or (handoff.agent_id == agent.id and handoff.is_open)):
            try:
                history = self.handoffs.history(handoff_id, agent.id, client_address)
            except HandoffHidden:  # transferred meanwhile
                history = None
        log = self.handoffs.conversation_log(handoff)
        # The canned answers in the user's language first (an English user's agent starts with the English ones).
        canned = canned_replies(summary_language(handoff.summary))
        return Conversation(handoff, messages, targets, canned, log, history, via)

    def thumbnail(
        self, handoff_id: int, upload_id: str, agent: AgentView, client_address: str, via: Optional[int] = None
    ) -> Optional[bytes]:
        """The masked thumbnail of a photo of the handoff's conversation, for an agent who
        may read the handoff (audited: ``handoff_photo_read``); None: no such photo (or
        handoff); HandoffHidden: not for this agent."""
        if self.accounts is None:
            return None
        try:
            handoff = self.handoffs.read_access(handoff_id, agent.id, client_address, "photo", via)
        except NotFound:
            return None
        return self.accounts.photo_thumbnail(upload_id, handoff.sender_id)

    def search(
        self, criteria: SearchCriteria, agent: AgentView, client_address: str, page: int
    ) -> Tuple[SearchPage, List[HandoffView], List[AgentView]]:
        """A page of results (audited), and the agents to filter by."""
        found, views = self.handoffs.search(criteria, agent.id, client_address, page)
        return found, views, self.agents.list()

    def team_report(self, days: int) -> List[TeamStats]:
        """The last ``days`` days per team; ValueError for a wrong SUPPORT_TIMEZONE."""
        return team_report(self.database, days, now=self.clock())

    def agent_report(self, days: int) -> List[AgentStats]:
        """The last ``days`` days per agent; ValueError for a wrong SUPPORT_TIMEZONE."""
        return agent_report(self.database, days, now=self.clock())

    def conversation_update(
        self, handoff_id: int, after_message_id: int, agent: AgentView, client_address: str
    ) -> Optional[Dict[str, Any]]:
        """``api/conversations/<id>``: the handoff's state and the messages after
        ``after_message_id``; None: no such handoff; HandoffHidden: not for this
        agent.  The read is audited."""
        try:
            handoff, messages = self.handoffs.read_transcript(handoff_id, agent.id, client_address, after_message_id)
        except NotFound:
            return None
        return {
            "handoff": handoff_json(handoff, agent),
            "messages": [message_json(message) for message in messages],
        }

    def visible(self, handoff_id: int, agent: AgentView) -> bool:
        """Whether the conversation is still the agent's to act on (after an action: its page;
        else the queue, e.g. once she resolved or transferred it)."""
        try:
            return self.handoffs.get(handoff_id).may_act(agent.id, agent.is_admin)
        except NotFound:
            return False

    def set_presence(self, agent: AgentView, presence: str) -> List[HandoffView]:
        """在线 / 忙碌 / 离开 (InvalidInput otherwise); going online, she is offered the
        waiting conversations of her teams at once: the ones assigned now (to tell the users)."""
        chosen = self.agents.set_presence(agent.id, presence)
        return self.handoffs.assign_waiting() if chosen.presence == Presence.ONLINE else []

    def heartbeat(self, agent: AgentView) -> None:
        """Her console is open (it polls): keeps an online agent assignable."""
        self.agents.heartbeat(agent.id)

    def team_page(self) -> Tuple[List[TeamView], List[AgentView]]:
        """The teams page (admins): the teams, and the active agents one may add."""
        return self.teams.list(), [candidate for candidate in self.agents.list() if candidate.active]

    def report(self, days: int) -> HandoffReport:
        """The last ``days`` days' figures; ValueError for a wrong SUPPORT_TIMEZONE."""
        return handoff_report(self.database, days, now=self.clock())


def search_criteria(query: Dict[str, str]) -> SearchCriteria:
    """The search form's fields (``views.SEARCH_FIELDS``) as criteria; ValueError, in words
    for the agent, for a field that is not what the form offers."""
    state = query.get("state") or ""
    agent = query.get("agent") or ""
    team = query.get("team") or ""
    if state and state not in {value.value for value in HandoffState}:
        raise ValueError("没有这个状态，请从列表中选择。")
    if agent and not agent.isdigit():
        raise ValueError("请从列表中选择客服。")
    if team and not team.isdigit():
        raise ValueError("请从列表中选择团队。")
    return SearchCriteria(
        date_from=_day(query.get("from") or ""),
        date_to=_day(query.get("to") or ""),
        state=HandoffState(state) if state else None,
        agent_id=int(agent) if agent else None,
        channel=query.get("channel") or None,
        problem=query.get("problem") or "",
        text=query.get("q") or "",
        team_id=int(team) if team else None,
    )


def _day(raw: str) -> Optional[date]:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"日期“{raw}”不对，请写成 2026-11-23 这样。") from None


def connect(services: Optional[Services] = None) -> ConsoleServices:
    """The console's view of ``services``, else of the process's services."""
    built = services if services is not None else process_services()
    return ConsoleServices(built.database, built.handoffs, built.agents, built.teams, built.clock, built.accounts)
