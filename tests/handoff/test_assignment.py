"""Presence and auto-assignment on SQLite and PostgreSQL: only online agents
of the handoff's team whose console is alive are assigned, the fewest open
conversations first, round robin on ties, never beyond the cap; otherwise the
handoff stays in its team's queue.  And what the user hears: who took it, or
at once that nobody of the team is online, with the service hours."""
from __future__ import annotations

import pytest

from bot.accounts.checks import InvalidInput
from bot.handoff.agents import PRESENCE_STALE, AgentDirectory
from bot.handoff.hours import ServiceHours
from bot.handoff.models import AuthorKind, HandoffState, Presence
from bot.handoff.teams import TeamDirectory
from bot.handoff.user_replies import CANCEL_BUTTON, queued_reply
from tests.accounts.factories import rows
from tests.handoff.conftest import PASSWORD, SUMMARY

TOPIC = "realname_failed"


@pytest.fixture
def teams(database, clock) -> TeamDirectory:
    return TeamDirectory(database, clock=clock)


@pytest.fixture
def natural(teams, alice, bob):
    """Team 自然人账号 (alice and bob) gets realname_failed; 法人账号 (nobody) is the default."""
    teams.create("自然人账号")
    teams.create("法人账号", default=True)
    teams.add_member("自然人账号", "alice")
    teams.add_member("自然人账号", "bob")
    teams.route(TOPIC, "自然人账号")
    return teams.get("自然人账号")


@pytest.fixture(autouse=True)
def cap(monkeypatch):
    monkeypatch.setenv("HANDOFF_MAX_OPEN_PER_AGENT", "2")


def ask(service, sender: str, topic: str = TOPIC):
    return service.request(sender, "widget", "user_request", SUMMARY, topic)


def online(directory: AgentDirectory, *agents) -> None:
    for agent in agents:
        directory.set_presence(agent.id, Presence.ONLINE)


def test_an_online_agent_of_the_team_is_assigned_at_once(service, directory, natural, alice):
    online(directory, alice)
    assigned = service.auto_assign(ask(service, "u1").id)
    assert assigned.state == HandoffState.ASSIGNED and assigned.agent_id == alice.id and assigned.auto_assigned
    assert assigned.claimed_at is not None
    assert service.transcript(assigned.id)[-1].kind == AuthorKind.SYSTEM
    assert service.transcript(assigned.id)[-1].text == "已自动分配给客服 张丽。"
    event = service.events_after(0)[-1]
    assert (event.kind, event.agent_id, event.data["team"]) == ("assigned", alice.id, "自然人账号")
    assert ("assistant", "handoff_assigned") in rows(service.db, "audit_log", "actor, action")


@pytest.mark.parametrize("presence", [Presence.BUSY, Presence.AWAY])
def test_busy_and_away_agents_are_not_assigned(service, directory, natural, alice, presence):
    directory.set_presence(alice.id, presence)
    handoff = ask(service, "u1")
    assert service.auto_assign(handoff.id) is None
    assert service.get(handoff.id).state == HandoffState.WAITING  # in the team's queue


def test_agents_of_other_teams_and_silent_consoles_are_not_assigned(service, directory, natural, admin, clock,
                                                                     alice):
    online(directory, admin)  # online, but not in 自然人账号
    handoff = ask(service, "u1")
    assert service.auto_assign(handoff.id) is None
    online(directory, alice)
    clock.advance(seconds=PRESENCE_STALE.total_seconds() + 1)  # her console stopped polling
    assert service.auto_assign(handoff.id) is None
    directory.heartbeat(alice.id)  # it polls again
    assert service.auto_assign(handoff.id).agent_id == alice.id


def test_the_fewest_open_first_then_round_robin_on_ties(service, directory, natural, alice, bob):
    online(directory, alice, bob)
    first = service.claim(ask(service, "claimed-by-alice").id, alice.id)  # alice holds one already
    assert first.agent_id == alice.id
    order = [service.auto_assign(ask(service, f"u{n}").id).agent_id for n in range(3)]
    assert order == [bob.id, alice.id, bob.id]  # bob has fewer; then a tie (1-1): alice's turn is older
    service.resolve(first.id, alice.id)
    service.resolve(service.open_handoff("u0").id, bob.id)
    service.resolve(service.open_handoff("u2").id, bob.id)
    # alice 1 open, bob 0; then 1-1: the one assigned longer ago (alice) goes first, and so on
    order = [service.auto_assign(ask(service, f"v{n}").id).agent_id for n in range(2)]
    assert order == [bob.id, alice.id]


def test_nobody_gets_more_than_the_cap(service, directory, natural, alice):
    online(directory, alice)
    assigned = [service.auto_assign(ask(service, f"u{n}").id) for n in range(3)]
    assert [view is not None for view in assigned] == [True, True, False]  # cap 2
    assert len(service.assigned_to(alice.id)) == 2
    assert service.queue()[0].handoff.sender_id == "u2"


def test_going_online_takes_the_waiting_ones_of_her_teams(service, directory, natural, alice, bob):
    ids = [ask(service, f"u{n}").id for n in range(3)] + [ask(service, "other", "forgot_password").id]
    assert service.assign_waiting() == []  # nobody online
    online(directory, alice)
    assigned = service.assign_waiting()
    assert [view.id for view in assigned] == ids[:2]  # the oldest first, up to her cap; 法人账号's stays
    assert {view.agent_id for view in assigned} == {alice.id}
    online(directory, bob)
    assert [view.agent_id for view in service.assign_waiting()] == [bob.id]
    assert [entry.handoff.id for entry in service.queue()] == [ids[3]]


