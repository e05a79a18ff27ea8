"""Understanding of messages written by people who never saw the training data.

Floors per set (tests/nlu/evaluation.py describes the sets and the outcomes).
"right" means the assistant acts on the expected topic; "did you mean" is not
right, but a wrong answer is worse, so FAQ wrong answers have a ceiling too.
The blind set and the strangers' set carry issue 10's floors; the older
held-out sets, the spent blind set and the validation set are regression sets
with floors a little under their figures at the time.  The report (results/understanding.yml) has
the confusion matrix and every miss; docs/understanding.md quotes it.
"""
from typing import Dict

import pytest

from bot.clarification import candidate_topics
from tests.model import predicted_label
from tests.nlu.evaluation import (
    FALLBACK,
    SET_FILES,
    SetReport,
    evaluate,
    label_probabilities,
    load_set,
    save_report,
)
from tests.nlu.near_copies import near_copy_pairs
from tests.project_data import ROOT, TRAINING
from bot.topics import FAQ_TOPICS, topic_for

pytestmark = pytest.mark.integration

REPORT = ROOT / "results" / "understanding.yml"
# set -> group -> (minimum right, maximum wrong)
# Issue 10 asks the blind set for core >= 95 %, FAQ >= 90 % with <= 3 % wrong, out of scope
# >= 90 %, and the same of the strangers' set. The seventh blind set, measured once with the
# model of the seventh batch, gave 97.3 %, 97.4 % with 0.4 % wrong, and 100 %; the strangers'
# core 95.2 % (99 of 104) and out of scope 93.3 % (docs/understanding.md). The eighth batch
# (FAQ questions told inside account stories) lifted the seventh set's FAQ answers to 98.5 % and
# the eighth set's (questions next to a core problem) from 93.9 to 96.7 % (wrong 3.3 → 1.7 %).
# The ninth batch and a recalibration (2026-12-01): the ninth set (fresh, general registers)
# core 94.5 % (wrong 2.7 %), FAQ 97.7 % (0.8 % wrong), out of scope 95 % — its core floor holds
# that figure, under issue 10's 95 %; the strangers' core 95.2 % (99 of 104), issue 10's floor.
# The tenth set (fresh, general registers, five authors; measured once, 2026-12-01, on the
# model of the ninth batch): core 95.4 %, FAQ 95.5 % with 2.7 % wrong, out of scope 96.3 % —
# issue 10's floors, met; they are its floors here.
# The eleventh set (fresh, five authors, committed before measuring; 2026-12-02, the model fitted
# by SAG, which gives the same top label as the L-BFGS fit on 99.8 % of messages): core 93.4 %
# (2.2 % wrong, 4.4 % "did you mean", every one offering the right problem), FAQ 94.1 % (2.4 %
# wrong), out of scope 94.3 % — under issue 10's 95 % for core problems. Then the tenth batch
# (232 examples, guided by the tenth set's misses; measured once more): core 94.5 % (2.2 % wrong),
# FAQ and out of scope unchanged; the strangers' core 94.2 % (98 of 104: a pinyin-only message
# went to "did you mean"). The floors hold what they measured so that nothing falls further;
# issue 10's 95 % for core problems is not met on these two sets.
# The twelfth set (fresh, six authors, committed before measuring; measured once, 2026-12-02, on
# the model of the eleventh batch — guided by the eleventh set's misses — and a recalibration):
# core 95.5 % (1.8 % wrong), FAQ 95.9 % (1.7 % wrong), out of scope 92.6 %; the strangers' core
# 95.2 % (99 of 104) and FAQ 20 of 20 — issue 10's floors, met; the floors hold them.
# The spent blind sets and the validation set are regression sets with floors a little under
# their figures.
FLOORS: Dict[str, Dict[str, tuple]] = {
    "blind_12": {"core": (0.95, 1.0), "faq": (0.95, 0.02), "out_of_scope": (0.92, 1.0)},
    "blind_11": {"core": (0.94, 1.0), "faq": (0.94, 0.025), "out_of_scope": (0.94, 1.0)},
    "blind_10": {"core": (0.95, 1.0), "faq": (0.95, 0.03), "out_of_scope": (0.95, 1.0)},
    "blind_9": {"core": (0.94, 1.0), "faq": (0.95, 0.02), "out_of_scope": (0.93, 1.0)},
    "blind": {"core": (0.95, 1.0), "faq": (0.90, 0.03), "out_of_scope": (0.90, 1.0)},
    "strangers_intents": {"core": (0.95, 1.0), "out_of_scope": (0.90, 1.0)},
    "blind_near_core": {"core": (0.95, 1.0), "faq": (0.93, 0.03), "out_of_scope": (0.93, 1.0)},
    "validation": {"core": (0.95, 1.0), "faq": (0.90, 0.05), "out_of_scope": (0.90, 1.0)},
    "blind_spent_1": {"core": (0.95, 1.0), "faq": (0.92, 0.04), "out_of_scope": (0.90, 1.0)},
    "blind_spent_2": {"core": (0.93, 1.0), "faq": (0.90, 0.04), "out_of_scope": (0.90, 1.0)},
    "blind_spent_3": {"core": (0.94, 1.0), "faq": (0.91, 0.04), "out_of_scope": (0.93, 1.0)},
    # Out of scope 93.98 % (78 of 83) since the eighth batch (one fewer declined).
    "blind_spent_4": {"core": (0.93, 1.0), "faq": (0.88, 0.045), "out_of_scope": (0.93, 1.0)},
    "blind_spent_6": {"core": (0.95, 1.0), "faq": (0.92, 0.03), "out_of_scope": (0.93, 1.0)},
    "blind_spent_5": {"core": (0.95, 1.0), "faq": (0.95, 0.02), "out_of_scope": (0.92, 1.0)},
    # English (issue 15; its floors: core 0.92, FAQ 0.85, out of scope 0.90): the fourth blind
    # English set, measured once with the model of the fourth English batch, gave core 97.9 %,
    # FAQ 98.5 % (0 wrong), out of scope 96.4 %; its floors keep about three points of room.
    "blind_en": {"core": (0.94, 1.0), "faq": (0.94, 0.03), "out_of_scope": (0.92, 1.0)},
    "blind_en_spent_3": {"core": (0.91, 1.0), "faq": (0.95, 0.02), "out_of_scope": (0.93, 1.0)},
    "blind_en_spent_2": {"core": (0.95, 1.0), "faq": (0.94, 0.03), "out_of_scope": (0.92, 1.0)},
    # 3 of its 87 FAQ questions answered wrong since the fourth English batch (2 before).
    "blind_en_spent_1": {"core": (0.90, 1.0), "faq": (0.94, 0.04), "out_of_scope": (0.95, 1.0)},
    "heldout": {"core": (0.93, 1.0), "faq": (0.95, 0.03)},
    "heldout_blind": {"core": (0.95, 1.0), "faq": (0.95, 0.03)},
}


