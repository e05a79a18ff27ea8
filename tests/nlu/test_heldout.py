"""Understanding of messages the model never saw: tests/nlu/heldout.yml.

The per-intent report is written to results/heldout_report.json.
"""
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bot.topics import CORE_TOPICS, FAQ_TOPICS
from tests.unit.test_training_data import HELDOUT

RESULTS = Path(__file__).resolve().parents[2] / "results"
CORE_INTENTS = set(CORE_TOPICS)
CORE_ACCURACY_FLOOR = 0.95
FAQ_ACCURACY_FLOOR = 0.80


def predicted_label(parse: dict) -> str:
    intent = parse["intent"]["name"]
    if intent == "faq":
        return parse["response_selector"]["faq"]["response"]["intent_response_key"]
    return intent


@pytest.fixture(scope="module")
def evaluation(model):
    outcomes = defaultdict(Counter)
    confusions = []
    for expected, examples in HELDOUT.items():
        for text in examples:
            predicted = predicted_label(model.parse(text))
            outcomes[expected]["correct" if predicted == expected else "wrong"] += 1
            if predicted != expected:
                confusions.append({"text": text, "expected": expected, "predicted": predicted})
    return outcomes, confusions


def accuracy(outcomes, labels) -> float:
    correct = sum(outcomes[label]["correct"] for label in labels)
    total = sum(sum(outcomes[label].values()) for label in labels)
    return correct / total


def test_core_intent_accuracy_on_the_heldout_set(evaluation):
    outcomes, confusions = evaluation
    faq_labels = [label for label in outcomes if label.startswith("faq/")]
    report = {
        "core_accuracy": accuracy(outcomes, CORE_INTENTS),
        "faq_accuracy": accuracy(outcomes, faq_labels),
        "overall_accuracy": accuracy(outcomes, list(outcomes)),
        "per_intent": {
            label: {"accuracy": accuracy(outcomes, [label]), "examples": sum(counts.values())}
            for label, counts in sorted(outcomes.items())
        },
        "confusions": confusions,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "heldout_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\nheld-out core accuracy {report['core_accuracy']:.3f}, FAQ {report['faq_accuracy']:.3f}, "
          f"overall {report['overall_accuracy']:.3f}")
    for label in sorted(CORE_INTENTS):
        print(f"  {label:26s} {report['per_intent'][label]['accuracy']:.3f}")
    assert report["core_accuracy"] >= CORE_ACCURACY_FLOOR, confusions
    assert report["faq_accuracy"] >= FAQ_ACCURACY_FLOOR, confusions


@pytest.mark.parametrize("key, question", sorted(FAQ_TOPICS.items()))
def test_each_faq_button_payload_reaches_its_answer(model, key, question):
    """"Did you mean" buttons for FAQ topics send the canonical question."""
    parse = model.parse(question)
    assert predicted_label(parse) == f"faq/{key}"


@pytest.mark.parametrize("text", ["今天天气怎么样", "明天北京下雨吗", "给我讲个笑话吧"])
def test_off_topic_questions_are_not_taken_for_account_problems(model, text):
    assert model.parse(text)["intent"]["name"] in ("out_of_scope", "nlu_fallback")


@pytest.mark.parametrize(
    "text", ["", "   ", "😀😀😀", "密码\x00\x01\x02", "字" * 10_000]
)
def test_unreadable_messages_become_invalid_input(model, text):
    assert model.parse(text)["intent"]["name"] == "invalid_input"
