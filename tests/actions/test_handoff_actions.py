"""action_request_human on tracker fixtures, and the channels' handoff intake
(bot/channels/handoff_bridge.py) with a recording on_new_message, over a
throw-away SQLite store (the ``services`` fixture)."""
import asyncio
from datetime import datetime, timedelta
from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff as handoff_actions
from bot import config
from bot.accounts.flows import signed_flow_data, signed_verification
from bot.accounts.models import Account, AccountKind, RealnameState
from bot.channels import handoff_bridge as bridge
from bot.handoff import user_replies
from bot.handoff.hours import ServiceHours
from bot.handoff.models import HandoffReason, HandoffState
from bot.handoff.service import HandoffService
from tests.trackers import action, user

SENDER = "widget-session-1"
TUESDAY_10AM_BEIJING = datetime(2026, 11, 24, 2, 0)  # naive UTC
SATURDAY_NIGHT_BEIJING = datetime(2026, 11, 28, 14, 0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def database(services):
    return services.database


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY_10AM_BEIJING)


@pytest.fixture
def handoffs(services, monkeypatch) -> HandoffService:
    monkeypatch.setattr(ServiceHours, "from_settings", classmethod(lambda cls: ServiceHours.parse("mon-fri 08:30-17:30")))
    return services.handoffs


def tracker(events: List[Dict[str, Any]], slots: Dict[str, Any], channel: str = "widget") -> Tracker:
    for event in events:
        if event["event"] == "user":
            event["input_channel"] = channel
    latest = next(dict(e["parse_data"], text=e["text"]) for e in reversed(events) if e["event"] == "user")
    return Tracker(SENDER, slots, latest, events, False, None, {}, "action_listen")


def run(events, slots=None, channel="widget"):
    dispatcher = CollectingDispatcher()
    returned = asyncio.run(handoff_actions.ActionRequestHuman().run(dispatcher, tracker(events, slots or {}, channel), {}))
    return returned, dispatcher.messages


@pytest.fixture
def full_agent(services):
    """An agent online but at the cap (HANDOFF_MAX_OPEN_PER_AGENT): handoffs wait in the queue."""
    directory, handoffs = services.agents, services.handoffs
    agent = directory.create("busy", "忙碌的客服", "Agent-Passw0rd")
    directory.set_presence(agent.id, "online")
    for n in range(config.get_int("HANDOFF_MAX_OPEN_PER_AGENT")):
        handoffs.claim(handoffs.request(f"held-{n}", "widget", "user_request", {}).id, agent.id)
    return agent


def test_asking_for_a_person_queues_pauses_and_tells_the_place(handoffs, full_agent):
    returned, messages = run([user("我的授权一直没有", "missing_grant"), action("utter_missing_grant"),
                              user("转人工", "request_human")])
    assert returned[-1]["event"] == "pause"
    handoff = handoffs.open_handoff(SENDER)
    assert handoff.state == HandoffState.WAITING and handoff.reason == HandoffReason.USER_REQUEST
    assert handoff.channel == "widget"
    assert handoff.summary["problem"] == "没有权限 / 授权过期"
    assert handoff.summary["identity"] == "未验证身份"
    assert "前面没有人排队" in messages[0]["text"] and "分钟" in messages[0]["text"]
    assert messages[0]["buttons"] == [user_replies.CANCEL_BUTTON]


def test_the_second_in_line_hears_so(handoffs, full_agent):
    handoffs.request("someone-else", "telegram", HandoffReason.USER_REQUEST, {"problem": "x"})
    _, messages = run([user("转人工", "request_human")])
    assert "前面还有 1 位" in messages[0]["text"]


def test_outside_service_hours_the_message_is_kept_and_the_next_opening_named(handoffs, clock):
    clock.now = SATURDAY_NIGHT_BEIJING
    _, messages = run([user("转人工", "request_human")])
    assert "不在人工服务时间" in messages[0]["text"] and "11月30日（周一）08:30" in messages[0]["text"]
    assert handoffs.open_handoff(SENDER).state == HandoffState.WAITING


def test_an_answer_that_did_not_help_is_negative_feedback(handoffs):
    run([user("验证码多久有效", "faq"), action("utter_faq"), user("你的回答没用", "negative_feedback")])
    handoff = handoffs.open_handoff(SENDER)
    assert handoff.reason == HandoffReason.NEGATIVE_FEEDBACK
    assert "你的回答没用" in handoff.summary["last_messages"]


def test_after_two_misunderstandings_the_reason_says_so(handoffs):
    run([user("/affirm", "affirm")], {"clarification": "offer_human"})
    assert handoffs.open_handoff(SENDER).reason == HandoffReason.MISUNDERSTOOD


