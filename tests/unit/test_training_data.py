"""The training data, the answers and the topic catalogue stay in step."""
import re
from typing import Dict

import yaml

from bot.topics import CORE_TOPICS, FAQ_TOPICS
from tests.project_data import HELDOUT, ROOT, TRAINING, responses

def normalised(text: str) -> str:
    return re.sub(r"[\s，。？！,.?!]", "", text).lower()


def test_every_faq_topic_has_an_answer_and_examples_led_by_its_question():
    answers = responses()
    for key, question in FAQ_TOPICS.items():
        assert f"utter_faq/{key}" in answers, key
        examples = TRAINING.get(f"faq/{key}")
        assert examples and examples[0] == question, key
        assert len(examples) >= 10, key


def test_no_faq_examples_or_answers_outside_the_catalogue():
    trained = {name[4:] for name in TRAINING if name.startswith("faq/")}
    answered = {name[len("utter_faq/"):] for name in responses() if name.startswith("utter_faq/")}
    assert trained == set(FAQ_TOPICS) == answered


def test_core_intents_have_at_least_thirty_examples():
    for intent in CORE_TOPICS:
        assert len(TRAINING.get(intent, [])) >= 30, intent


def test_no_example_is_used_for_two_intents():
    owner: Dict[str, str] = {}
    for intent, examples in TRAINING.items():
        for example in examples:
            key = normalised(example)
            assert owner.setdefault(key, intent) == intent, f"{example!r}: {owner[key]} and {intent}"


def test_the_heldout_set_is_never_trained_on():
    trained = {normalised(example) for examples in TRAINING.values() for example in examples}
    overlap = [e for examples in HELDOUT.values() for e in examples if normalised(e) in trained]
    assert not overlap


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
