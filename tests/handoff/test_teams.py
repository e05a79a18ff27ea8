"""Teams and routing (bot/handoff/teams.py) on SQLite and PostgreSQL: teams
with members and routes, one default team, the routing rule a handoff is
queued by, what a handoff is routed by, and the audit of every change."""
from __future__ import annotations

import pytest

from bot.accounts.checks import InvalidInput
from bot.handoff.teams import TeamDirectory, routed_topic
from bot.store import NotFound
from tests.accounts.factories import rows
from tests.handoff.conftest import SUMMARY


@pytest.fixture
def teams(database, clock) -> TeamDirectory:
    return TeamDirectory(database, clock=clock)


def test_a_team_has_members_and_routed_topics(teams, alice, bob):
    teams.create("自然人账号")
    teams.create("法人账号")
    teams.add_member("法人账号", "ALICE")  # login names in any case
    teams.add_member("法人账号", "bob")
    teams.add_member("法人账号", "bob")  # twice: still once
    teams.add_member("自然人账号", "alice")  # an agent may be in several teams
    teams.route("unit_already_registered", "法人账号")
    teams.route("faq/register_legal", "法人账号")
    legal = teams.get("法人账号")
    assert [member.login for member in legal.members] == ["alice", "bob"]
    assert legal.topics == ("faq/register_legal", "unit_already_registered")
    assert [team.name for team in teams.list()] == sorted(["自然人账号", "法人账号"])
    assert teams.teams_of(alice.id) == sorted(["自然人账号", "法人账号"])
    teams.remove_member("法人账号", "bob")
    assert [member.login for member in teams.get("法人账号").members] == ["alice"]
    with pytest.raises(InvalidInput, match="不是团队"):
        teams.remove_member("法人账号", "bob")


def test_bad_names_topics_and_agents_get_clear_answers(teams, alice):
    teams.create("法人账号")
    with pytest.raises(InvalidInput, match="已存在"):
        teams.create(" 法人账号 ")
    with pytest.raises(InvalidInput, match="1–64"):
        teams.create("   ")
    with pytest.raises(InvalidInput, match="没有话题 weather"):
        teams.route("weather", "法人账号")
    with pytest.raises(InvalidInput, match="没有话题"):
        teams.route("request_human", "法人账号")  # asking for a person is no problem to route
    with pytest.raises(NotFound, match="没有名为 税务 的团队"):
        teams.route("realname_failed", "税务")
    with pytest.raises(NotFound, match="没有登录名为 nobody 的客服"):
        teams.add_member("法人账号", "nobody")
    with pytest.raises(InvalidInput, match="没有指定团队"):
        teams.unroute("realname_failed")


def test_there_is_at_most_one_default_team(teams):
    teams.create("自然人账号", default=True)
    teams.create("法人账号", default=True)
    assert [team.name for team in teams.list() if team.is_default] == ["法人账号"]
    teams.set_default("自然人账号")
    assert [team.name for team in teams.list() if team.is_default] == ["自然人账号"]
    teams.set_default(None)
    assert not any(team.is_default for team in teams.list())


def test_a_handoff_is_routed_by_its_topic_else_to_the_default_team(teams, service):
    assert service.request("before-teams", "widget", "user_request", SUMMARY, "realname_failed").team_id is None
    natural = teams.create("自然人账号", default=True)
    legal = teams.create("法人账号")
    teams.route("unit_already_registered", "法人账号")
    routed = service.request("unit", "widget", "user_request", SUMMARY, "unit_already_registered")
    assert (routed.team_id, routed.team_name, routed.topic) == (legal.id, "法人账号", "unit_already_registered")
    assert service.request("other", "widget", "user_request", SUMMARY, "forgot_password").team_id == natural.id
    assert service.request("unknown", "widget", "user_request", SUMMARY, None).team_id == natural.id
    created = [event for event in service.events_after(0) if event.kind == "created"]
    assert created[1].data["team"] == "法人账号" and created[1].data["team_id"] == legal.id
    teams.set_default(None)
    assert service.request("no-default", "widget", "user_request", SUMMARY, "forgot_password").team_id is None


def test_deleting_a_team_leaves_its_handoffs_without_a_team(teams, service, alice):
    teams.create("法人账号")
    teams.add_member("法人账号", "alice")
    teams.route("unit_already_registered", "法人账号")
    handoff = service.request("unit", "widget", "user_request", SUMMARY, "unit_already_registered")
    teams.delete("法人账号")
    assert teams.list() == []
    assert service.get(handoff.id).team_id is None
    assert rows(teams.db, "team_routes") == [] and rows(teams.db, "team_members") == []


def test_every_change_is_audited_with_its_actor(teams, alice, database):
    teams.create("法人账号", actor="cli:root")
    teams.rename("法人账号", "法人与单位", actor="agent:chief")
    teams.add_member("法人与单位", "alice", actor="agent:chief")
    teams.route("realname_failed", "法人与单位", actor="agent:chief")
    teams.set_default("法人与单位", actor="agent:chief")
    teams.unroute("realname_failed", actor="agent:chief")
    teams.remove_member("法人与单位", "alice", actor="agent:chief")
    teams.delete("法人与单位", actor="agent:chief")
    logged = [row for row in rows(database, "audit_log", "actor, action") if row[1].startswith("team_")]
    assert logged == [("cli:root", "team_created"), ("agent:chief", "team_renamed"),
                      ("agent:chief", "team_member_added"), ("agent:chief", "team_route_set"),
                      ("agent:chief", "team_default_set"), ("agent:chief", "team_route_removed"),
                      ("agent:chief", "team_member_removed"), ("agent:chief", "team_deleted")]


@pytest.mark.parametrize("flow, understood, expected", [
    ("realname", ["greet", "faq/captcha_wrong"], "realname_failed"),  # a running flow's problem first
    (None, ["realname_failed", "faq/captcha_wrong", "request_human"], "faq/captcha_wrong"),  # then the latest topic
    (None, ["greet", "request_human"], None),  # nothing to route by: the default team
    (None, ["missing_grant", "affirm", "negative_feedback"], "missing_grant"),
])
def test_a_handoff_is_routed_by_the_flow_else_the_last_topic_understood(flow, understood, expected):
    assert routed_topic(flow, understood) == expected