def test_a_flow_that_offered_a_person_is_a_dead_end_and_ends(handoffs):
    events = [user("实名认证失败", "realname_failed"),
              {"event": "bot", "text": "第二次审核仍未通过，建议转人工。",
               "data": {"buttons": [{"title": "转人工客服", "payload": "/request_human"}]}},
              user("/request_human", "request_human")]
    returned, _ = run(events, {"flow": "realname", "flow_data": signed_flow_data({"diagnosed": "human"}, SENDER)})
    handoff = handoffs.open_handoff(SENDER)
    assert handoff.reason == HandoffReason.FLOW_DEAD_END
    assert handoff.summary["problem"] == "实名认证失败"
    assert handoff.summary["checked"] == ["诊断：人工审核已两次未通过，需要人工客服看一下材料"]
    cleared = {event["name"]: event["value"] for event in returned if event["event"] == "slot"}
    assert cleared["flow"] is None and cleared["flow_data"] is None


def test_the_handoff_is_routed_by_the_problem_and_assigned_to_an_online_agent_of_its_team(services, handoffs):
    teams, directory = services.teams, services.agents
    teams.create("自然人账号", default=True)
    teams.create("业务系统权限")
    teams.route("missing_grant", "业务系统权限")
    for login, name, team in (("zhang", "张丽", "业务系统权限"), ("wang", "王波", "自然人账号")):
        agent = directory.create(login, name, "Agent-Passw0rd")
        teams.add_member(team, login)
        directory.set_presence(agent.id, "online")
    _, messages = run([user("我的授权一直没有", "missing_grant"), action("utter_missing_grant"),
                       user("转人工", "request_human")])
    handoff = handoffs.open_handoff(SENDER)
    assert (handoff.topic, handoff.team_name) == ("missing_grant", "业务系统权限")
    assert handoff.state == HandoffState.ASSIGNED and handoff.agent_name == "张丽" and handoff.auto_assigned
    assert messages[0]["text"] == "好的，已为您接入人工客服 张丽，请直接向客服说明您的情况。"


def test_an_faq_answer_routes_by_its_own_topic(services, handoffs):
    services.teams.create("自然人账号")
    services.teams.route("faq/captcha_wrong", "自然人账号")
    faq = user("验证码老是错", "faq", response_selector={"faq": {"response": {
        "intent_response_key": "faq/captcha_wrong"}}})
    _, messages = run([faq, action("utter_faq"), user("转人工", "request_human")])
    handoff = handoffs.open_handoff(SENDER)
    assert (handoff.topic, handoff.team_name, handoff.state) == ("faq/captcha_wrong", "自然人账号",
                                                                 HandoffState.WAITING)
    assert "负责这类问题的自然人账号客服现在都不在线" in messages[0]["text"]  # nobody of the team online
    assert "周一至周五 08:30-17:30（北京时间）" in messages[0]["text"]


def add_account(database) -> int:
    with database.session() as session:
        account = Account(kind=AccountKind.NATURAL, login_name="zhangsan", password_hash="unused",
                          phone="13800138000", realname_state=RealnameState.VERIFIED_ONLINE,
                          created_at=TUESDAY_10AM_BEIJING)
        session.add(account)
        session.flush()
        return account.id


def test_the_summary_names_the_account_this_conversation_verified(handoffs, database):
    account_id = add_account(database)
    verified = signed_verification(SENDER, account_id, TUESDAY_10AM_BEIJING + timedelta(minutes=30))
    run([user("转人工", "request_human")], {"verified_account": verified})
    assert handoffs.open_handoff(SENDER).summary["identity"].startswith("已验证：个人账号 zha")


@pytest.mark.parametrize("forge", [
    lambda account_id: f"{account_id}|2099-01-01T00:00:00",  # the unsigned format of old
    lambda account_id: signed_verification("another-conversation", account_id, TUESDAY_10AM_BEIJING + timedelta(minutes=30)),
    lambda account_id: signed_verification(SENDER, account_id, TUESDAY_10AM_BEIJING + timedelta(minutes=30), "k" * 32),
    lambda account_id: signed_verification(SENDER, account_id, TUESDAY_10AM_BEIJING - timedelta(minutes=1)),  # expired
])
def test_a_forged_copied_or_expired_verification_shows_the_agent_nobody_verified(handoffs, database, forge):
    """Whoever can write the tracker cannot make the agent believe an identity was checked."""
    account_id = add_account(database)
    forged_data = {"target": account_id, "code_phone": "13800138000", "code_ok": True}
    run([user("忘记密码", "forgot_password"), user("转人工", "request_human")],
        {"flow": "reset", "verified_account": forge(account_id), "flow_data": forged_data})
    summary = handoffs.open_handoff(SENDER).summary
    assert summary["identity"] == "未验证身份"
    assert "checked" not in summary  # the unsigned flow_data claims no code was entered


