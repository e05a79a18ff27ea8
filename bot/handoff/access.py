"""Least privilege in the console: which handoffs an agent may act on and which
she may read — the one place to change either.

* **Act** (claim, reply, note, transfer, hand back, resolve; the state machine
  narrows each further, e.g. only the holder replies): an admin every handoff;
  a plain agent the waiting ones and those assigned to her (claimed, or
  transferred to her).  :func:`may_act` in Python, :func:`actionable` the same
  rule as SQL (a test holds them equal).
* **Read** (the page, ``api/conversations/<id>``, photos, and what search
  finds): what she may act on, and every handoff routed to a team she belongs
  to now (``team_members``) — open or closed, whoever holds it — read-only.
  An admin reads everything.  :func:`readable` is the rule, as SQL: search
  filters by it and :func:`may_read` asks it of one row, so a search never
  finds what its result would refuse to open.  A handoff routed to no team is
  read (beyond the waiting ones and her own) by admins only; an agent who
  leaves a team stops reading its handoffs.
* What a handoff *links to* (the same user's earlier handoffs, read by the
  agent who holds it) is the handoff service's (``history``, ``via``).
* Every read is audited by the handoff service, allowed or refused.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from bot.handoff.models import Handoff, HandoffState, TeamMember


def may_act(state: HandoffState, holder_id: Optional[int], agent_id: int, is_admin: bool) -> bool:
    """Whether the agent may act on a handoff in ``state`` held by ``holder_id``:
    admins all; others the waiting ones and those assigned to them."""
    if is_admin:
        return True
    return state == HandoffState.WAITING or (state == HandoffState.ASSIGNED and holder_id == agent_id)


def actionable(agent_id: int, is_admin: bool) -> Any:
    """:func:`may_act` as a WHERE clause on ``handoffs``."""
    if is_admin:
        return true()
    return or_(
        Handoff.state == HandoffState.WAITING,
        and_(Handoff.state == HandoffState.ASSIGNED, Handoff.agent_id == agent_id),
    )


def readable(agent_id: int, is_admin: bool) -> Any:
    """The handoffs the agent may read (and find), as a WHERE clause on ``handoffs``:
    what she may act on, and those routed to her teams."""
    if is_admin:
        return true()
    her_teams = select(TeamMember.team_id).where(TeamMember.agent_id == agent_id)
    return or_(actionable(agent_id, is_admin), Handoff.team_id.in_(her_teams))


def may_read(session: Session, handoff_id: int, agent_id: int, is_admin: bool) -> bool:
    """:func:`readable` for one handoff (asked of the database: the same rule as search's)."""
    found = session.execute(select(Handoff.id).where(Handoff.id == handoff_id, readable(agent_id, is_admin)))
    return found.first() is not None
