"""The summary's problem is what the assistant understood, not the handoff's
reason: the running flow's problem, else the last core problem or FAQ topic
of the conversation (asking for a person and small talk skipped); what the
assistant already told the user is in it, masked."""
from __future__ import annotations

from bot.handoff.request_summary import NO_PROBLEM, assistant_told, summary_of, understood_topic
from bot.topics import CORE_TOPICS, FAQ_TOPICS
from tests.trackers import user

PHONE = "13812348000"


def faq(text: str, key: str):
    event = user(text, "faq")
    event["parse_data"]["response_selector"] = {
        "faq": {"response": {"intent_response_key": f"faq/{key}"}, "ranking": []}}
    return event


def test_the_issue_s_case_realname_then_a_person():
    events = [user("我的账号实名认证失败了，身份证号 110101199003071234", "realname_failed"),
              {"event": "bot", "text": "请告诉我您的登录名、证件号码或单位的统一社会信用代码。"},
              user("110101199003071234", "inform"),  # an answer, not a problem
              user("转人工", "request_human"),
              {"event": "bot", "text": "好的，先停下当前的办理，为您转人工。"}]  # after it: not what it told before
    assert understood_topic(events) == "realname_failed"
    summary = summary_of({}, ["转人工"], understood_topic(events), None, told=assistant_told(events))
    assert summary["problem"] == CORE_TOPICS["realname_failed"] == "实名认证失败"
    assert summary["told"] == ["请告诉我您的登录名、证件号码或单位的统一社会信用代码。"]


def test_an_faq_topic_is_the_problem_too():
    events = [user("你好", "greet"), faq("验证码多久有效", "sms_code"), user("转人工", "request_human")]
    assert summary_of({}, [], understood_topic(events), None)["problem"] == FAQ_TOPICS["sms_code"]


def test_the_flow_wins_and_asking_for_a_person_is_never_the_problem():
    events = [faq("验证码多久有效", "sms_code")]
    assert summary_of({"flow": "reset"}, [], understood_topic(events), None)["problem"] == CORE_TOPICS["forgot_password"]
    assert understood_topic([user("转人工", "request_human"), user("没用", "negative_feedback")]) is None
    assert summary_of({}, ["转人工"], "request_human", None)["problem"] == NO_PROBLEM
    assert summary_of({}, [], None, None)["problem"] == NO_PROBLEM
    assert "told" not in summary_of({}, [], None, None)


def test_what_the_assistant_told_is_its_last_words_masked_and_short():
    events = [{"event": "bot", "text": f"第{n}条"} for n in range(5)]
    events.append({"event": "bot", "text": f"验证码已发送到 {PHONE}" + "。" * 400})
    told = assistant_told(events)
    assert told[:2] == ["第3条", "第4条"]
    assert told[2].startswith("验证码已发送到 138****8000") and len(told[2]) == 300 and told[2].endswith("…")