def test_without_teams_any_online_agent_is_assigned(service, directory, admin):
    online(directory, admin)
    assert service.auto_assign(ask(service, "u1", None).id).agent_id == admin.id


def test_a_disabled_agent_is_neither_online_nor_assigned(service, directory, natural, alice):
    online(directory, alice)
    assert directory.disable("alice").presence == Presence.AWAY
    assert service.auto_assign(ask(service, "u1").id) is None


def test_presence_is_one_of_three_and_logging_out_means_away(directory, alice, database):
    with pytest.raises(InvalidInput, match="在线、忙碌 或 离开"):
        directory.set_presence(alice.id, "sleeping")
    agent = directory.authenticate("alice", PASSWORD, "127.0.0.1")
    token, _ = directory.start_session(agent)
    assert directory.set_presence(alice.id, "online").presence == Presence.ONLINE
    assert directory.session_agent(token).presence == Presence.ONLINE
    directory.log_out(token, agent, "127.0.0.1")
    assert directory.get(alice.id).presence == Presence.AWAY
    assert ("agent:alice", "agent_presence_set") in rows(database, "audit_log", "actor, action")


def test_the_place_in_the_queue_counts_the_team_only(service, teams, natural):
    ask(service, "other-team", "forgot_password")
    first, second = ask(service, "u1"), ask(service, "u2")
    assert (service.position(first.id), service.position(second.id)) == (1, 2)


# -- what the user hears -----------------------------------------------------------------------

ALWAYS = ServiceHours.parse("always")


def test_the_user_hears_who_took_the_conversation(service, directory, natural, alice, clock):
    online(directory, alice)
    assigned = service.auto_assign(ask(service, "u1").id)
    assert queued_reply(service, assigned, ALWAYS, clock()).text == \
        "好的，已为您接入人工客服 张丽，请直接向客服说明您的情况。"


def test_nobody_of_the_team_online_is_said_at_once_with_the_hours(service, directory, natural, admin, clock):
    online(directory, admin)  # online, but of no use to 自然人账号
    reply = queued_reply(service, ask(service, "u1"), ALWAYS, clock())
    assert "负责这类问题的自然人账号客服现在都不在线" in reply.text
    assert "人工服务时间：全天 24 小时" in reply.text and "010-" in reply.text
    assert reply.buttons == [CANCEL_BUTTON]


def test_someone_online_but_full_means_a_place_in_the_queue(service, directory, natural, alice, clock):
    online(directory, alice)
    for n in range(2):
        service.auto_assign(ask(service, f"u{n}").id)
    waiting = ask(service, "u9")
    assert service.auto_assign(waiting.id) is None
    assert "前面没有人排队" in queued_reply(service, waiting, ALWAYS, clock()).text


# -- in English (issue 15) ---------------------------------------------------------------------


def test_an_english_user_hears_each_case_in_english_with_the_same_facts(service, directory, natural, alice,
                                                                        admin, clock):
    from datetime import datetime

    from bot import SUPPORT_EMAIL, SUPPORT_PHONE
    from bot.handoff.user_replies import cancel_button

    online(directory, admin)  # of no use to 自然人账号
    nobody = queued_reply(service, ask(service, "u1"), ALWAYS, clock(), "en")
    assert nobody.text.startswith("OK, your request has gone to our support staff.")
    assert "None of the agents for 自然人账号 issues are online right now" in nobody.text
    assert "(service hours: round the clock, 24 hours a day)" in nobody.text
    assert SUPPORT_PHONE in nobody.text and SUPPORT_EMAIL in nobody.text and "客服" not in nobody.text
    assert nobody.buttons == [cancel_button("en")] and nobody.buttons[0]["payload"] == CANCEL_BUTTON["payload"]
    assert nobody.buttons[0]["title"] == "Cancel, back to the assistant"

    weekdays = ServiceHours.parse("mon-fri 08:30-17:30", "Asia/Shanghai")
    saturday = datetime(2026, 11, 28, 4, 0)  # 12:00 in Beijing
    closed = queued_reply(service, ask(service, "u2"), weekdays, saturday, "en")
    assert "outside our service hours right now (Mon to Fri 08:30-17:30 (Beijing time))" in closed.text
    assert "the next service period starts Mon 30 Nov, 08:30" in closed.text

    online(directory, alice)
    assigned = service.auto_assign(ask(service, "u3").id)
    assert queued_reply(service, assigned, ALWAYS, clock(), "en").text == (
        "OK, you are now connected to our support agent 张丽. Please describe your problem to them directly.")
    service.auto_assign(ask(service, "u4").id)  # alice is full now (the cap is 2)
    waiting = ask(service, "u5")
    assert service.auto_assign(waiting.id) is None
    queued = queued_reply(service, waiting, ALWAYS, clock(), "en").text
    position = service.position(waiting.id)
    assert position == 3  # u1 and u2 wait in the team's queue too
    assert queued.startswith("OK, connecting you to a support agent: 2 people ahead of you")
    assert f"about {service.estimated_wait_minutes(position)} min" in queued
