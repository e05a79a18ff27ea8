"""What an agent reads in the console over real HTTP (the console of
test_console.py: its blueprint on a small Sanic app over the ``services``
fixture): the whole conversation before the handoff with the handoff marked,
a photo's masked thumbnail through the console's own route, the same user's
history one click away, search (her teams' conversations too, read-only),
the per-agent report and the CSV exports — each within least privilege and
audited."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from bot.handoff.models import HandoffReason, HandoffState
from tests.console.test_console import (  # noqa: F401  (the fixtures of test_console.py)
    agent_client, clock, db, delivered, directory, server, service,
)
from tests.handoff.conftest import PASSWORD
from tests.handoff.test_history import audit
from tests.handoff.test_conversation_log import PHONE, UPLOAD_ID, Conversation, realname_conversation, store_events
from tests.widget_images import photo

SENDER = "widget:read-1"


@pytest.fixture
def realname_handoff(services, service):
    """A widget user's realname conversation (with a real stored photo) handed over with its summary."""
    upload = services.accounts.save_upload(SENDER, photo(label="ID 110101199003071234"), "front.jpg")
    talk = realname_conversation(service.now() - timedelta(minutes=3), SENDER)
    for event in talk.events:  # the photo the user really sent
        if (event.get("metadata") or {}).get("upload_id") == UPLOAD_ID:
            event["metadata"]["upload_id"] = upload.id
    handoff = service.request(SENDER, "widget", HandoffReason.USER_REQUEST,
                              {"problem": "实名认证失败", "told": ["需要上传证件照片做人工审核"]})
    # the request action ran when the handoff was created
    for event in talk.events:
        event["timestamp"] += (handoff.created_at - talk.moment).total_seconds()
    store_events(services.database, SENDER, talk.events)
    service.record_user_message(SENDER, "我等着")
    return handoff, upload


def test_the_whole_conversation_and_the_real_problem(server, service, realname_handoff, alice):
    handoff, upload = realname_handoff
    alice_browser = agent_client(server, "alice")
    page = alice_browser.get(f"conversations/{handoff.id}").text
    transcript = page[page.index('data-testid="transcript"'):]
    order = ["你好", "您好！请问遇到了什么问题？", "开始办理：实名认证失败", "验证码已发送到 138****8000",
             "诊断：需要上传证件照片做人工审核", "[照片] front.jpg", "转人工客服", "在这里转人工（用户要求转人工）",
             "转人工（用户要求转人工），排队等待客服。", "我等着"]
    positions = [transcript.index(text) for text in order]
    assert positions == sorted(positions)
    assert PHONE not in page and "110101199003071234" not in page
    assert 'data-testid="clicked-button">实名认证失败' in transcript
    assert f'src="/webhooks/console/conversations/{handoff.id}/photos/{upload.id}"' in transcript
    summary = page[page.index('data-testid="summary"'):page.index('data-testid="transcript"')]
    assert "实名认证失败" in summary and "助手已告诉用户" in summary and "用户要求人工客服" not in summary


def test_a_photo_is_a_masked_thumbnail_for_who_may_read_the_conversation(server, service, db, realname_handoff,
                                                                         alice, bob):
    handoff, upload = realname_handoff
    address = f"conversations/{handoff.id}/photos/{upload.id}"
    alice_browser, bob_browser = agent_client(server, "alice"), agent_client(server, "bob")
    answer = alice_browser.get(address)  # waiting: any agent may read it
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Content-Type-Options"] == "nosniff"
    thumbnail = Image.open(io.BytesIO(answer.content))
    assert max(thumbnail.size) <= 160 and len(answer.content) < len(photo(label="ID 110101199003071234"))
    service.claim(handoff.id, alice.id)
    assert bob_browser.get(address).status_code == 403  # alice's now
    assert alice_browser.get(f"conversations/{handoff.id}/photos/{'0' * 32}").status_code == 404
    assert alice_browser.get(f"conversations/{handoff.id}/photos/..%2f..%2fetc").status_code == 404
    other = service.request("widget:someone-else", "widget", HandoffReason.USER_REQUEST, {})
    assert alice_browser.get(f"conversations/{other.id}/photos/{upload.id}").status_code == 404  # not theirs
    from tests.console.console_client import Agent
    assert Agent(server).get(address).status_code == 401
    assert [actor for actor, _ in audit(db, "handoff_photo_read")] == ["agent:alice", "agent:alice", "agent:alice"]
    assert [actor for actor, _ in audit(db, "handoff_photo_refused")] == ["agent:bob"]


