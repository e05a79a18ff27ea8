"""The evaluation sets are never trained on, never copy each other, and cover every topic.

"Never trained on" includes near-copies (tests/nlu/near_copies.py: the same
text after normalisation and without punctuation, or within a small edit
distance), and holds for the strangers' sets in ../shared/eval as for ours.
"""
from itertools import combinations

import pytest

from bot.topics import CORE_TOPICS, FAQ_TOPICS
from tests.nlu.evaluation import OUT_OF_SCOPE, every_evaluation_text, load_set
from tests.nlu.near_copies import are_near_copies, comparison_key, near_copy_pairs
from tests.project_data import TRAINING

EVALUATION = every_evaluation_text()
TRAINING_TEXTS = [text for texts in TRAINING.values() for text in texts]


def test_the_near_copy_rule():
    assert comparison_key("帳號記得，密碼不記得！") == "账号记得密码不记得"
    assert are_near_copies("帐号记得密码不记得", "账号记得密码不记得")
    assert are_near_copies("Reset 密码怎么弄?", "reset密码怎么弄")
    assert are_near_copies("登录名我记得，就是密码想不起来了", "登录名我记得 就是密码想不起来")
    assert not are_near_copies("密码忘了", "账号忘了")
    assert not are_near_copies("实名认证失败", "实名认证失败了吗还是审核中")


@pytest.mark.parametrize("set_name", sorted(EVALUATION))
def test_no_evaluation_message_is_trained_on_or_nearly(set_name):
    assert EVALUATION[set_name], set_name
    assert near_copy_pairs(EVALUATION[set_name], TRAINING_TEXTS) == []


@pytest.mark.parametrize("first, second", list(combinations(sorted(EVALUATION), 2)))
def test_no_two_evaluation_sets_share_a_message(first, second):
    assert near_copy_pairs(EVALUATION[first], EVALUATION[second]) == []


@pytest.mark.parametrize("set_name", sorted(EVALUATION))
def test_no_evaluation_set_repeats_a_message(set_name):
    assert near_copy_pairs(EVALUATION[set_name], EVALUATION[set_name], same_collection=True) == []


def assert_in_size(blind, total: int, per_core: int, per_faq: int, out_of_scope: int) -> None:
    assert sum(len(texts) for texts in blind.values()) >= total
    for intent in CORE_TOPICS:
        assert len(blind[intent]) >= per_core, intent
    for key in FAQ_TOPICS:
        assert len(blind[f"faq/{key}"]) >= per_faq, key
    assert len(blind[OUT_OF_SCOPE]) >= out_of_scope
    assert set(blind) <= {*CORE_TOPICS, *(f"faq/{key}" for key in FAQ_TOPICS), OUT_OF_SCOPE}


def test_the_blind_set_covers_every_topic_in_size():
    # Issue 10: 600 messages, 40 per core problem, 5 per FAQ topic, 60 out of scope; 35 per core
    # problem: short requests for a person are often near-copies of training examples, removed.
    assert_in_size(load_set("blind"), 600, 35, 5, 60)


def test_the_ninth_set_covers_every_topic_in_size():
    # Issue 10's sizes, met after near-copies were removed (a top-up for requests for a person).
    assert_in_size(load_set("blind_9"), 600, 40, 5, 60)


def test_the_tenth_set_covers_every_topic_in_size():
    # Issue 10's sizes, met after near-copies were removed (a top-up for out of scope).
    assert_in_size(load_set("blind_10"), 600, 40, 5, 60)


def test_the_eleventh_set_covers_every_topic_in_size():
    assert_in_size(load_set("blind_11"), 600, 40, 5, 60)


def test_calibration_never_sees_the_newest_blind_set_nor_the_strangers_sets():
    # The thresholds are chosen on spent sets only; the honest figures stay honest.
    from tests.nlu.calibrate import CALIBRATION_SETS

    assert "blind_12" not in CALIBRATION_SETS
    assert not [name for name in CALIBRATION_SETS if name.startswith("strangers")]


def test_the_twelfth_set_covers_every_topic_in_size():
    # After near-copies were removed; a top-up for requests for a person.
    assert_in_size(load_set("blind_12"), 600, 40, 5, 60)


def test_the_near_core_set_covers_every_topic_in_size():
    assert_in_size(load_set("blind_near_core"), 500, 12, 6, 30)


def test_the_english_blind_set_covers_every_topic_in_size():
    # Issue 15: at least 150 messages; every core problem, FAQ topic and out of scope (10 per core
    # problem: short requests for a person are often near-copies).
    for name in ("blind_en", "blind_en_spent_1", "blind_en_spent_2", "blind_en_spent_3"):
        assert_in_size(load_set(name), 150, 10, 1, 30)