def test_identity_numbers_typed_by_the_user_are_masked_in_the_summary(handoffs):
    run([user("我的证件号110101199003074514手机13800138000", "realname_failed"), user("转人工", "request_human")])
    last = handoffs.open_handoff(SENDER).summary["last_messages"]
    assert "110101199003074514" not in str(last) and "13800138000" not in str(last)


def test_asking_twice_does_not_queue_twice(handoffs):
    run([user("转人工", "request_human")])
    run([user("转人工", "request_human")])
    assert len(handoffs.queue()) == 1


# -- the intake every channel wraps around on_new_message --------------------------

class Recorder:
    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)


def send(receive, text: str, **metadata: Any) -> CollectingOutputChannel:
    output = CollectingOutputChannel()
    asyncio.run(receive(UserMessage(text, output, SENDER, input_channel="widget", metadata=metadata or None)))
    return output


def test_without_a_handoff_messages_go_straight_to_the_assistant(handoffs):
    assistant = Recorder()
    send(bridge.handoff_aware(assistant), "你好")
    assert [m.text for m in assistant.messages] == ["你好"]


def test_during_a_handoff_messages_are_recorded_for_the_agent_and_still_logged(handoffs):
    handoff = handoffs.request(SENDER, "widget", HandoffReason.USER_REQUEST, {"problem": "x"})
    assistant = Recorder()
    receive = bridge.handoff_aware(assistant)
    send(receive, "我还在等")
    send(receive, "/forgot_password", display_text="忘记密码")
    user_lines = [m.text for m in handoffs.transcript(handoff.id) if m.kind.value == "user"]
    assert user_lines == ["我还在等", "忘记密码"]
    assert [m.text for m in assistant.messages] == ["我还在等", "/forgot_password"]  # Rasa logs; paused


def test_cancel_while_waiting_returns_to_the_assistant(handoffs):
    handoffs.request(SENDER, "widget", HandoffReason.USER_REQUEST, {"problem": "x"})
    assistant = Recorder()
    output = send(bridge.handoff_aware(assistant), "/cancel_handoff")
    assert handoffs.open_handoff(SENDER) is None and assistant.messages == []
    assert "已取消人工排队" in output.messages[0]["text"]


def test_a_stale_cancel_button_is_answered_without_the_assistant(handoffs):
    assistant = Recorder()
    output = send(bridge.handoff_aware(assistant), "/cancel_handoff")
    assert assistant.messages == []  # not Rasa's business: "/cancel_handoff" is no intent
    assert len(output.messages) == 1
    answer = output.messages[0]
    # The user is told the assistant is listening again, with no buttons to press.
    assert "继续由我为您服务" in answer["text"] and "请直接描述您的问题" in answer["text"]
    assert not answer.get("buttons")
    assert handoffs.open_handoff(SENDER) is None and handoffs.queue() == []


def test_the_rating_after_a_handoff_is_stored_and_thanked(handoffs, database, clock):
    from bot.handoff.agents import AgentDirectory

    agent = AgentDirectory(database, clock=clock).create("agent1", "客服甲", "Agent-Passw0rd", "agent", actor="test")
    handoff = handoffs.request(SENDER, "widget", HandoffReason.USER_REQUEST, {"problem": "x"})
    handoffs.claim(handoff.id, agent.id)
    handoffs.hand_back(handoff.id, agent.id)
    assistant = Recorder()
    receive = bridge.handoff_aware(assistant)
    thanked = send(receive, "/rate_handoff 4")
    assert handoffs.get(handoff.id).rating == 4 and "4 分" in thanked.messages[0]["text"]
    again = send(receive, "/rate_handoff 5")
    assert handoffs.get(handoff.id).rating == 4 and again.messages  # refused, with a reason
    assert assistant.messages == []


# -- in English (issue 15) ---------------------------------------------------------------------


def test_an_english_conversation_is_told_in_english_and_the_summary_records_the_language(handoffs, full_agent):
    _, messages = run([user("I need a real person", "request_human")], {"language": "en"})
    handoff = handoffs.open_handoff(SENDER)
    assert handoff.summary["language"] == "en"
    assert messages[0]["text"].startswith("OK, connecting you to a support agent: you are next in line")
    assert messages[0]["buttons"] == [{"title": "Cancel, back to the assistant", "payload": "/cancel_handoff"}]


def test_a_conversation_without_the_language_slot_is_chinese_in_the_summary_too(handoffs, full_agent):
    _, messages = run([user("转人工", "request_human")])
    assert handoffs.open_handoff(SENDER).summary["language"] == "zh"
    assert messages[0]["text"].startswith("好的，正在为您转接人工客服")


def test_outside_hours_in_english_names_the_next_opening_in_english(handoffs, clock):
    clock.now = SATURDAY_NIGHT_BEIJING
    _, messages = run([user("agent please", "request_human")], {"language": "en"})
    assert "outside our service hours" in messages[0]["text"]
    assert "the next service period starts Mon 30 Nov, 08:30" in messages[0]["text"]
