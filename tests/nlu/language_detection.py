"""Measures the language detector: ``python -m tests.nlu.language_detection``.

Prints, for each list of tests/nlu/language_samples.py and for the training
data (data/nlu/, the ``set_language`` examples aside, which ask for both
languages), the share of messages detected as expected, and the misses.  The
Chinese training data (data/nlu/ but data/nlu/en/) is split into examples with
a Han character (zh or no entity expected; the few English sentences with a
pasted Chinese label among them counted as misses all the same) and without
(pinyin, values, emoji and some English: never zh).  The English training data
(data/nlu/en/) is expected en or no entity (its few mostly-Chinese messages
with English words count as misses).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from bot.nlu.language_rules import detect_language
from tests.nlu import language_samples as samples
from tests.project_data import ROOT, examples_by_intent

# Intents whose examples are written in both languages on purpose.
BILINGUAL_INTENTS = {"set_language"}
_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


ENGLISH_DATA = Path("data") / "nlu" / "en"


def training_examples(root: Path = ROOT, english: bool = False) -> List[str]:
    """Examples of the Chinese (or the English: data/nlu/en/) training files, entity annotations
    reduced to their text, but the bilingual intents'."""
    files = [
        path
        for path in sorted((root / "data" / "nlu").rglob("*.yml"))
        if ((root / ENGLISH_DATA) in path.parents) == english
    ]
    return [
        _ANNOTATION.sub(lambda match: match.group(1) or match.group(2) or "", example)
        for intent, examples in sorted(examples_by_intent(files).items())
        if intent not in BILINGUAL_INTENTS
        for example in examples
    ]


def chinese_training_examples(root: Path = ROOT) -> List[str]:
    return [example for example in training_examples(root) if _HAN.search(example)]


def other_training_examples(root: Path = ROOT) -> List[str]:
    return [example for example in training_examples(root) if not _HAN.search(example)]


def english_training_examples(root: Path = ROOT) -> List[str]:
    return training_examples(root, english=True)


def score(messages: Iterable[str], accepted: Set[Optional[str]]) -> Tuple[float, List[Tuple[str, Optional[str]]]]:
    """The share of ``messages`` detected as one of ``accepted``, and the misses."""
    messages = list(messages)
    misses = [(message, found) for message in messages if (found := detect_language(message)) not in accepted]
    return 1 - len(misses) / len(messages), misses


def measurements() -> Dict[str, Tuple[int, float, List[Tuple[str, Optional[str]]]]]:
    sets = {
        "English": (samples.ENGLISH, {"en"}),
        "English, mixed": (samples.ENGLISH_MIXED, {"en"}),
        "Chinese": (samples.CHINESE, {"zh", None}),
        "Chinese, mixed": (samples.CHINESE_MIXED, {"zh", None}),
        "no language": (samples.NO_LANGUAGE, {None}),
        "Chinese training data with Han characters": (chinese_training_examples(), {"zh", None}),
        "Chinese training data without Han characters": (other_training_examples(), {"en", None}),
        "English training data (data/nlu/en/)": (english_training_examples(), {"en", None}),
    }
    return {name: (len(messages), *score(messages, accepted)) for name, (messages, accepted) in sets.items()}


def main() -> None:
    for name, (count, share, misses) in measurements().items():
        print(f"{name}: {share:.1%} of {count}")
        for message, found in misses:
            print(f"    {found}: {message}")
    others = other_training_examples()
    english = sum(1 for example in others if detect_language(example) == "en")
    print(f"Chinese training data without Han characters detected as English: {english} of {len(others)}")


if __name__ == "__main__":
    main()