@pytest.fixture(scope="module")
def reports(model) -> Dict[str, SetReport]:
    results = {name: evaluate(model.parse, load_set(name)) for name in SET_FILES}
    save_report(REPORT, results)
    for name, report in results.items():
        print(name, report.summary())
    return results


@pytest.mark.parametrize("set_name, group", [(s, g) for s, groups in FLOORS.items() for g in groups])
def test_floor(reports, set_name, group):
    minimum_right, maximum_wrong = FLOORS[set_name][group]
    report = reports[set_name]
    misses = [miss for miss in report.misses if miss["expected"].startswith("faq/") == (group == "faq")]
    assert report.rate(group, "right") >= minimum_right, misses
    assert report.rate(group, "wrong") <= maximum_wrong, misses


def test_did_you_mean_offers_the_right_topic_whenever_it_is_among_the_top_three(model):
    checked = 0
    for name in SET_FILES:
        for expected, texts in load_set(name).items():
            if topic_for(expected) is None:
                continue
            for text in texts:
                parse = model.parse(text)
                if parse["intent"]["name"] != FALLBACK:
                    continue
                probabilities = label_probabilities(parse)
                top_three = sorted(probabilities, key=probabilities.get, reverse=True)[:3]
                if expected in top_three:
                    checked += 1
                    assert expected in [topic.key for topic in candidate_topics(parse)], (text, top_three)
    assert checked, "no 'did you mean' had the right topic in its top three: the test checked nothing"


@pytest.mark.parametrize("key, question", sorted(FAQ_TOPICS.items()))
def test_each_faq_button_payload_reaches_its_answer(model, key, question):
    """"Did you mean" buttons for FAQ topics send the canonical question."""
    assert predicted_label(model.parse(question)) == f"faq/{key}"


OFF_TOPIC = ["明天去青岛的动车几点发车", "推荐一部适合周末看的电影", "个税APP的实名认证老是失败怎么办",
             "公积金网站的登录密码忘了", "家里路由器重置以后连不上网", "工商银行网银提示没有权限"]


def test_the_off_topic_examples_are_not_training_examples():
    assert near_copy_pairs(OFF_TOPIC, [t for texts in TRAINING.values() for t in texts]) == []


@pytest.mark.parametrize("text", OFF_TOPIC)
def test_off_topic_questions_and_other_services_are_declined(model, text):
    assert model.parse(text)["intent"]["name"] == "out_of_scope"


@pytest.mark.parametrize(
    "text", ["", "   ", "😀😀😀", "密码\x00\x01\x02", "字" * 10_000]
)
def test_unreadable_messages_become_invalid_input(model, text):
    assert model.parse(text)["intent"]["name"] == "invalid_input"
