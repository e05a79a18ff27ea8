"""The user's language in the console (issue 15): the summary shows it (the console
itself stays Chinese), and the canned answers come in the user's language first."""
from __future__ import annotations

from dataclasses import replace

from bot.console import views
from bot.handoff.canned import CannedReply, in_language_first, replies_from_responses
from tests.console.test_console_pages import handoff

ENGLISH = [{"type": "slot", "name": "language", "value": "en"}]
RESPONSES = {
    "utter_faq/sms_code": [
        {"text": "The code is valid for 5 minutes after it is sent.", "condition": ENGLISH},
        {"text": "验证码发出后 5 分钟内有效。"},
    ],
    "utter_faq/browser": [{"text": "请使用新版浏览器。"}],  # no English yet: Chinese only
    "utter_greet": [{"text": "您好"}],  # no FAQ answer
}


def summary_of(summary) -> dict:
    return {label: value.text for label, value in views.summary_rows(replace(handoff(), summary=summary))}


def test_the_summary_shows_the_users_language_once():
    assert summary_of({"problem": "x", "language": "en"})["用户语言"] == "English"
    assert summary_of({"problem": "x", "language": "zh"})["用户语言"] == "中文"
    assert summary_of({"problem": "x"})["用户语言"] == "中文"  # handoffs from before the languages
    assert "language" not in summary_of({"problem": "x", "language": "en"})  # not again as a raw key


def test_each_answer_becomes_a_canned_reply_per_language_and_the_users_come_first():
    replies = replies_from_responses(RESPONSES, "平台账号与使用")
    assert [(reply.key, reply.language) for reply in replies] == [
        ("sms_code", "zh"), ("browser", "zh"), ("sms_code", "en")]
    english = next(reply for reply in replies if reply.language == "en")
    assert english.text.startswith("The code is valid") and english.group == "平台账号与使用（English 英文答案）"
    assert [reply.language for reply in in_language_first(replies, "en")] == ["en", "zh", "zh"]
    assert [reply.language for reply in in_language_first(replies, None)] == ["zh", "zh", "en"]
    assert CannedReply("k", "t", "x", "g").language == "zh"
