"""Search of handoffs on SQLite and PostgreSQL: by Beijing day, state, agent,
channel, problem and text (summary, messages, notes), pages, what a plain
agent may find against an admin, wildcards typed by the agent, the audit."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.handoff.models import HandoffReason, HandoffState
from bot.handoff.search import SearchCriteria
from bot.store import AuditEntry


@pytest.fixture
def handoffs(service, clock, alice, bob):
    """Five handoffs over two Beijing days (START is Monday 22:00 UTC = Tuesday 06:00 Beijing)."""
    made = {}
    made["realname"] = service.request("widget:a", "widget", HandoffReason.USER_REQUEST,
                                       {"problem": "实名认证失败", "last_messages": ["身份证号核验不通过"]}).id
    service.claim(made["realname"], alice.id)
    service.reply(made["realname"], alice.id, "请补全证件有效期")
    service.resolve(made["realname"], alice.id)
    clock.advance(hours=1)
    made["password"] = service.request("telegram:7", "telegram", HandoffReason.MISUNDERSTOOD,
                                       {"problem": "忘记密码 / 提示登录名或密码错误"}).id
    service.claim(made["password"], bob.id)
    service.note(made["password"], bob.id, "用户说 100%_确定 手机号没换")
    clock.advance(days=1)
    made["waiting"] = service.request("widget:b", "widget", HandoffReason.USER_REQUEST,
                                      {"problem": "没有权限 / 授权过期"}).id
    made["mine"] = service.request("widget:c", "widget", HandoffReason.USER_REQUEST, {"problem": "实名认证失败"}).id
    service.claim(made["mine"], alice.id)
    made["cancelled"] = service.request("widget:d", "widget", HandoffReason.USER_REQUEST, {"problem": "页面乱码或空白"}).id
    service.cancel("widget:d")
    return made


def ids(service, admin_or_agent, client="127.0.0.1", page=1, **criteria):
    found, views = service.search(SearchCriteria(**criteria), admin_or_agent.id, client, page)
    assert [view.id for view in views] == found.ids
    return found.ids


def test_an_admin_finds_every_handoff_by_each_criterion(service, handoffs, admin, alice, bob):
    everything = ids(service, admin)
    assert everything == sorted(handoffs.values(), reverse=True)  # the latest first
    assert ids(service, admin, state=HandoffState.RESOLVED) == [handoffs["realname"]]
    assert ids(service, admin, agent_id=bob.id) == [handoffs["password"]]
    assert ids(service, admin, channel="telegram") == [handoffs["password"]]
    assert ids(service, admin, problem="实名") == [handoffs["mine"], handoffs["realname"]]
    assert ids(service, admin, text="有效期") == [handoffs["realname"]]  # an agent's reply
    assert ids(service, admin, text="核验不通过") == [handoffs["realname"]]  # the summary
    assert ids(service, admin, text="手机号没换") == [handoffs["password"]]  # a note
    assert ids(service, admin, text="100%_确定") == [handoffs["password"]]
    assert ids(service, admin, text="%") == [handoffs["password"]]  # the wildcard matches itself only
    assert ids(service, admin, text="nothing like this") == []


def test_days_are_beijing_days_both_included(service, handoffs, admin):
    tuesday, wednesday = date(2026, 11, 24), date(2026, 11, 25)
    first_day = [handoffs["password"], handoffs["realname"]]
    assert ids(service, admin, date_from=tuesday, date_to=tuesday) == first_day
    assert ids(service, admin, date_from=wednesday) == [handoffs["cancelled"], handoffs["mine"], handoffs["waiting"]]
    assert ids(service, admin, date_to=tuesday - timedelta(days=1)) == []
    assert ids(service, admin, date_from=wednesday, date_to=tuesday) == []


def test_a_plain_agent_finds_what_she_may_read(service, handoffs, alice, bob):
    assert ids(service, alice) == [handoffs["mine"], handoffs["waiting"]]
    assert ids(service, bob) == [handoffs["waiting"], handoffs["password"]]
    assert ids(service, alice, text="有效期") == []  # her own, but closed: for admins


def test_pages(service, handoffs, admin, monkeypatch):
    from bot.handoff import search as search_module

    monkeypatch.setattr(search_module, "PAGE_SIZE", 2)
    found, _ = service.search(SearchCriteria(), admin.id, "x", 2)
    assert (found.total, found.page, found.pages) == (5, 2, 3)
    assert found.ids == sorted(handoffs.values(), reverse=True)[2:4]
    last, _ = service.search(SearchCriteria(), admin.id, "x", 99)
    assert last.page == 3 and len(last.ids) == 1


def test_every_search_is_audited(service, handoffs, database, alice):
    ids(service, alice, client="10.0.0.9", text="密码", state=HandoffState.WAITING)
    with database.session() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "handoff_search")).scalars().one()
        assert entry.actor == "agent:alice"
        detail = json.loads(entry.detail)
    assert detail["criteria"] == {"text": "密码", "state": "waiting"}
    assert detail["client_ip"] == "10.0.0.9" and detail["found"] == 0


def test_an_admin_finds_the_handoffs_routed_to_a_team(service, database, clock, admin):
    from bot.handoff.teams import TeamDirectory

    teams = TeamDirectory(database, clock=clock)
    legal = teams.create("法人账号")
    teams.route("unit_already_registered", "法人账号")
    routed = service.request("widget:u", "widget", HandoffReason.USER_REQUEST,
                             {"problem": "单位名称或信用代码已被注册"}, "unit_already_registered").id
    other = service.request("widget:p", "widget", HandoffReason.USER_REQUEST,
                            {"problem": "忘记密码"}, "forgot_password").id
    assert ids(service, admin, team_id=legal.id) == [routed]
    assert ids(service, admin) == [other, routed]
    assert ids(service, admin, team_id=legal.id + 1) == []
