"""How understanding is measured: the evaluation sets, the outcome of one message, the report.

Outcome of a message whose expected label is known (an intent, or ``faq/<key>``):

- ``right``: the assistant acts on the expected label (for an FAQ question:
  the expected answer);
- ``clarify``: "did you mean" (``nlu_fallback``); ``clarify_offers_right``
  tells whether the expected topic is among the buttons
  (``bot.clarification.candidate_topics``);
- ``wrong``: it acts on another label (a wrong answer is worse than "did you mean").

Sets (oldest first; none is ever trained on, and no two share a near-copy:
tests/nlu/test_sets.py):

- ``strangers_intents`` (``../shared/eval``): written by strangers; floors as the blind set;
- ``heldout``, ``heldout_blind``: the earlier held-out sets, kept as regression sets;
- ``validation``: chooses the fallback thresholds (``make calibrate``); not blind;
- ``blind_spent_1`` … ``blind_spent_5``: issue 10's earlier blind sets, each measured once,
  then used like the validation set;
- ``blind``: the current (sixth) blind test set; nothing was tuned on it.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from bot.clarification import candidate_topics
from bot.topics import CORE_TOPICS
from tests.model import predicted_label
from tests.project_data import ROOT, examples_by_intent

SHARED_EVAL = ROOT.parent / "shared" / "eval"
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
# name -> (path, format): "labels" is a mapping label -> messages, "rasa" Rasa's NLU format.
SET_FILES: Dict[str, tuple] = {
    "strangers_intents": (SHARED_EVAL / "strangers_intents.yml", "labels"),
    "heldout": (ROOT / "tests" / "nlu" / "heldout.yml", "rasa"),
    "heldout_blind": (ROOT / "tests" / "nlu" / "heldout_blind.yml", "rasa"),
    "validation": (ROOT / "tests" / "nlu" / "validation.yml", "labels"),
    "blind_spent_1": (ROOT / "tests" / "nlu" / "blind_spent_1.yml", "labels"),
    "blind_spent_2": (ROOT / "tests" / "nlu" / "blind_spent_2.yml", "labels"),
    "blind_spent_3": (ROOT / "tests" / "nlu" / "blind_spent_3.yml", "labels"),
    "blind_spent_4": (ROOT / "tests" / "nlu" / "blind_spent_4.yml", "labels"),
    "blind_spent_5": (ROOT / "tests" / "nlu" / "blind_spent_5.yml", "labels"),
    "blind_spent_6": (ROOT / "tests" / "nlu" / "blind_spent_6.yml", "labels"),
    "blind": (ROOT / "tests" / "nlu" / "blind.yml", "labels"),
    # The eighth Chinese set, by two fresh authors: questions next to a core problem (FAQ questions
    # inside an account story, core problems asked as rules) — measured once before and once after
    # the eighth training batch it guides.
    "blind_near_core": (ROOT / "tests" / "nlu" / "blind_near_core.yml", "labels"),
    # The ninth Chinese set, by four fresh authors, general registers like the seventh, written
    # after every batch; committed before its first measurement (the calibration of 2026-12-01).
    "blind_9": (ROOT / "tests" / "nlu" / "blind_9.yml", "labels"),
    # The tenth, by five fresh authors, the same registers and sizes, written after the ninth
    # batch; committed before its first measurement.
    "blind_10": (ROOT / "tests" / "nlu" / "blind_10.yml", "labels"),
    # The eleventh, by five more fresh authors, the same registers and sizes, written before the
    # faster classifier fit (2026-12-02); committed before its first measurement.
    "blind_11": (ROOT / "tests" / "nlu" / "blind_11.yml", "labels"),
    # The twelfth, by six fresh authors, the same registers and sizes, written after the tenth
    # batch while the eleventh was being written; committed before its first measurement.
    "blind_12": (ROOT / "tests" / "nlu" / "blind_12.yml", "labels"),
    # Issue 15's first blind English set: measured the first English model once, then its misses
    # guided the English names of other services and the second English batch (spent).
    "blind_en_spent_1": (ROOT / "tests" / "nlu" / "blind_en_spent_1.yml", "labels"),
    # The second, by another fresh author: measured the second English model once, then guided the
    # third English batch (spent).
    "blind_en_spent_2": (ROOT / "tests" / "nlu" / "blind_en_spent_2.yml", "labels"),
    # The third, by a third fresh author: measured the third English model once, then its misses
    # guided the fourth English batch (spent).
    "blind_en_spent_3": (ROOT / "tests" / "nlu" / "blind_en_spent_3.yml", "labels"),
    # The fourth, by a fourth fresh author: the honest English figure, measured once.
    "blind_en": (ROOT / "tests" / "nlu" / "blind_en.yml", "labels"),
}
STRANGERS_FAQ = SHARED_EVAL / "strangers_faq.yml"


def load_set(name: str) -> Dict[str, List[str]]:
    path, form = SET_FILES[name]
    if form == "rasa":
        return examples_by_intent([path])
    return {label: [str(text) for text in texts]
            for label, texts in yaml.safe_load(path.read_text(encoding="utf-8")).items()}


def strangers_faq() -> List[Dict[str, Any]]:
    return yaml.safe_load(STRANGERS_FAQ.read_text(encoding="utf-8"))


def every_evaluation_text() -> Dict[str, List[str]]:
    """Set name -> every message of it (the FAQ strangers' questions included)."""
    texts = {name: [t for texts in load_set(name).values() for t in texts] for name in SET_FILES}
    texts["strangers_faq"] = [item["q"] for item in strangers_faq()]
    return texts


def group_of(label: str) -> str:
    if label in CORE_TOPICS:
        return "core"
    if label.startswith("faq/"):
        return "faq"
    if label == OUT_OF_SCOPE:
        return "out_of_scope"
    return "other"


def outcome_of(parse: Dict[str, Any], expected: str) -> Dict[str, Any]:
    if parse["intent"]["name"] == FALLBACK:
        offered = [topic.key for topic in candidate_topics(parse)]
        return {"outcome": "clarify", "predicted": FALLBACK, "clarify_offers_right": expected in offered}
    predicted = predicted_label(parse)
    return {"outcome": "right" if predicted == expected else "wrong", "predicted": predicted}


@dataclass
class SetReport:
    counts: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # group -> outcome counts
    per_label: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    confusion: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    misses: List[Dict[str, Any]] = field(default_factory=list)

    def add(self, text: str, expected: str, result: Dict[str, Any]) -> None:
        group = group_of(expected)
        self.counts[group][result["outcome"]] += 1
        if result["outcome"] == "clarify" and result["clarify_offers_right"]:
            self.counts[group]["clarify_offers_right"] += 1
        self.per_label[expected][result["outcome"]] += 1
        self.confusion[expected][result["predicted"]] += 1
        if result["outcome"] != "right":
            self.misses.append({"text": text, "expected": expected, **result})

    def rate(self, group: str, outcome: str = "right") -> Optional[float]:
        counts = self.counts.get(group)
        total = sum(counts[key] for key in ("right", "clarify", "wrong")) if counts else 0
        return counts[outcome] / total if total else None

    def summary(self) -> Dict[str, Any]:
        return {
            group: {
                "messages": sum(counts[key] for key in ("right", "clarify", "wrong")),
                **{outcome: round(self.rate(group, outcome) or 0.0, 4)
                   for outcome in ("right", "clarify", "wrong")},
                "clarify_offers_right": counts["clarify_offers_right"],
            }
            for group, counts in sorted(self.counts.items())
        }


def evaluate(parse: Callable[[str], Dict[str, Any]], examples: Dict[str, List[str]]) -> SetReport:
    report = SetReport()
    for expected, texts in examples.items():
        for text in texts:
            report.add(text, expected, outcome_of(parse(text), expected))
    return report


def save_report(path: Path, reports: Dict[str, SetReport]) -> None:
    document = {
        name: {"summary": report.summary(),
               "per_label": {label: dict(counts) for label, counts in sorted(report.per_label.items())},
               "confusion": {label: dict(counts) for label, counts in sorted(report.confusion.items())},
               "misses": report.misses}
        for name, report in reports.items()
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def label_probabilities(parse: Dict[str, Any]) -> Dict[str, float]:
    """Every label's probability as the parse reports it (FAQ answers: FAQ share × answer share)."""
    probabilities: Dict[str, float] = {}
    faq_share = 0.0
    for ranked in parse.get("intent_ranking") or []:
        if ranked["name"] == "faq":
            faq_share = ranked["confidence"]
        elif ranked["name"] != FALLBACK:
            probabilities[ranked["name"]] = ranked["confidence"]
    selector = (parse.get("response_selector") or {}).get("faq") or {}
    for ranked in selector.get("ranking") or []:
        probabilities[ranked["intent_response_key"]] = faq_share * ranked["confidence"]
    return probabilities
