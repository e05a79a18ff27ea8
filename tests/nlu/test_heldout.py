"""Understanding of messages the model never saw.

Two sets, never trained on: tests/nlu/heldout.yml, and heldout_blind.yml,
written later by another author who saw neither the training data nor the
first set (the first set's errors guided which kinds of training examples
were added, so the blind set is the unbiased measure). The floor applies to
both together; the report (results/heldout_report.json) gives each.
"""
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bot.topics import CORE_TOPICS, FAQ_TOPICS
from tests.model import predicted_label
from tests.project_data import HELDOUT_SETS

RESULTS = Path(__file__).resolve().parents[2] / "results"
CORE_INTENTS = set(CORE_TOPICS)
CORE_ACCURACY_FLOOR = 0.95
FAQ_ACCURACY_FLOOR = 0.80


@pytest.fixture(scope="module")
def evaluation(model):
    """Outcome counts per set and label, and the misclassified examples."""
    outcomes = defaultdict(lambda: defaultdict(Counter))
    confusions = []
    for set_name, examples_by_label in HELDOUT_SETS.items():
        for expected, examples in examples_by_label.items():
            for text in examples:
                predicted = predicted_label(model.parse(text))
                outcomes[set_name][expected]["correct" if predicted == expected else "wrong"] += 1
                if predicted != expected:
                    confusions.append({"set": set_name, "text": text, "expected": expected, "predicted": predicted})
    return outcomes, confusions


def accuracy(outcomes_by_set, set_names, labels) -> float:
    counts = [outcomes_by_set[name].get(label, Counter()) for name in set_names for label in labels]
    return sum(c["correct"] for c in counts) / sum(sum(c.values()) for c in counts)


def summary(outcomes, set_names):
    labels = sorted({label for name in set_names for label in outcomes[name]})
    faq_labels = [label for label in labels if label.startswith("faq/")]
    return {
        "core_accuracy": accuracy(outcomes, set_names, CORE_INTENTS),
        "faq_accuracy": accuracy(outcomes, set_names, faq_labels),
        "overall_accuracy": accuracy(outcomes, set_names, labels),
        "per_intent": {
            label: {
                "accuracy": accuracy(outcomes, set_names, [label]),
                "examples": sum(sum(outcomes[name].get(label, Counter()).values()) for name in set_names),
            }
            for label in labels
        },
    }


def test_core_intent_accuracy_on_the_heldout_sets(evaluation):
    outcomes, confusions = evaluation
    report = {"both": summary(outcomes, list(HELDOUT_SETS))}
    report.update({name: summary(outcomes, [name]) for name in HELDOUT_SETS})
    report["confusions"] = confusions
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "heldout_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    for name in ["both", *HELDOUT_SETS]:
        part = report[name]
        print(f"\n{name}: core {part['core_accuracy']:.3f}, FAQ {part['faq_accuracy']:.3f}, "
              f"overall {part['overall_accuracy']:.3f}")
    for label in sorted(CORE_INTENTS):
        print(f"  {label:26s} {report['both']['per_intent'][label]['accuracy']:.3f}")
    assert report["both"]["core_accuracy"] >= CORE_ACCURACY_FLOOR, confusions
    assert report["both"]["faq_accuracy"] >= FAQ_ACCURACY_FLOOR, confusions


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
