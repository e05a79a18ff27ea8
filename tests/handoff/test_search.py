"""Search of handoffs on SQLite and PostgreSQL: by Beijing day, state, agent,
channel, problem and text (summary, messages, notes), pages, what a plain
agent may find against an admin (her teams' conversations too, read-only),
wildcards typed by the agent, the audit."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.handoff.models import HandoffReason, HandoffState
from bot.handoff.search import SearchCriteria
from bot.handoff.service import HandoffHidden
from bot.store import AuditEntry
from tests.handoff.conftest import PASSWORD


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


# -- her teams' conversations (bot.handoff.access.readable) --------------------------------------


@pytest.fixture
def team_handoffs(service, database, clock, directory, alice, bob):
    """Team A (自然人账号: alice and bob) and team B (法人账号: carol), each with a conversation
    held by a colleague; team A also with a closed one and a waiting one of no team."""
    from bot.handoff.teams import TeamDirectory

    teams = TeamDirectory(database, clock=clock)
    teams.create("自然人账号")
    teams.create("法人账号")
    teams.route("realname_failed", "自然人账号")
    teams.route("unit_already_registered", "法人账号")
    teams.add_member("自然人账号", "alice")
    teams.add_member("自然人账号", "bob")
    carol = directory.create("carol", "陈琳", PASSWORD)
    teams.add_member("法人账号", "carol")
    made = {"carol": carol}
    made["a_closed"] = service.request("widget:a1", "widget", HandoffReason.USER_REQUEST,
                                       {"problem": "实名认证失败"}, "realname_failed").id
    service.claim(made["a_closed"], bob.id)
    service.reply(made["a_closed"], bob.id, "证件有效期填写不完整")
    service.resolve(made["a_closed"], bob.id)
    clock.advance(minutes=5)
    made["a_held"] = service.request("widget:a2", "widget", HandoffReason.USER_REQUEST,
                                     {"problem": "实名认证失败"}, "realname_failed").id
    service.claim(made["a_held"], bob.id)
    service.reply(made["a_held"], bob.id, "请重新上传证件照片")
    clock.advance(minutes=5)
    made["b_held"] = service.request("widget:b1", "widget", HandoffReason.USER_REQUEST,
                                     {"problem": "单位名称或信用代码已被注册"}, "unit_already_registered").id
    service.claim(made["b_held"], carol.id)
    service.reply(made["b_held"], carol.id, "请上传单位证明")
    return made


def test_an_agent_finds_and_reads_her_teams_conversations_read_only(service, database, team_handoffs, alice, admin):
    a_held, a_closed, b_held = team_handoffs["a_held"], team_handoffs["a_closed"], team_handoffs["b_held"]
    assert ids(service, alice) == [a_held, a_closed]  # bob's, open and closed; not carol's
    assert ids(service, alice, text="上传") == [a_held]
    assert ids(service, alice, text="单位证明") == []
    assert ids(service, team_handoffs["carol"]) == [b_held]
    assert ids(service, admin) == [b_held, a_held, a_closed]
    assert ids(service, admin, text="上传") == [b_held, a_held]
    for handoff_id, reply in ((a_held, "请重新上传证件照片"), (a_closed, "证件有效期填写不完整")):
        view, messages = service.read_transcript(handoff_id, alice.id, "10.0.0.9")
        assert view.id == handoff_id and reply in [message.text for message in messages]
    with pytest.raises(HandoffHidden):
        service.read_transcript(b_held, alice.id, "10.0.0.9")
    # read-only: no reply, note, claim, transfer or resolve
    for act in (lambda: service.reply(a_held, alice.id, "我来"), lambda: service.note(a_held, alice.id, "看过"),
                lambda: service.claim(a_held, alice.id), lambda: service.transfer(a_held, alice.id, alice.id),
                lambda: service.resolve(a_held, alice.id), lambda: service.hand_back(a_held, alice.id),
                lambda: service.note(a_closed, alice.id, "看过")):
        with pytest.raises(HandoffHidden):
            act()
    assert service.get(a_held).agent_id != alice.id and service.get(a_held).state == HandoffState.ASSIGNED
    with database.session() as session:
        entries = session.execute(select(AuditEntry).where(AuditEntry.actor == "agent:alice")
                                  .order_by(AuditEntry.id)).scalars().all()
    reads = [(entry.action, json.loads(entry.detail)) for entry in entries if entry.action.startswith("handoff_transcript")]
    team = service.get(a_held).team_id
    assert reads == [
        ("handoff_transcript_read", {"handoff": a_held, "after_message": 0, "client_ip": "10.0.0.9", "team": team}),
        ("handoff_transcript_read", {"handoff": a_closed, "after_message": 0, "client_ip": "10.0.0.9", "team": team}),
        ("handoff_transcript_refused", {"handoff": b_held, "after_message": 0, "client_ip": "10.0.0.9"}),
    ]


def test_leaving_the_team_ends_the_reading(service, database, clock, team_handoffs, alice):
    from bot.handoff.teams import TeamDirectory

    TeamDirectory(database, clock=clock).remove_member("自然人账号", "alice")
    assert ids(service, alice) == []
    with pytest.raises(HandoffHidden):
        service.read_transcript(team_handoffs["a_closed"], alice.id, "x")
