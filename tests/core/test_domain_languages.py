"""Every domain response speaks English too, with the Chinese one's buttons and numbers.

The contract (bot/language.py): a response in domain/*.yml holds the English
variation, conditioned on the ``language`` slot, first, then the Chinese one
without a condition.  Rasa shows the matching conditional variation before the
unconditioned one, and the FAQ answers (``utter_faq`` of the topic classifier's
``response_selector``, run by Rasa's ActionRetrieveResponse) go through the
same choice: both are checked here against Rasa's own code, no model needed.

The English text is written from the seeds, not translated word by word, so the
tests cannot compare sentences; they compare what must not drift: the buttons
(titles differ, payloads must not) and every number (durations, sizes, phone
numbers, addresses) — a cheap guard that both say the same facts.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Any, Dict, List, Set

import numpy as np
import pytest
from rasa.core.actions.action import ActionRetrieveResponse
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.language import DEFAULT_LANGUAGE, LANGUAGE_SLOT, language_condition, response_variant
from bot.nlu.topic_classifier import decide
from tests.project_data import ROOT, responses

RESPONSES = responses()
FAQ_PREFIX = "utter_faq/"
# "1." "2、" at a line's start number a list; the lists may be laid out differently.
LIST_MARKER = re.compile(r"^\s*\d+[.、)]\s", re.MULTILINE)


def numbers(text: str) -> Set[str]:
    """The runs of digits of a text, list numbering aside (full-width digits as ASCII)."""
    return set(re.findall(r"\d+", LIST_MARKER.sub("", unicodedata.normalize("NFKC", text))))


def cjk(text: str) -> int:
    return sum("\u4e00" <= character <= "\u9fff" for character in text)


def latin(text: str) -> int:
    return sum(character.isascii() and character.isalpha() for character in text)


def payloads(variant: Dict[str, Any]) -> List[str]:
    return [button["payload"] for button in variant.get("buttons") or []]


def test_the_domain_has_the_core_answers_and_every_faq_answer():
    assert "utter_greet" in RESPONSES and "utter_flow_cancelled" in RESPONSES
    assert len([name for name in RESPONSES if name.startswith(FAQ_PREFIX)]) == 45


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_has_an_english_variation_before_the_chinese_one(name):
    variants = RESPONSES[name]
    conditions = [variant.get("condition") for variant in variants]
    assert conditions == [language_condition("en"), None], f"{name}: English (conditioned) first, then Chinese"
    english, chinese = variants
    assert english["text"].strip() and chinese["text"].strip(), name


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_the_english_variation_is_english_and_the_chinese_one_chinese(name):
    english, chinese = response_variant(RESPONSES[name], "en"), response_variant(RESPONSES[name], "zh")
    # Chinese UI labels stay beside their English gloss, so some Chinese is expected; the sentences are English.
    assert latin(english["text"]) > 2 * cjk(english["text"]), name
    assert cjk(chinese["text"]) > latin(chinese["text"]), name
    for button in english.get("buttons") or []:
        assert latin(button["title"]) and not cjk(button["title"]), (name, button)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_the_english_buttons_carry_the_chinese_ones_payloads(name):
    english, chinese = response_variant(RESPONSES[name], "en"), response_variant(RESPONSES[name], "zh")
    assert payloads(english) == payloads(chinese), name


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_the_english_text_gives_the_same_numbers(name):
    english, chinese = response_variant(RESPONSES[name], "en"), response_variant(RESPONSES[name], "zh")
    assert numbers(english["text"]) == numbers(chinese["text"]), name


def test_numbers_ignore_list_numbering_but_not_facts():
    assert numbers("1. 审核约 1–2 个工作日\n2. 电话 010-88659000") == {"1", "2", "010", "88659000"}
    assert numbers("1. wait\n2. call") == set()
    assert numbers("有效期５分钟") == {"5"}


# -- Rasa's choice of a variation ---------------------------------------------------------------


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


@pytest.mark.parametrize("language, slot_value", [("en", "en"), ("zh", "zh"), ("zh", None)])
def test_rasa_shows_each_response_in_the_conversations_language(domain, language, slot_value):
    generator = TemplatedNaturalLanguageGenerator(domain.responses)
    for name in RESPONSES:
        for _ in range(3):  # Rasa picks at random among the eligible variations: only one may be
            shown = generator.generate_from_slots(name, {LANGUAGE_SLOT: slot_value}, "rest")
            assert shown is not None and shown["text"] == response_variant(RESPONSES[name], language)["text"], name


def faq_tracker(domain: Domain, key: str, slot_value: Any) -> DialogueStateTracker:
    """A conversation whose last message the topic classifier read as the FAQ answer ``key``."""
    labels = ["greet", f"faq/{key}", "faq/sms_code" if key != "sms_code" else "faq/browser"]
    parse = decide(labels, np.array([0.05, 0.9, 0.05]), fallback_threshold=0.3, ambiguity_threshold=0.0)
    assert parse["intent"]["name"] == "faq"
    tracker = DialogueStateTracker.from_events("faq-test", [], slots=domain.slots)
    if slot_value is not None:
        tracker.update(SlotSet(LANGUAGE_SLOT, slot_value))
    tracker.update(UserUttered("?", intent=parse["intent"], parse_data={"text": "?", **parse}))
    return tracker


@pytest.mark.parametrize("language, slot_value", [("en", "en"), ("zh", None)])
def test_the_faq_answer_comes_in_the_conversations_language(domain, language, slot_value):
    """The rule ``intent: faq → utter_faq`` runs Rasa's ActionRetrieveResponse, which renders the
    answer the classifier chose through the same NLG and its slot conditions."""
    generator = TemplatedNaturalLanguageGenerator(domain.responses)
    for name in (name for name in RESPONSES if name.startswith(FAQ_PREFIX)):
        key = name[len(FAQ_PREFIX) :]
        events = asyncio.run(
            ActionRetrieveResponse("utter_faq").run(
                CollectingOutputChannel(), generator, faq_tracker(domain, key, slot_value), domain
            )
        )
        assert len(events) == 1, name
        assert events[0].text == response_variant(RESPONSES[name], language)["text"], name


def test_response_variant_falls_back_to_the_default_language():
    variants = [{"condition": language_condition("en"), "text": "Hi"}, {"text": "你好"}]
    assert response_variant(variants, "en")["text"] == "Hi"
    assert response_variant(variants, None)["text"] == "你好"
    assert response_variant(variants, DEFAULT_LANGUAGE)["text"] == "你好"
    assert response_variant([{"text": "你好"}], "en")["text"] == "你好"
    assert response_variant([], "en") is None
