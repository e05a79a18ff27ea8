"""Per-day figures of the human handoff, for the CLI table and the console's charts.

Days are calendar days in ``SUPPORT_TIMEZONE``; the report covers the last
``days`` of them, today included, oldest first, plus a total over the whole
period (its medians are over all handoffs, not medians of the days).

* conversations: distinct ``sender_id`` with a user message that day in
  Rasa's tracker table ``events`` (``timestamp`` in unix seconds); 0 when that
  table is not in this database.  The total counts each conversation once.
* handoffs and everything about them belong to the day the handoff was
  requested: by reason, time to the first agent reply (median and p90,
  nearest rank), resolution time (request → closed by an agent, ``resolved``
  handoffs of either outcome), ratings, abandoned ones.

``agent_report`` gives the same period per agent: the handoffs an agent
held last (claimed, or transferred to her) among those requested in the
period, how they ended (resolved / handed back), her first response time
(claim → her first reply: the queue's wait is not hers), handling time
(claim → closed) as medians, and the ratings.  Agents with no handoff in the
period are listed with zeros, so the table names everyone.  ``team_report``
gives the same figures per team: the handoffs routed to the team (its
``team_id`` at the request) among those requested in the period, whoever held
them; teams with none are listed with zeros, and handoffs routed to no team
form a last row when there are any.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff.models import Agent, Handoff, HandoffOutcome, HandoffReason, HandoffState, Team
from bot.store import Database, utcnow
from bot.timezones import day_start_utc, local_time, support_zone

_EPOCH = datetime(1970, 1, 1)
_TRACKER_EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"), sa.column("type_name"))


@dataclass(frozen=True)
class HandoffStats:
    day: Optional[date]  # None: the whole period
    conversations: int
    handoffs: int
    by_reason: Dict[HandoffReason, int]  # every reason, zeros included
    first_reply_median_seconds: Optional[float]
    first_reply_p90_seconds: Optional[float]
    resolution_median_seconds: Optional[float]
    rating_average: Optional[float]
    rating_count: int
    abandoned: int

    @property
    def handoff_rate(self) -> Optional[float]:
        """Handoffs per conversation; None without conversations."""
        return self.handoffs / self.conversations if self.conversations else None


@dataclass(frozen=True)
class HandoffReport:
    timezone: str
    days: List[HandoffStats]
    total: HandoffStats


@dataclass(frozen=True)
class _HandoffFacts:
    day: date
    reason: HandoffReason
    state: HandoffState
    first_reply_seconds: Optional[float]
    resolution_seconds: Optional[float]
    rating: Optional[int]


def handoff_report(
    database: Database, days: int = 7, now: Optional[datetime] = None, timezone_name: Optional[str] = None
) -> HandoffReport:
    """The last ``days`` days up to ``now`` (naive UTC, default the current time)."""
    if days < 1:
        raise ValueError(f"a report covers at least 1 day, not {days}")
    zone = support_zone(timezone_name)
    today = local_time(now or utcnow(), zone).date()
    day_list = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    starts = [day_start_utc(day, zone) for day in day_list] + [day_start_utc(today + timedelta(days=1), zone)]
    with database.session() as session:
        tracker = _has_tracker_events(session)
        conversations = [
            _conversations(session, start, end) if tracker else 0
            for start, end in zip(starts, starts[1:], strict=False)
        ]
        total_conversations = _conversations(session, starts[0], starts[-1]) if tracker else 0
        facts = _handoff_facts(session, starts[0], starts[-1], zone)
    per_day = [
        _stats(day, count, [fact for fact in facts if fact.day == day])
        for day, count in zip(day_list, conversations, strict=True)
    ]
    return HandoffReport(zone.key, per_day, _stats(None, total_conversations, facts))


def _has_tracker_events(session: Session) -> bool:
    inspector = sa.inspect(session.connection())
    if not inspector.has_table("events"):
        return False
    columns = {column["name"] for column in inspector.get_columns("events")}
    return {"sender_id", "timestamp", "type_name"} <= columns


def _unix(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _conversations(session: Session, start: datetime, end: datetime) -> int:
    return session.execute(
        select(sa.func.count(sa.distinct(_TRACKER_EVENTS.c.sender_id))).where(
            _TRACKER_EVENTS.c.type_name == "user",
            _TRACKER_EVENTS.c.timestamp >= _unix(start),
            _TRACKER_EVENTS.c.timestamp < _unix(end),
        )
    ).scalar_one()


def _handoff_facts(session: Session, start: datetime, end: datetime, zone: ZoneInfo) -> List[_HandoffFacts]:
    rows = session.execute(
        select(Handoff).where(Handoff.created_at >= start, Handoff.created_at < end).order_by(Handoff.id)
    ).scalars()
    facts = []
    for row in rows:
        state = HandoffState(row.state)
        facts.append(
            _HandoffFacts(
                day=local_time(row.created_at, zone).date(),
                reason=HandoffReason(row.reason),
                state=state,
                first_reply_seconds=_seconds(row.created_at, row.first_reply_at),
                resolution_seconds=(
                    _seconds(row.created_at, row.closed_at) if state == HandoffState.RESOLVED else None
                ),
                rating=row.rating,
            )
        )
    return facts


def _seconds(start: Optional[datetime], end: Optional[datetime]) -> Optional[float]:
    return (end - start).total_seconds() if start and end else None


def _stats(day: Optional[date], conversations: int, facts: Sequence[_HandoffFacts]) -> HandoffStats:
    first_replies = [fact.first_reply_seconds for fact in facts if fact.first_reply_seconds is not None]
    resolutions = [fact.resolution_seconds for fact in facts if fact.resolution_seconds is not None]
    ratings = [fact.rating for fact in facts if fact.rating is not None]
    return HandoffStats(
        day=day,
        conversations=conversations,
        handoffs=len(facts),
        by_reason={reason: sum(fact.reason == reason for fact in facts) for reason in HandoffReason},
        first_reply_median_seconds=statistics.median(first_replies) if first_replies else None,
        first_reply_p90_seconds=percentile(first_replies, 90),
        resolution_median_seconds=statistics.median(resolutions) if resolutions else None,
        rating_average=sum(ratings) / len(ratings) if ratings else None,
        rating_count=len(ratings),
        abandoned=sum(fact.state == HandoffState.ABANDONED for fact in facts),
    )


def percentile(values: Sequence[float], percent: float) -> Optional[float]:
    """Nearest-rank percentile: the smallest value with ``percent`` % of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class AgentStats:
    agent_id: int
    login: str
    name: str
    active: bool
    handoffs: int
    resolved: int
    handed_back: int
    first_reply_median_seconds: Optional[float]
    handling_median_seconds: Optional[float]
    rating_average: Optional[float]
    rating_count: int


