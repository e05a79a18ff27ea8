"""The training data, the answers and the topic catalogue stay in step."""
import re
from typing import Dict

import yaml

from bot.topics import CORE_TOPICS, FAQ_TOPICS
from tests.nlu.near_copies import comparison_key, near_copy_pairs
from tests.project_data import ROOT, TRAINING, examples_by_intent, responses

CORE_MINIMUM = 300
FAQ_MINIMUM = 40
OUT_OF_SCOPE_MINIMUM = 300
# Its examples have no words (emoji, blanks): every one is a "copy" of the others.
UNREADABLE = "invalid_input"


def test_every_faq_topic_has_an_answer_and_examples_led_by_its_question():
    """Led in the Chinese FAQ files (data/nlu/faq/): the question is the "did you mean" button's payload."""
    answers = responses()
    chinese = examples_by_intent(sorted((ROOT / "data" / "nlu" / "faq").glob("*.yml")))
    for key, question in FAQ_TOPICS.items():
        assert f"utter_faq/{key}" in answers, key
        examples = chinese.get(f"faq/{key}")
        assert examples and examples[0] == question, key
        assert len(TRAINING[f"faq/{key}"]) >= FAQ_MINIMUM, key


def test_no_faq_examples_or_answers_outside_the_catalogue():
    trained = {name[4:] for name in TRAINING if name.startswith("faq/")}
    answered = {name[len("utter_faq/"):] for name in responses() if name.startswith("utter_faq/")}
    assert trained == set(FAQ_TOPICS) == answered


def test_core_intents_and_out_of_scope_have_enough_examples():
    for intent in CORE_TOPICS:
        assert len(TRAINING.get(intent, [])) >= CORE_MINIMUM, intent
    assert len(TRAINING["out_of_scope"]) >= OUT_OF_SCOPE_MINIMUM


def test_no_intent_repeats_an_example_with_swapped_words():
    """No template explosion: no two examples of an intent are near-copies of each other."""
    for intent, examples in TRAINING.items():
        if intent != UNREADABLE:
            assert near_copy_pairs(examples, examples, same_collection=True) == [], intent


def test_no_example_is_used_for_two_intents():
    owner: Dict[str, str] = {}
    for intent, examples in TRAINING.items():
        for example in examples:
            key = comparison_key(example)
            assert owner.setdefault(key, intent) == intent, f"{example!r}: {owner[key]} and {intent}"


def test_answers_quote_only_facts_the_seeds_give():
    """Phone numbers and e-mail addresses in answers must come from the seeds."""
    seed_files = sorted((ROOT.parent / "shared" / "seeds").glob("*.txt"))
    assert seed_files, "the platform's manuals are expected in ../shared/seeds beside the project"
    seeds = "".join(path.read_text(encoding="utf-8") for path in seed_files).replace(" ", "")
    for name, variants in responses().items():
        for variant in variants:
            text = variant.get("text", "")
            for contact in re.findall(r"\d{3,4}-\d{7,8}|1\d{10}|[\w.]+@[\w.]+\w", text):
                assert contact in seeds, f"{name} quotes {contact}, which no seed gives"


def test_no_slot_mapping_makes_rasa_run_an_action_after_every_message():
    """A custom mapping that names an action is run by action_extract_slots on every turn."""
    for path in sorted((ROOT / "domain").glob("*.yml")):
        for name, slot in (yaml.safe_load(path.read_text(encoding="utf-8")).get("slots") or {}).items():
            for mapping in slot.get("mappings", []):
                assert "action" not in mapping, f"slot {name} in {path.name}"
