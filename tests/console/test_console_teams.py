"""Teams, presence and auto-assignment in the console over real HTTP (the
blueprint on a small Sanic app, as in test_console.py, whose fixtures these
are): the 团队管理 page for admins only, 在线 / 忙碌 / 离开 with the queue
assigned at once, the sign of life of an open page, and the background sweep
that assigns and tells the user."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from bot.console.channel import AgentConsoleInput
from bot.handoff.models import AgentRole, HandoffState, Presence
from tests.console.console_client import Agent
from tests.console.test_console import (  # noqa: F401  (the fixtures of test_console.py)
    XSS, agent_client, audit_actions, clock, db, delivered, directory, server, service,
)
from tests.handoff.conftest import PASSWORD, SUMMARY


@pytest.fixture
def chief(directory):
    return directory.create("chief", "李主管", PASSWORD, AgentRole.ADMIN)


@pytest.fixture
def alice(directory):
    return directory.create("alice", "张丽", PASSWORD)


def test_only_admins_manage_teams(server, chief, alice, services):
    plain = agent_client(server, "alice")
    assert "团队管理" not in plain.get().text
    assert plain.get("teams").status_code == 403
    refused = plain.post("teams/create", {"name": "黑客团队"})
    assert refused.status_code == 403 and "只有管理员" in refused.text
    assert services.teams.list() == []

    admin = agent_client(server, "chief")
    assert 'href="/webhooks/console/teams"' in admin.get().text
    for path, form in (("teams/create", {"name": "自然人账号", "default": "1"}),
                       ("teams/create", {"name": "法人账号"}),
                       ("teams/add", {"team": "法人账号", "login": "alice"}),
                       ("teams/route", {"topic": "unit_already_registered", "team": "法人账号"})):
        answer = admin.post(path, form)
        assert answer.status_code == 303 and answer.headers["Location"] == "/webhooks/console/teams", path
    legal = services.teams.get("法人账号")
    assert [member.login for member in legal.members] == ["alice"] and legal.topics == ("unit_already_registered",)
    page = admin.get("teams").text
    assert "默认团队" in page and "张丽（alice · 离开）" in page and "unit_already_registered" in page
    assert ("agent:chief", "team_route_set") in audit_actions(services.database)
    # mistakes are shown on the page, as text
    answer = admin.post("teams/create", {"name": "法人账号"})
    assert answer.status_code == 400 and "团队 法人账号 已存在。" in answer.text
    answer = admin.post("teams/route", {"topic": XSS, "team": "法人账号"})
    assert answer.status_code == 400 and "<script>" not in answer.text
    assert admin.post("teams/create", {"name": "x"}, csrf=False).status_code == 403  # CSRF as everywhere
    for path, form in (("teams/unroute", {"topic": "unit_already_registered"}),
                       ("teams/remove", {"team": "法人账号", "login": "alice"}),
                       ("teams/default", {"team": "法人账号"}),
                       ("teams/delete", {"team": "自然人账号"})):
        assert admin.post(path, form).status_code == 303, path
    [legal] = services.teams.list()
    assert (legal.name, legal.is_default, legal.members, legal.topics) == ("法人账号", True, (), ())


def test_going_online_assigns_the_waiting_conversations_of_her_team_at_once(server, alice, services, delivered):
    services.teams.create("自然人账号", default=True)
    services.teams.add_member("自然人账号", "alice")
    waiting = service_request(services, "user-1")
    browser = agent_client(server, "alice")
    assert 'data-testid="presence-away"' in browser.get().text and 'aria-pressed="true">离开' in browser.get().text
    answer = browser.post("presence", {"presence": "online"},
                          headers={"Referer": server.url + f"conversations/{waiting.id}"})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/webhooks/console/conversations/{waiting.id}"
    handoff = services.handoffs.get(waiting.id)
    assert handoff.state == HandoffState.ASSIGNED and handoff.agent_id == browser_agent(services).id
    assert delivered["announce_agent"] == [(waiting.id, "张丽")]  # the user is told who took it
    assert 'aria-pressed="true">在线' in browser.get().text
    assert "由您接待中（自动分配）。" in browser.get(f"conversations/{waiting.id}").text
    # busy: nothing new; the script's JSON post
    answer = browser.post("presence", {"presence": "busy"}, headers={"Accept": "application/json"})
    assert answer.json() == {"ok": True, "presence": "busy"}
    service_request(services, "user-2")
    assert services.handoffs.queue()[0].handoff.sender_id == "user-2"
    answer = browser.post("presence", {"presence": "asleep"}, headers={"Accept": "application/json"})
    assert answer.status_code == 400 and "在线、忙碌 或 离开" in answer.json()["error"]
    assert browser.post("presence", {"presence": "online"}, csrf=False).status_code == 403
    assert browser_agent(services).presence == Presence.BUSY


def test_an_open_page_keeps_her_online_and_the_sweep_assigns_and_tells_the_user(server, alice, services,
                                                                               delivered):
    browser = agent_client(server, "alice")
    browser.post("presence", {"presence": "online"})
    with services.database.session() as session:  # long silent: as if the laptop was closed an hour ago
        session.execute(sa.text("UPDATE agents SET presence_seen_at = '2020-01-01 00:00:00'"))
    waiting = service_request(services, "user-1")
    channel = AgentConsoleInput()
    asyncio.run(channel.sweep(server.app, abandon=False))
    assert services.handoffs.get(waiting.id).state == HandoffState.WAITING  # not available
    assert browser.get("events?after=0").status_code == 200  # the page polls: a sign of life
    asyncio.run(channel.sweep(server.app, abandon=False))
    assert services.handoffs.get(waiting.id).agent_id == browser_agent(services).id
    assert delivered["announce_agent"] == [(waiting.id, "张丽")]
    events = browser.get("events?after=0").json()["events"]
    assert [event["kind"] for event in events][-1] == "assigned" and events[-1]["agent_id"] == browser_agent(
        services).id


def test_logging_out_means_away(server, alice, services):
    browser = agent_client(server, "alice")
    browser.post("presence", {"presence": "online"})
    assert browser.post("logout").status_code == 303
    assert browser_agent(services).presence == Presence.AWAY
    assert Agent(server).get("teams").status_code == 303  # the page needs a login


def service_request(services, sender: str):
    return services.handoffs.request(sender, "widget", "user_request", SUMMARY, "realname_failed")


def browser_agent(services):
    return services.agents.by_login("alice")
