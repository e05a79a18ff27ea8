"""Chooses TopicClassifier's FAQ weight, regularisation and three thresholds; writes them into config.yml.

Run with ``make calibrate`` after the training data changes.  For each FAQ
weight of ``FAQ_WEIGHTS`` and regularisation of ``REGULARISATIONS`` the topic model is fitted as training fits it (the
other settings from config.yml), the calibration messages (tests/nlu/validation.yml
and the spent blind sets, ``CALIBRATION_SETS``) are scored, and every
combination of the fallback threshold, the FAQ answers' own fallback threshold
and the ambiguity threshold on a grid is tried with the decision of
``bot.nlu.topic_classifier.decide`` followed by the other-service and off-topic guards, as the
pipeline runs them.  The combination chosen maximises

    right answers − WRONG_COST × wrong answers

("did you mean" costs nothing but the lost right answer; a wrong answer costs
three), ties broken towards the more cautious (higher) thresholds.  Every
combination's figures go to results/calibration.json; docs/understanding.md quotes them.
"""
from __future__ import annotations

import itertools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.nlu.other_service_guard import ServiceLexicon  # noqa: E402
from bot.nlu.off_topic_guard import SupportVocabulary  # noqa: E402
from bot.nlu.text_channels import NORMALISED_TEXT, PINYIN_TEXT, prepared_views  # noqa: E402
from bot.nlu.topic_model import FAQ_PREFIX, TopicModel, TopicModelSettings  # noqa: E402
from tests.nlu.evaluation import OUT_OF_SCOPE, group_of, load_set  # noqa: E402
from tests.project_data import TRAINING  # noqa: E402

CONFIG = ROOT / "config.yml"
FAQ_WEIGHTS = (0.75, 1.0)
REGULARISATIONS = (10.0, 30.0)
# Sets whose misses have guided a change (never the newest blind set, never the strangers' sets).
CALIBRATION_SETS = ("validation", "blind_spent_1", "blind_spent_2", "blind_spent_3", "blind_spent_4", "blind_spent_5",
                    "blind_spent_6", "blind_near_core", "blind_10", "blind_11")
WRONG_COST = 3
FALLBACK_GRID = [round(x, 2) for x in np.arange(0.0, 0.61, 0.02)]
AMBIGUITY_GRID = [round(x, 2) for x in np.arange(0.0, 0.21, 0.02)]
UNTRAINED = {"invalid_input"}  # screened by rules before any model, never predicted


def classifier_config() -> Dict:
    pipeline = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["pipeline"]
    return next(step for step in pipeline if step["name"].endswith("TopicClassifier"))


def fitted_model(config: Dict, faq_weight: float, regularisation: float) -> TopicModel:
    texts, labels = [], []
    for label, examples in TRAINING.items():
        if label not in UNTRAINED:
            texts += examples
            labels += [label] * len(examples)
    return TopicModel.fit([prepared_views(text) for text in texts], labels, TopicModelSettings.from_config(
        {**config, "faq_weight": faq_weight, "regularisation": regularisation}))


