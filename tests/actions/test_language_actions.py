"""The language switch and the session start's language hint, on tracker fixtures."""
import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionSetLanguage
from actions.session import ActionSessionStart
from bot.language import tr
from tests.trackers import user

DOMAIN = {"session_config": {"carry_over_slots_to_new_session": True}}


def tracker(events: List[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None) -> Tracker:
    latest = next((dict(e["parse_data"], text=e["text"]) for e in reversed(events) if e["event"] == "user"), {})
    return Tracker("test-user", slots or {}, latest, events, False, None, {}, "action_listen")


def run(action_, tracker_, domain=DOMAIN):
    dispatcher = CollectingDispatcher()
    return asyncio.run(action_.run(dispatcher, tracker_, domain)), dispatcher.messages


def language_entity(value):
    return {"entity": "language", "value": value, "extractor": "LanguageDetector"}


@pytest.mark.parametrize(
    "text, entities, slot, expected",
    [
        ("English please", [language_entity("en")], None, "en"),
        ("说中文", [language_entity("zh")], "en", "zh"),
        ("能说英语吗", [language_entity("zh")], None, "en"),  # Chinese words asking for English
        ("Chinese please", [language_entity("zh")], "en", "zh"),
        ('/set_language{"language": "en"}', [{"entity": "language", "value": "en"}], None, "en"),
        ("/set_language", [], "en", "zh"),  # a bare button toggles
        ("/set_language", [], None, "en"),
    ],
)
def test_the_switch_sets_the_slot_and_confirms_in_the_new_language(text, entities, slot, expected):
    events, messages = run(
        ActionSetLanguage(), tracker([user(text, "set_language", entities=entities)], {"language": slot})
    )
    assert events == [SlotSet("language", expected)]
    assert [message["text"] for message in messages] == [tr("common.language_switched", expected)]


def test_the_confirmations_differ_by_language():
    assert tr("common.language_switched", "en") != tr("common.language_switched", "zh")


def metadata_event(metadata):
    return {"event": "slot", "name": "session_started_metadata", "value": metadata}


def test_a_hint_sets_the_unset_language_at_the_session_start():
    metadata = {"language_hint": "en-US", "identity_token": "t"}
    events, messages = run(ActionSessionStart(), tracker([metadata_event(metadata)], {"session_started_metadata": metadata}))
    assert events == [
        SessionStarted(),
        SlotSet("session_started_metadata", metadata),
        SlotSet("language", "en"),
        ActionExecuted("action_listen"),
    ]
    assert messages == []


def test_a_set_language_is_carried_over_and_not_overwritten_by_the_hint():
    metadata = {"language_hint": "zh-CN"}
    history = [
        {"event": "session_started"},
        {"event": "slot", "name": "language", "value": "en"},
        {"event": "slot", "name": "clarification", "value": "choices"},
        metadata_event(metadata),
    ]
    slots = {"language": "en", "clarification": "choices", "session_started_metadata": metadata}
    events, _ = run(ActionSessionStart(), tracker(history, slots))
    assert events == [
        SessionStarted(),
        SlotSet("language", "en"),
        SlotSet("clarification", "choices"),
        SlotSet("session_started_metadata", metadata),
        ActionExecuted("action_listen"),
    ]


@pytest.mark.parametrize(
    "hint",
    # Forged by a client: oversized, SQL, a list, a tag that only starts like ours.
    [None, "fr-FR", "", 42, "ja", "e" * 10_000, "en'; DROP TABLE events;--", ["en"], "english-please"],
)
def test_no_hint_or_another_language_leaves_the_slot_unset(hint):
    metadata = {"language_hint": hint}
    events, _ = run(ActionSessionStart(), tracker([metadata_event(metadata)], {"session_started_metadata": metadata}))
    assert SlotSet("language", "en") not in events and SlotSet("language", "zh") not in events


def test_zh_hints_set_chinese():
    metadata = {"language_hint": "zh-hans"}
    events, _ = run(ActionSessionStart(), tracker([metadata_event(metadata)], {"session_started_metadata": metadata}))
    assert SlotSet("language", "zh") in events


def test_without_carry_over_the_old_language_goes_and_the_hint_applies():
    metadata = {"language_hint": "en"}
    history = [{"event": "slot", "name": "language", "value": "zh"}, metadata_event(metadata)]
    domain = {"session_config": {"carry_over_slots_to_new_session": False}}
    events, _ = run(ActionSessionStart(), tracker(history, {"language": "zh", "session_started_metadata": metadata}), domain)
    assert events == [
        SessionStarted(),
        SlotSet("session_started_metadata", metadata),
        SlotSet("language", "en"),
        ActionExecuted("action_listen"),
    ]


# -- "did you mean" in the conversation's language ------------------------------------------

UNSURE = dict(
    intent_ranking=[
        {"name": "nlu_fallback", "confidence": 0.55},
        {"name": "faq", "confidence": 0.40},
        {"name": "forgot_password", "confidence": 0.35},
    ],
    response_selector={"faq": {"ranking": [{"intent_response_key": "faq/reset_failed", "confidence": 0.9}]}},
)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_did_you_mean_speaks_the_conversations_language_with_the_same_payloads(language):
    from actions.clarification import ActionClarify
    from bot.topics import CORE_TOPICS, CORE_TOPICS_EN, FAQ_TOPICS, FAQ_TOPICS_EN

    events, messages = run(
        ActionClarify(), tracker([user("reset thing broken", "nlu_fallback", 0.55, **UNSURE)], {"language": language})
    )
    assert events == [SlotSet("clarification", "choices")]
    [message] = messages
    assert message["text"] == tr("clarification.prompt", language)
    titles = {"en": [FAQ_TOPICS_EN["reset_failed"], CORE_TOPICS_EN["forgot_password"], "None of these"],
              "zh": [FAQ_TOPICS["reset_failed"], CORE_TOPICS["forgot_password"], "都不是"]}
    assert [button["title"] for button in message["buttons"]] == titles[language]
    # The payloads are the Chinese canonical question (a training example) and intents, in both languages.
    assert [button["payload"] for button in message["buttons"]] == [FAQ_TOPICS["reset_failed"], "/forgot_password", "/deny"]


def test_did_you_mean_is_english_in_english():
    assert tr("clarification.prompt", "en") == "I'm not quite sure what you mean. Did you mean:"
    assert tr("clarification.none_of_these", "en") == "None of these"
