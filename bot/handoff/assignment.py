"""The auto-assignment rule, as queries (``HandoffService.auto_assign`` runs them).

An agent is *available* when she is active, set herself 在线 (``Presence.ONLINE``)
and her console showed a sign of life within ``PRESENCE_STALE``.  A waiting
handoff is offered to the available agents of its team (any available agent
when it has no team) in this order: the fewest open (assigned) conversations
first, then the one whose latest auto-assignment is oldest (round robin on
ties: ``Agent.assignment_turn``), then the lowest id; agents holding
``HANDOFF_MAX_OPEN_PER_AGENT`` open conversations or more are skipped.  With
nobody left it stays in the team's queue, for a later sweep or a claim.

Races: :func:`lock_agent` is the first statement of an assignment's
transaction, a conditional ``UPDATE`` of the agent's row (still available;
her turn moves to the end).  On PostgreSQL it holds the row lock until
commit, on SQLite the database's write lock, so two processes assigning to
the same agent run one after the other and the second counts the first one's
conversation (:func:`open_count`) before the cap is checked; the handoff's
own ``UPDATE ... WHERE state = 'waiting'`` makes sure it goes to one agent.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from bot import config
from bot.handoff.agents import PRESENCE_STALE
from bot.handoff.models import Agent, Handoff, HandoffState, Presence, TeamMember


def max_open_per_agent() -> int:
    """HANDOFF_MAX_OPEN_PER_AGENT: at least 1."""
    cap = config.get_int("HANDOFF_MAX_OPEN_PER_AGENT")
    if cap < 1:
        raise ValueError(f"setting HANDOFF_MAX_OPEN_PER_AGENT must be at least 1, got {cap}")
    return cap


def _available(now: datetime) -> list:
    return [
        Agent.active.is_(True),
        Agent.presence == Presence.ONLINE,
        Agent.presence_seen_at.is_not(None),
        Agent.presence_seen_at >= now - PRESENCE_STALE,
    ]


def _of_team(team_id: Optional[int]) -> list:
    if team_id is None:
        return []
    return [Agent.id.in_(select(TeamMember.agent_id).where(TeamMember.team_id == team_id))]


def candidates(session: Session, team_id: Optional[int], now: datetime, cap: int) -> List[Tuple[int, int]]:
    """(agent id, open conversations) of the available agents under the cap, in the order offered."""
    open_conversations = (
        select(func.count(Handoff.id))
        .where(Handoff.agent_id == Agent.id, Handoff.state == HandoffState.ASSIGNED)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Agent.id, open_conversations)
        .where(*_available(now), *_of_team(team_id))
        .order_by(open_conversations, Agent.assignment_turn, Agent.id)
    ).all()
    return [(agent_id, count) for agent_id, count in rows if count < cap]


def available_count(session: Session, team_id: Optional[int], now: datetime) -> int:
    """How many agents of the team (any, for None) are available now, whatever their load."""
    return int(session.execute(select(func.count(Agent.id)).where(*_available(now), *_of_team(team_id))).scalar_one())


def lock_agent(session: Session, agent_id: int, now: datetime) -> bool:
    """The assignment's first statement: takes the agent's lock and her turn
    (the highest), if she is still available; False when she is not."""
    everyone = aliased(Agent)  # an alias: the highest turn of all agents, not a subquery correlated to the row
    next_turn = select(func.coalesce(func.max(everyone.assignment_turn), 0) + 1).scalar_subquery()
    result = session.execute(
        update(Agent)
        .where(Agent.id == agent_id, *_available(now))
        .values(assignment_turn=next_turn)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def open_count(session: Session, agent_id: int) -> int:
    return int(
        session.execute(
            select(func.count(Handoff.id)).where(Handoff.agent_id == agent_id, Handoff.state == HandoffState.ASSIGNED)
        ).scalar_one()
    )
