"""The real action and Rasa servers, spoken to over the REST channel."""
import json
import sqlite3
import urllib.error
import urllib.request
import uuid

import pytest

from bot.chat import send
from tests.assistants import REST_TOKEN
from tests.project_data import answers as chinese_answers

pytestmark = pytest.mark.integration

ANSWERS = chinese_answers()


def conversation() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


def say(assistant, sender, text):
    return send(assistant.running.rest_webhook, sender, text, token=assistant.rest_token)


def texts(replies):
    return [reply.get("text") for reply in replies]


def post_raw(url, body: bytes, token=REST_TOKEN):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_greeting_offers_the_common_problems_as_buttons(assistant):
    replies = say(assistant, conversation(), "您好")
    assert texts(replies) == [ANSWERS["utter_greet"]]
    assert "/forgot_password" in [b["payload"] for b in replies[0]["buttons"]]


@pytest.mark.parametrize(
    "question, answer",
    [
        ("我登录名记得但是密码忘了", "utter_forgot_password"),
        ("注册的时候提示身份证号码已经被注册了", "utter_id_already_registered"),
        ("实名认证失败了怎么办", "utter_realname_failed"),
        ("申诉找回一般要等多久", "utter_faq/appeal_duration"),
        ("人遗项目提交以后找不到下载按钮", "utter_faq/hgr_no_download"),
        ("今天天气怎么样", "utter_out_of_scope"),
    ],
)
def test_questions_in_the_users_words_get_their_answers(assistant, question, answer):
    # Account problems go on with the flow's first question after the answer.
    assert texts(say(assistant, conversation(), question))[0] == ANSWERS[answer]


@pytest.mark.parametrize(
    "message, answer",
    [
        ("", "utter_invalid_input_empty"),
        ("  \n\t ", "utter_invalid_input_empty"),
        ("😀👍🙏", "utter_invalid_input_no_words"),
        ("密码" * 5_000, "utter_invalid_input_too_long"),
        ("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "utter_invalid_input_garbled"),
    ],
)
def test_unreadable_messages_get_a_clear_answer_and_the_conversation_goes_on(assistant, message, answer):
    sender = conversation()
    assert texts(say(assistant, sender, message)) == [ANSWERS[answer]]
    assert texts(say(assistant, sender, "忘记密码了"))[0] == ANSWERS["utter_forgot_password"]


@pytest.mark.parametrize(
    "body",
    [b"{this is not json", b"\xff\xfe\xfd", b"[]", b'{"message": "hi"}', b'{"sender": "x", "message": 5}'],
)
def test_malformed_requests_get_http_400_and_the_server_keeps_serving(assistant, body):
    status, reply = post_raw(assistant.running.rest_webhook, body)
    assert status == 400 and reply["error"]
    assert texts(say(assistant, conversation(), "你好")) == [ANSWERS["utter_greet"]]


def test_two_misunderstandings_in_a_row_offer_a_person_and_yes_connects(assistant):
    sender = conversation()
    first = say(assistant, sender, "/nlu_fallback")
    assert texts(first) == [ANSWERS["utter_default"]]
    second = say(assistant, sender, "/nlu_fallback")
    assert texts(second) == [ANSWERS["utter_offer_human"]]
    queued = say(assistant, sender, "/affirm")
    assert "客服现在都不在线" in texts(queued)[0]  # SUPPORT_HOURS always, no agent 在线: said at once
    assert queued[0]["buttons"] == [{"title": "取消，回到助手", "payload": "/cancel_handoff"}]
    handoff = default_handoff_service_on(assistant).open_handoff(f"rest:{sender}")
    assert handoff.reason.value == "misunderstood" and handoff.channel == "rest"

    assert say(assistant, sender, "你好") == []  # a person owns it: the assistant is silent
    transcript = default_handoff_service_on(assistant).transcript(handoff.id)
    assert [m.text for m in transcript if m.kind.value == "user"] == ["你好"]

    back = say(assistant, sender, "/cancel_handoff")
    assert "已取消人工排队" in texts(back)[0]
    assert texts(say(assistant, sender, "你好")) == [ANSWERS["utter_greet"]]


def default_handoff_service_on(assistant):
    from bot.handoff.service import HandoffService
    from bot.store import Database

    return HandoffService(Database(assistant.overrides["DATABASE_URL"]))


def stored_events(assistant, sender):
    database = assistant.overrides["DATABASE_URL"][len("sqlite:///"):]
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT type_name, action_name FROM events WHERE sender_id = ? ORDER BY id", (f"rest:{sender}",)
        ).fetchall()


def test_an_ordinary_turn_runs_no_custom_action_and_sets_no_slot(assistant):
    sender = conversation()
    say(assistant, sender, "你好")
    say(assistant, sender, "申诉找回一般要等多久")
    events = stored_events(assistant, sender)
    assert ("action", "utter_faq") in events
    # The session start keeps the first message's metadata (the channel always sends the client
    # address, docs/security.md section 8) in Rasa's built-in slot, and the language detector's
    # entity fills `language` through its slot mapping (no action); no custom action sets a slot.
    assert not [e for e in events if (e[0] == "slot" and e[1] not in ("session_started_metadata", "language"))
                or (e[1] or "").startswith("action_clarify")]


def test_restart_command_forgets_the_misunderstandings(assistant):
    sender = conversation()
    say(assistant, sender, "/nlu_fallback")
    say(assistant, sender, "/restart")
    assert texts(say(assistant, sender, "/nlu_fallback")) == [ANSWERS["utter_default"]]


def test_conversations_survive_a_server_restart(assistant):
    sender = conversation()
    assert texts(say(assistant, sender, "/nlu_fallback")) == [ANSWERS["utter_default"]]
    assistant.restart()
    # The second miss in a row is only recognised if the first was kept.
    assert texts(say(assistant, sender, "/nlu_fallback")) == [ANSWERS["utter_offer_human"]]
    assert [e for e in stored_events(assistant, sender) if e[0] == "user"] == [("user", None)] * 2


def test_a_vague_message_gets_did_you_mean_buttons_that_lead_to_answers(assistant):
    from bot.language import tr
    from bot.topics import FAQ_TOPICS

    sender = conversation()
    (question,) = say(assistant, sender, "人遗")
    assert question["text"] == tr("clarification.prompt", "zh")
    *candidates, none_of_these = question["buttons"]
    assert candidates and none_of_these == {"title": "都不是", "payload": "/deny"}
    key = next(k for k, q in FAQ_TOPICS.items() if q == candidates[0]["payload"])
    assert texts(say(assistant, sender, candidates[0]["payload"])) == [ANSWERS[f"utter_faq/{key}"]]
    # "none of these" after a miss is the second misunderstanding: a person is offered.
    say(assistant, sender, "人遗")
    assert texts(say(assistant, sender, "/deny")) == [ANSWERS["utter_offer_human"]]