def test_the_holder_sees_the_users_history_one_click_away(server, service, db, alice, bob, admin):
    earlier = service.request("widget:old", "widget", HandoffReason.USER_REQUEST, {"problem": "忘记密码"},
                              user_key="account:7")
    service.claim(earlier.id, bob.id)
    service.reply(earlier.id, bob.id, "请用重置密码功能")
    service.resolve(earlier.id, bob.id)
    service.rate("widget:old", 2)
    current = service.request("widget:new", "widget", HandoffReason.USER_REQUEST, {"problem": "实名认证失败"},
                              user_key="account:7")
    alice_browser = agent_client(server, "alice")
    assert 'data-testid="history"' not in alice_browser.get(f"conversations/{current.id}").text  # not hers yet
    service.claim(current.id, alice.id)
    page = alice_browser.get(f"conversations/{current.id}").text
    history = page[page.index('data-testid="history"'):]
    assert "这位用户的历史会话（1）" in history and "忘记密码" in history and "已结束（已解决）" in history
    assert "2 分" in history and "王波" in history
    link = f"conversations/{earlier.id}?via={current.id}"
    assert f'href="/webhooks/console/{link}"' in history
    old = alice_browser.get(link)
    assert old.status_code == 200 and "请用重置密码功能" in old.text and 'data-testid="history-notice"' in old.text
    assert alice_browser.get(f"conversations/{earlier.id}").status_code == 403  # not without the link
    assert alice_browser.get(f"conversations/{earlier.id}?via=abc").status_code == 404
    assert agent_client(server, "bob").get(link).status_code == 403  # bob does not hold the current one
    reads = [detail for actor, detail in audit(db, "handoff_transcript_read") if detail.get("via")]
    assert reads == [{"handoff": earlier.id, "after_message": 0, "via": current.id, "client_ip": "127.0.0.1"}]
    assert audit(db, "handoff_history_read")[0][1]["shown"] == [earlier.id]


def test_search_finds_conversations_and_pages_through_them(server, service, alice, admin):
    made = [service.request(f"widget:s{number}", "widget", HandoffReason.USER_REQUEST,
                            {"problem": "实名认证失败" if number % 2 else "忘记密码"}) for number in range(25)]
    for handoff in made:
        service.claim(handoff.id, admin.id)
        service.resolve(handoff.id, admin.id)
    chief = agent_client(server, "chief")
    first = chief.get("search?problem=实名认证")
    assert first.status_code == 200
    assert '<span class="count" data-testid="search-total">12</span>' in first.text
    assert first.text.count('data-testid="search-row"') == 12
    everything = chief.get("search?state=resolved")
    assert everything.text.count('data-testid="search-row"') == 20 and "第 1 / 2 页" in everything.text
    assert 'href="/webhooks/console/search?state=resolved&amp;page=2"' in everything.text
    second = chief.get("search?state=resolved&page=2")
    assert second.text.count('data-testid="search-row"') == 5
    # a plain agent does not find closed ones
    assert 'data-testid="search-total">0<' in agent_client(server, "alice").get("search?problem=实名认证").text
    assert chief.get("search?from=2026-13-01").status_code == 400
    assert chief.get("search?state=nonsense").status_code == 400
    assert 'data-testid="search-form"' in chief.get("search").text  # the empty form, no search yet


def test_reports_per_agent_and_csv_exports(server, service, alice):
    handoff = service.request("widget:r", "widget", HandoffReason.USER_REQUEST, {"problem": "=cmd|' /C calc'!A0"})
    service.claim(handoff.id, alice.id)
    service.reply(handoff.id, alice.id, "您好")
    service.resolve(handoff.id, alice.id)
    browser = agent_client(server, "alice")
    page = browser.get("reports?days=7").text
    table = page[page.index('data-testid="agent-table"'):]
    assert "张丽" in table and 'id="chart-agent-handoffs"' in page
    assert 'href="/webhooks/console/reports.csv?days=7&amp;by=agent"' in page
    agents = browser.get("reports.csv?days=7&by=agent")
    assert agents.status_code == 200 and agents.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in agents.headers["Content-Disposition"]
    text = agents.content.decode("utf-8")
    assert text.startswith("\ufeff客服,登录名,在职,转人工（接待）")
    assert "张丽,alice,是,1,1,0," in text
    days = browser.get("reports.csv?days=2&by=day").content.decode("utf-8").splitlines()
    assert days[0].startswith("\ufeff日期,会话数,转人工") and len(days) == 1 + 2 + 1 and days[-1].startswith("合计,")
    teams = browser.get("reports.csv?days=7&by=team").content.decode("utf-8").splitlines()
    assert teams[0].startswith("\ufeff团队,转人工（分到本团队）") and teams[-1].startswith("未分配团队,1,1,0,")
    assert 'data-testid="team-table"' in page and 'href="/webhooks/console/reports.csv?days=7&amp;by=team"' in page
    assert browser.get("reports.csv?days=2&by=nonsense").status_code == 400
    assert browser.get("reports.csv?days=0").status_code == 400


def test_a_formula_in_a_csv_cell_is_defused():
    from bot.console.responses import csv_reply

    body = csv_reply([["=1+2", "-3", "@x", "+y", 5, "plain"]], "x.csv").body.decode("utf-8")
    assert body == "\ufeff'=1+2,'-3,'@x,'+y,5,plain\r\n"


