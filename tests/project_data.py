"""The project's training data, answers and held-out sets, read as plain YAML."""
from pathlib import Path
from typing import Dict, Iterable, List

import yaml

from bot.language import response_variant

ROOT = Path(__file__).resolve().parent.parent


def examples_by_intent(paths: Iterable[Path]) -> Dict[str, List[str]]:
    examples: Dict[str, List[str]] = {}
    for path in paths:
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                examples.setdefault(block["intent"], []).extend(lines)
    return examples


def responses() -> Dict[str, list]:
    merged: Dict[str, list] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses", {}))
    return merged


def answers(language: str = "zh") -> Dict[str, str]:
    """Each response's text in ``language``, as Rasa would choose its variation."""
    texts = {}
    for name, variants in responses().items():
        variant = response_variant(variants, language)
        if variant is not None and "text" in variant:
            texts[name] = variant["text"]
    return texts


TRAINING = examples_by_intent(sorted((ROOT / "data" / "nlu").rglob("*.yml")))
HELDOUT_FILES = {
    "heldout": ROOT / "tests" / "nlu" / "heldout.yml",
    "blind": ROOT / "tests" / "nlu" / "heldout_blind.yml",
}
HELDOUT_SETS = {name: examples_by_intent([path]) for name, path in HELDOUT_FILES.items()}
HELDOUT = examples_by_intent(HELDOUT_FILES.values())
