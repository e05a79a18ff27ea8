"""The least-privilege rule (bot/handoff/access.py) on SQLite and PostgreSQL: acting in
Python (``may_act``) and in SQL (``actionable``) agree on every state and holder, and
reading (``readable``, ``may_read``) is acting plus the agent's teams' handoffs."""
from __future__ import annotations

import itertools

from sqlalchemy import select, update

from bot.handoff.access import actionable, may_act, may_read, readable
from bot.handoff.models import Handoff, HandoffReason, HandoffState
from bot.handoff.teams import TeamDirectory


def test_acting_and_reading_in_python_and_sql_agree(service, database, clock, alice, bob, admin):
    teams = TeamDirectory(database, clock=clock)
    teams.create("自然人账号")
    teams.add_member("自然人账号", "alice")
    team_id = teams.get("自然人账号").id
    cases = list(itertools.product(HandoffState, (None, alice.id, bob.id), (None, team_id)))
    made = {}
    for number, (state, holder, team) in enumerate(cases):
        handoff = service.request(f"widget:{number}", "widget", HandoffReason.USER_REQUEST, {})
        with database.session() as session:  # any combination, straight into the row
            session.execute(update(Handoff).where(Handoff.id == handoff.id)
                            .values(state=state, agent_id=holder, team_id=team))
        made[handoff.id] = (state, holder, team)
    for agent in (alice, bob, admin):
        with database.session() as session:
            acts = set(session.execute(select(Handoff.id).where(actionable(agent.id, agent.is_admin))).scalars())
            reads = set(session.execute(select(Handoff.id).where(readable(agent.id, agent.is_admin))).scalars())
            one_by_one = {handoff_id for handoff_id in made if may_read(session, handoff_id, agent.id, agent.is_admin)}
        assert acts == {handoff_id for handoff_id, (state, holder, _) in made.items()
                        if may_act(state, holder, agent.id, agent.is_admin)}
        assert reads == one_by_one
        mine = {handoff_id for handoff_id, (_, _, team) in made.items() if team == team_id and agent.id == alice.id}
        assert reads == (set(made) if agent.is_admin else acts | mine)
    assert may_act(HandoffState.WAITING, None, bob.id, False) and not may_act(HandoffState.RESOLVED, bob.id, bob.id, False)