def test_the_log_is_empty_without_rasa_s_table(server, service, alice):
    handoff = service.request("widget:plain", "widget", HandoffReason.USER_REQUEST, {"problem": "x"})
    page = agent_client(server, "alice").get(f"conversations/{handoff.id}").text
    assert 'data-testid="log-entry"' not in page and 'data-testid="handoff-mark"' not in page


def test_a_conversation_without_the_request_action_still_shows_what_came_before(server, service, services, alice):
    talk = Conversation(service.now() - timedelta(minutes=1))
    talk.user("页面一直是空白的", "garbled_page")
    store_events(services.database, "widget:blank", talk.events)
    handoff = service.request("widget:blank", "widget", HandoffReason.USER_REQUEST, {"problem": "页面乱码或空白"})
    page = agent_client(server, "alice").get(f"conversations/{handoff.id}").text
    assert "页面一直是空白的" in page and "助手理解为：页面乱码或空白" in page


def test_an_agent_finds_and_reads_her_teams_conversation_but_may_not_act_on_it(server, services, service, db,
                                                                                delivered, directory, alice, bob,
                                                                                admin):
    teams = services.teams
    for name, topic in (("自然人账号", "realname_failed"), ("法人账号", "unit_already_registered")):
        teams.create(name)
        teams.route(topic, name)
    teams.add_member("自然人账号", "alice")
    teams.add_member("自然人账号", "bob")
    carol = directory.create("carol", "陈琳", PASSWORD)
    teams.add_member("法人账号", "carol")
    ours = service.request("widget:team-a", "widget", HandoffReason.USER_REQUEST, {"problem": "实名认证失败"},
                           "realname_failed")
    service.claim(ours.id, bob.id)
    service.reply(ours.id, bob.id, "请重新上传证件照片")
    theirs = service.request("widget:team-b", "widget", HandoffReason.USER_REQUEST,
                             {"problem": "单位名称或信用代码已被注册"}, "unit_already_registered")
    service.claim(theirs.id, carol.id)
    service.reply(theirs.id, carol.id, "请上传单位证明")

    alice_browser = agent_client(server, "alice")
    found = alice_browser.get("search?q=上传").text
    assert 'data-testid="search-total">1<' in found
    assert f'href="/webhooks/console/conversations/{ours.id}"' in found
    assert f'data-handoff-id="{theirs.id}"' not in found
    page = alice_browser.get(f"conversations/{ours.id}")
    assert page.status_code == 200 and "请重新上传证件照片" in page.text and "由 王波 接待中" in page.text
    assert 'data-testid="team-notice">这是您所在团队（自然人账号）的会话' in page.text
    for need in ("claim", "reply", "note", "manage"):  # every form there but hidden
        assert re.search(rf'data-needs="{need}" hidden>', page.text), need
    update = alice_browser.get(f"api/conversations/{ours.id}").json()
    assert update["handoff"]["can"] == {"claim": False, "reply": False, "manage": False, "note": False,
                                        "closed": False}
    for action, form in (("reply", {"text": "我来回答"}), ("note", {"text": "看过了"}), ("claim", {}),
                         ("transfer", {"agent_id": str(alice.id)}), ("hand-back", {}), ("resolve", {})):
        refused = alice_browser.post(f"conversations/{ours.id}/{action}", form)
        assert refused.status_code == 403, action
        assert "请重新上传证件照片" not in refused.text  # the refusal, without the conversation
    assert delivered["send_to_user"] == [] and delivered["give_back_to_assistant"] == []
    after = service.get(ours.id)
    assert (after.state, after.agent_id) == (HandoffState.ASSIGNED, bob.id)
    assert [message.text for message in service.transcript(ours.id)][-1] == "请重新上传证件照片"
    assert alice_browser.get(f"conversations/{theirs.id}").status_code == 403  # another team's
    assert alice_browser.get(f"api/conversations/{theirs.id}").status_code == 403

    chief = agent_client(server, "chief")
    everything = chief.get("search?q=上传").text
    assert 'data-testid="search-total">2<' in everything and f'data-handoff-id="{theirs.id}"' in everything
    assert 'data-testid="team-notice"' not in chief.get(f"conversations/{ours.id}").text

    team = teams.get("自然人账号").id
    alice_reads = [detail for actor, detail in audit(db, "handoff_transcript_read") if actor == "agent:alice"]
    assert alice_reads == [{"handoff": ours.id, "after_message": 0, "client_ip": "127.0.0.1", "team": team}] * 2
    assert [detail["handoff"] for actor, detail in audit(db, "handoff_transcript_refused")
            if actor == "agent:alice"] == [theirs.id] * 2
    searches = [(actor, detail["found"]) for actor, detail in audit(db, "handoff_search")]
    assert searches == [("agent:alice", 1), ("agent:chief", 2)]
