"""The console's HTML, rendered on the server: one function per page, each one
template of ``templates/`` (the template mechanism of ``bot/web/rendering.py``,
autoescaping on).  Fragments — a queue row, a message, a chart, a form's CSRF
field — are ``<%def>`` blocks of the templates, one per fragment.  Queue rows
are drawn here only: the page script takes fresh ones from a fresh copy of
the queue page.  (It still appends a conversation's new messages and an
action's error itself, from the JSON, in the markup of ``message_item`` and
``alert``.)

The pages carry no inline script or style (the console's Content-Security-Policy
is ``script-src 'self'; style-src 'self'``): behaviour is in ``static/console.js``
and the look in ``static/console.css``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from bot.console import charts
from bot.console.views import (
    AGENT_REPORT_HEAD,
    TEAM_REPORT_HEAD,
    Frame,
    abilities,
    agent_report_cells,
    channel_choices,
    day_of,
    handoff_row,
    log_entry_view,
    message_json,
    reason_label,
    report_cells,
    report_day_choices,
    report_totals,
    state_choices,
    status_line,
    summary_rows,
    team_report_cells,
)
from bot.handoff.agents import AgentView
from bot.handoff.canned import CannedReply, grouped
from bot.handoff.conversation_log import LogEntry
from bot.handoff.models import HandoffReason
from bot.handoff.reports import AgentStats, HandoffReport, TeamStats
from bot.handoff.search import SearchPage
from bot.handoff.service import HandoffView, MessageView
from bot.handoff.teams import TeamView, routable_topics
from bot.web.rendering import Templates

TEMPLATES = Templates(Path(__file__).resolve().parent / "templates")


def _page(template: str, title: str, page: str, frame: Optional[Frame], **values: Any) -> str:
    """A console page: ``title`` in the title bar, ``page`` names it for the page script."""
    return TEMPLATES.render(template, title=title, page=page, frame=frame, **values)


def login_page(login_csrf: str, login: str = "", error: str = "", message: str = "") -> str:
    return _page("login.mako", "登录", "login", None, login_csrf=login_csrf, login=login, error=error, message=message)


def message_page(title: str, text: str, frame: Optional[Frame] = None) -> str:
    return _page("message.mako", title, "message", frame, text=text)


def queue_page(
    frame: Frame,
    waiting: Sequence[Dict[str, Any]],
    mine: Sequence[Dict[str, Any]],
    others: Sequence[Dict[str, Any]],
    error: str = "",
) -> str:
    """The queue; rows as ``views.queue_row_json``."""
    return _page("queue.mako", "排队与会话", "queue", frame, waiting=waiting, mine=mine, others=others, error=error)


def conversation_page(
    frame: Frame,
    handoff: HandoffView,
    messages: Sequence[MessageView],
    transfer_targets: Sequence[AgentView],
    canned: Sequence[CannedReply],
    error: str = "",
    reply_draft: str = "",
    note_draft: str = "",
    log: Sequence[LogEntry] = (),
    history: Optional[Sequence[HandoffView]] = None,
    via: Optional[int] = None,
) -> str:
    """``log``: the conversation before the handoff; ``history``: the same user's other
    handoffs (None: not shown to this agent); ``via``: opened from that handoff's history.
    A conversation the agent may read but not act on (her team's) says it is read-only."""
    return _page(
        "conversation.mako",
        f"会话 #{handoff.id}",
        "conversation",
        frame,
        handoff=handoff,
        log=[log_entry_view(entry, handoff.id, via) for entry in log],
        reason=reason_label(handoff.reason),
        history=None if history is None else [handoff_row(other) for other in history],
        via=via,
        team_read=via is None and not handoff.may_act(frame.agent.id, frame.agent.is_admin),
        status=status_line(handoff, frame.agent),
        can=abilities(handoff, frame.agent),
        summary=summary_rows(handoff),
        messages=[message_json(message) for message in messages],
        last_message=messages[-1].id if messages else 0,
        targets=transfer_targets,
        canned=grouped(canned),
        error=error,
        reply_draft=reply_draft,
        note_draft=note_draft,
    )


def search_page(
    frame: Frame,
    query: Dict[str, str],
    found: Optional[SearchPage],
    results: Sequence[HandoffView],
    agents: Sequence[AgentView],
    page_links: Dict[str, str],
    error: str = "",
    teams: Sequence[TeamView] = (),
) -> str:
    """The search form (``query``: the fields as typed) and a page of results (None: no search yet);
    ``page_links``: the addresses of the previous and next pages, where there are; ``teams``: the
    teams to filter by."""
    return _page(
        "search.mako",
        "会话搜索",
        "search",
        frame,
        query=query,
        found=found,
        rows=[handoff_row(handoff) for handoff in results],
        agents=agents,
        teams=teams,
        states=state_choices(),
        channels=channel_choices(),
        page_links=page_links,
        error=error,
    )


def reports_page(
    frame: Frame,
    report: HandoffReport,
    days: int,
    agents: Sequence[AgentStats] = (),
    teams: Sequence[TeamStats] = (),
) -> str:
    return _page(
        "reports.mako",
        "统计报表",
        "reports",
        frame,
        days=days,
        choices=report_day_choices(days),
        timezone=report.timezone,
        totals=report_totals(report.total),
        charts=charts.report_charts(report, days),
        reasons=[reason_label(reason) for reason in HandoffReason],
        rows=[(day_of(stats).isoformat(), report_cells(stats)) for stats in report.days],
        total=report_cells(report.total),
        agent_head=AGENT_REPORT_HEAD,
        agent_rows=[agent_report_cells(stats) for stats in agents],
        agent_charts=charts.agent_charts(agents, days),
        team_head=TEAM_REPORT_HEAD,
        team_rows=[team_report_cells(stats) for stats in teams],
    )


def teams_page(frame: Frame, teams: Sequence[TeamView], agents: Sequence[AgentView], error: str = "") -> str:
    """团队管理 (admins): the teams with members and topics, and the forms that change them."""
    routed = {topic: team.name for team in teams for topic in team.topics}
    questions = routable_topics()
    topics = [(key, question, routed.get(key)) for key, question in questions.items()]
    return _page(
        "teams.mako",
        "团队管理",
        "teams",
        frame,
        teams=teams,
        agents=agents,
        topics=topics,
        questions=questions,
        error=error,
    )