@dataclass(frozen=True)
class Scored:
    """Per message, what the thresholds act on (NumPy arrays, one entry per message)."""

    group: np.ndarray  # the expected label's group (core, faq, out_of_scope, other)
    best_is_expected: np.ndarray
    best_is_faq: np.ndarray
    best_probability: np.ndarray
    margin: np.ndarray  # best minus second probability
    declined_by_guard: np.ndarray  # the other-service guard answers out of scope whatever the model says
    off_topic: np.ndarray  # no word of account support: the off-topic guard declines it when unsure
    expected_out_of_scope: np.ndarray

    @classmethod
    def of(cls, model: TopicModel, labels: List[str], views: List[Dict[str, str]],
           lexicon: ServiceLexicon, vocabulary: SupportVocabulary) -> "Scored":
        probabilities = model.probabilities(views)
        order = np.argsort(-probabilities, axis=1)
        rows = np.arange(len(labels))
        best = [model.labels[index] for index in order[:, 0]]
        return cls(
            group=np.array([group_of(label) for label in labels]),
            best_is_expected=np.array([b == e for b, e in zip(best, labels)]),
            best_is_faq=np.array([b.startswith(FAQ_PREFIX) for b in best]),
            best_probability=probabilities[rows, order[:, 0]],
            margin=probabilities[rows, order[:, 0]] - probabilities[rows, order[:, 1]],
            declined_by_guard=np.array([b != OUT_OF_SCOPE and lexicon.names_only_another_service(v[NORMALISED_TEXT])
                                        for b, v in zip(best, views)]),
            off_topic=np.array([not vocabulary.mentioned(v[NORMALISED_TEXT], v[PINYIN_TEXT]) for v in views]),
            expected_out_of_scope=np.array([label == OUT_OF_SCOPE for label in labels]),
        )

    def outcomes(self, fallback: float, faq_fallback: float, ambiguity: float) -> Dict[str, Dict[str, int]]:
        """The same decision as ``decide`` followed by the guards, for every message at once."""
        threshold = np.where(self.best_is_faq, faq_fallback, fallback)
        unsure = (self.best_probability < threshold) | (self.margin < ambiguity)
        declined = self.declined_by_guard | (unsure & self.off_topic)
        right = np.where(declined, self.expected_out_of_scope, ~unsure & self.best_is_expected)
        clarify = ~declined & unsure
        wrong = ~right & ~clarify
        return {str(group): {"right": int(right[self.group == group].sum()),
                             "clarify": int(clarify[self.group == group].sum()),
                             "wrong": int(wrong[self.group == group].sum())}
                for group in np.unique(self.group)}


def main() -> None:
    config = classifier_config()
    messages = [(text, label) for set_name in CALIBRATION_SETS
                for label, texts in load_set(set_name).items() for text in texts]
    views = [prepared_views(text) for text, _ in messages]
    labels = [label for _, label in messages]
    lexicon = ServiceLexicon.load()
    vocabulary = SupportVocabulary.load()
    table = []
    for faq_weight, regularisation in itertools.product(FAQ_WEIGHTS, REGULARISATIONS):
        scored = Scored.of(fitted_model(config, faq_weight, regularisation), labels, views, lexicon, vocabulary)
        for fallback in FALLBACK_GRID:
            for faq_fallback in FALLBACK_GRID:
                for ambiguity in AMBIGUITY_GRID:
                    counts = scored.outcomes(fallback, faq_fallback, ambiguity)
                    right = sum(group["right"] for group in counts.values())
                    wrong = sum(group["wrong"] for group in counts.values())
                    table.append({"faq_weight": faq_weight, "regularisation": regularisation,
                                  "fallback_threshold": fallback,
                                  "faq_fallback_threshold": faq_fallback, "ambiguity_threshold": ambiguity,
                                  "score": right - WRONG_COST * wrong, "groups": counts})
    best = max(table, key=lambda row: (row["score"], row["fallback_threshold"], row["faq_fallback_threshold"],
                                       row["ambiguity_threshold"]))
    text = CONFIG.read_text(encoding="utf-8")
    for key in ("faq_weight", "regularisation", "fallback_threshold", "faq_fallback_threshold",
                "ambiguity_threshold"):
        text, replaced = re.subn(rf"(\n\s+{key}: )[0-9.]+", rf"\g<1>{best[key]}", text)
        assert replaced == 1, f"config.yml's TopicClassifier has no single {key}"
    CONFIG.write_text(text, encoding="utf-8")
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "calibration.json").write_text(
        json.dumps({"chosen": best, "table": table}, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(best, ensure_ascii=False))
    for row in table:
        if row["faq_weight"] == best["faq_weight"] and row["regularisation"] == best["regularisation"] \
                and row["ambiguity_threshold"] == best["ambiguity_threshold"] \
                and row["fallback_threshold"] == best["fallback_threshold"] \
                and row["faq_fallback_threshold"] in (0.0, 0.2, 0.4, 0.6):
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
