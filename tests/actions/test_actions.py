"""Custom actions run on tracker fixtures with a collecting dispatcher."""
import asyncio

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clarification import ActionClarify
from actions.input_diagnosis import ActionDiagnoseInput
from bot.language import tr
from bot.topics import FAQ_TOPICS
from tests.trackers import action, tracker_of, user

UNSURE = dict(
    intent_ranking=[
        {"name": "nlu_fallback", "confidence": 0.55},
        {"name": "faq", "confidence": 0.40},
        {"name": "forgot_password", "confidence": 0.35},
        {"name": "greet", "confidence": 0.05},
    ],
    response_selector={"faq": {"ranking": [{"intent_response_key": "faq/reset_failed", "confidence": 0.9}]}},
)


def run(action_, events):
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action_.run(dispatcher, tracker_of(events), {}))
    return result, dispatcher.messages


def test_first_misunderstanding_offers_the_likeliest_topics_as_buttons():
    events, messages = run(ActionClarify(), [user("重置那个不行", "nlu_fallback", 0.55, **UNSURE)])
    assert events == [SlotSet("clarification", "choices")]
    assert messages[0]["text"] == tr("clarification.prompt", "zh") == "我不太确定您的意思，您是想问："
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        FAQ_TOPICS["reset_failed"],
        "/forgot_password",
        "/deny",
    ]


def test_second_misunderstanding_in_a_row_offers_a_person_without_guessing():
    history = [user("嗯嗯", "nlu_fallback", 0.4, **UNSURE), action("action_clarify")]
    events, messages = run(ActionClarify(), history + [user("就是那个", "nlu_fallback", 0.4, **UNSURE)])
    assert events == [SlotSet("clarification", "offer_human")]
    assert messages == []


def test_no_plausible_topic_means_nothing_to_offer():
    ranking = dict(intent_ranking=[{"name": "nlu_fallback", "confidence": 0.5}, {"name": "greet", "confidence": 0.3}])
    events, messages = run(ActionClarify(), [user("啊这", "nlu_fallback", 0.3, **ranking)])
    assert events == [SlotSet("clarification", "nothing_to_offer")]
    assert messages == []


@pytest.mark.parametrize(
    "text, problem",
    [("", "empty"), ("   ", "empty"), ("😀😀", "no_words"), ("密码\x00\x01", "garbled"), ("密" * 1001, "too_long")],
)
def test_unreadable_input_is_diagnosed(text, problem, monkeypatch):
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "1000")
    events, messages = run(ActionDiagnoseInput(), [user(text, "invalid_input")])
    assert events == [SlotSet("input_problem", problem)]
    assert messages == []


def test_the_limit_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "10")
    events, _ = run(ActionDiagnoseInput(), [user("密码忘了密码忘了密码忘了", "invalid_input")])
    assert events == [SlotSet("input_problem", "too_long")]
