"""Search of past and present handoffs for the console: by the day requested,
state, team, agent, channel, problem and text, a page at a time, the latest first.

* Who finds what is the console's read rule (``bot.handoff.access.readable``,
  the one place to change it), applied in the query: an admin finds every
  handoff; a plain agent what she may open — the waiting ones, those assigned
  to her, and every handoff routed to a team she belongs to (open or closed,
  whoever holds it; read-only unless it is hers or waiting).
* Text matches the handoff's problem, its summary (which holds the user's
  words before the handoff and what the assistant found) and its transcript
  (messages and notes), case-insensitively: ``ILIKE`` on PostgreSQL, ``LIKE``
  on SQLite (case-insensitive for ASCII there); ``%`` and ``_`` typed by the
  agent match themselves.  Problem matches the ``problem`` column the same way.
  The same patterns on both engines find the same (Chinese and ASCII terms); on PostgreSQL the
  GIN trigram indexes of revision 0008 (``pg_trgm``, where the database
  allows it) serve them for terms of three characters or more.
* Days are calendar days in ``SUPPORT_TIMEZONE`` (``date_from`` and
  ``date_to`` both included).
* Every search is audited by the caller's service (``HandoffService.search``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, List, Optional

from sqlalchemy import false, func, select, union
from sqlalchemy.orm import Session, aliased

from bot.handoff.access import readable
from bot.handoff.models import Handoff, HandoffMessage, HandoffState
from bot.timezones import day_start_utc, support_zone

PAGE_SIZE = 20
MAX_TEXT_CHARS = 100  # of a search term


@dataclass(frozen=True)
class SearchCriteria:
    """What to look for; None or empty: any."""

    date_from: Optional[date] = None
    date_to: Optional[date] = None
    state: Optional[HandoffState] = None
    agent_id: Optional[int] = None
    channel: Optional[str] = None
    problem: str = ""
    text: str = ""
    team_id: Optional[int] = None  # the team it was routed to

    def as_audit(self) -> dict:
        """The criteria as the audit log keeps them (the text too: the agent typed it)."""
        fields = {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "state": self.state.value if self.state else None,
            "agent_id": self.agent_id,
            "team_id": self.team_id,
            "channel": self.channel,
            "problem": self.problem or None,
            "text": self.text or None,
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class SearchPage:
    ids: List[int]  # the handoffs of this page, the latest first
    total: int
    page: int  # 1-based
    pages: int


def _contains(column: Any, term: str, dialect: str) -> Any:
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


def conditions(criteria: SearchCriteria, dialect: str, timezone_name: Optional[str] = None) -> List[Any]:
    """The WHERE clauses of ``criteria`` (visibility not included)."""
    found: List[Any] = []
    if criteria.date_from or criteria.date_to:
        zone = support_zone(timezone_name)
        if criteria.date_from:
            found.append(Handoff.created_at >= day_start_utc(criteria.date_from, zone))
        if criteria.date_to:
            found.append(Handoff.created_at < day_start_utc(criteria.date_to + timedelta(days=1), zone))
    if criteria.state is not None:
        found.append(Handoff.state == criteria.state)
    if criteria.agent_id is not None:
        found.append(Handoff.agent_id == criteria.agent_id)
    if criteria.team_id is not None:
        found.append(Handoff.team_id == criteria.team_id)
    if criteria.channel:
        found.append(Handoff.channel == criteria.channel)
    problem = criteria.problem.strip()[:MAX_TEXT_CHARS]
    if problem:
        found.append(_contains(Handoff.problem, problem, dialect))
    text = criteria.text.strip()[:MAX_TEXT_CHARS]
    if text:
        # One IN over a UNION, not "summary OR EXISTS (messages)": PostgreSQL serves each arm
        # from its trigram index (an OR with a subquery would scan every handoff's summary).
        summaries = aliased(Handoff)
        in_summary = select(summaries.id).where(_contains(summaries.summary, text, dialect))
        in_messages = select(HandoffMessage.handoff_id).where(_contains(HandoffMessage.text, text, dialect))
        found.append(Handoff.id.in_(union(in_summary, in_messages)))
    if criteria.date_from and criteria.date_to and criteria.date_from > criteria.date_to:
        found.append(false())
    return found


def search(
    session: Session,
    criteria: SearchCriteria,
    agent_id: int,
    is_admin: bool,
    page: int = 1,
    page_size: Optional[int] = None,
    timezone_name: Optional[str] = None,
) -> SearchPage:
    """One page (of ``page_size``, default :data:`PAGE_SIZE`) of the handoffs the agent may find
    that meet ``criteria``."""
    page_size = page_size or PAGE_SIZE
    dialect = session.get_bind().dialect.name
    where = [readable(agent_id, is_admin), *conditions(criteria, dialect, timezone_name)]
    total = session.execute(select(func.count()).select_from(Handoff).where(*where)).scalar_one()
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    ids = (
        session.execute(
            select(Handoff.id)
            .where(*where)
            .order_by(Handoff.created_at.desc(), Handoff.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        .scalars()
        .all()
    )
    return SearchPage(list(ids), total, page, pages)