@dataclass(frozen=True)
class TeamStats:
    team_id: Optional[int]  # None: the handoffs routed to no team
    name: str
    handoffs: int
    resolved: int
    handed_back: int
    first_reply_median_seconds: Optional[float]
    handling_median_seconds: Optional[float]
    rating_average: Optional[float]
    rating_count: int


NO_TEAM = "未分配团队"


def _period(days: int, now: Optional[datetime], timezone_name: Optional[str]) -> Tuple[datetime, datetime]:
    """The UTC bounds of the last ``days`` days in the support time zone, today included."""
    if days < 1:
        raise ValueError(f"a report covers at least 1 day, not {days}")
    zone = support_zone(timezone_name)
    today = local_time(now or utcnow(), zone).date()
    return day_start_utc(today - timedelta(days=days - 1), zone), day_start_utc(today + timedelta(days=1), zone)


def team_report(
    database: Database, days: int = 7, now: Optional[datetime] = None, timezone_name: Optional[str] = None
) -> List[TeamStats]:
    """Per team, the handoffs routed to it and requested in the last ``days`` days (see the
    module docstring), the teams by name."""
    start, end = _period(days, now, timezone_name)
    with database.session() as session:
        teams = session.execute(select(Team).order_by(Team.name)).scalars().all()
        rows = (
            session.execute(select(Handoff).where(Handoff.created_at >= start, Handoff.created_at < end))
            .scalars()
            .all()
        )
        by_team: Dict[Optional[int], List[Handoff]] = {}
        for row in rows:
            by_team.setdefault(row.team_id, []).append(row)
        found = [TeamStats(team.id, team.name, **_figures(by_team.get(team.id, []))) for team in teams]
        if by_team.get(None):
            found.append(TeamStats(None, NO_TEAM, **_figures(by_team[None])))
        return found


def agent_report(
    database: Database, days: int = 7, now: Optional[datetime] = None, timezone_name: Optional[str] = None
) -> List[AgentStats]:
    """Per agent, the handoffs requested in the last ``days`` days (see the module docstring),
    the agents in login order."""
    start, end = _period(days, now, timezone_name)
    with database.session() as session:
        agents = session.execute(select(Agent).order_by(Agent.login)).scalars().all()
        rows = (
            session.execute(
                select(Handoff).where(
                    Handoff.created_at >= start, Handoff.created_at < end, Handoff.agent_id.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        by_agent: Dict[int, List[Handoff]] = {}
        for row in rows:
            by_agent.setdefault(row.agent_id, []).append(row)
        return [_agent_stats(agent, by_agent.get(agent.id, [])) for agent in agents]


def _agent_stats(agent: Agent, rows: Sequence[Handoff]) -> AgentStats:
    return AgentStats(
        agent_id=agent.id,
        login=agent.login,
        name=agent.display_name,
        active=bool(agent.active),
        **_figures(rows),
    )


def _figures(rows: Sequence[Handoff]) -> Dict[str, Any]:
    """The figures an agent's and a team's row share (first response and handling from the claim)."""
    first_replies = [seconds for row in rows if (seconds := _seconds(row.claimed_at, row.first_reply_at)) is not None]
    handling = [
        seconds
        for row in rows
        if row.state == HandoffState.RESOLVED and (seconds := _seconds(row.claimed_at, row.closed_at)) is not None
    ]
    ratings = [row.rating for row in rows if row.rating is not None]
    return {
        "handoffs": len(rows),
        "resolved": sum(row.outcome == HandoffOutcome.RESOLVED for row in rows),
        "handed_back": sum(row.outcome == HandoffOutcome.HANDED_BACK for row in rows),
        "first_reply_median_seconds": statistics.median(first_replies) if first_replies else None,
        "handling_median_seconds": statistics.median(handling) if handling else None,
        "rating_average": sum(ratings) / len(ratings) if ratings else None,
        "rating_count": len(ratings),
    }
