"""Every rule and story of the training data is exercised by a test story."""
from pathlib import Path
from typing import Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]


def steps(folder: str, key: str) -> Set[Tuple[str, str]]:
    """(intent or slot value, action) pairs: what triggers what."""
    pairs = set()
    for path in (ROOT / folder).rglob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get(key, []) or []:
            trigger = None
            for step in block["steps"]:
                if "intent" in step:
                    trigger = step["intent"].split("/")[0]
                elif "slot_was_set" in step:
                    trigger = "=".join(f"{k}:{v}" for slot in step["slot_was_set"] for k, v in slot.items())
                elif "action" in step:
                    if trigger is not None:  # a rule opening with an action only sets context
                        pairs.add((trigger, step["action"]))
                    trigger = step["action"]
    return pairs


def test_every_rule_and_story_step_appears_in_the_test_stories():
    trained = steps("data/rules", "rules") | steps("data/stories", "stories")
    tested = steps("tests/stories", "stories")
    assert trained - tested == set()
