"""Chooses TopicClassifier's FAQ weight and two thresholds on the validation set; writes them into config.yml.

Run with ``make calibrate`` after the training data changes.  For each FAQ
weight of ``FAQ_WEIGHTS`` the topic model is fitted as training fits it (the
other settings from config.yml), the validation messages
(tests/nlu/validation.yml and the spent blind set) are scored, and every pair of thresholds on a grid
is tried through the same ``decide`` and the same other-service guard the
pipeline runs.  The combination chosen maximises

    right answers − WRONG_COST × wrong answers

("did you mean" costs nothing but the lost right answer; a wrong answer costs
three), ties broken towards the more cautious (higher) thresholds.  The figures of every pair go
to results/calibration.json; docs/understanding.md quotes them.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.nlu.other_service_guard import ServiceLexicon  # noqa: E402
from bot.nlu.text_channels import NORMALISED_TEXT, prepared_views  # noqa: E402
from bot.nlu.topic_classifier import decide  # noqa: E402
from bot.nlu.topic_model import TopicModel, TopicModelSettings  # noqa: E402
from tests.nlu.evaluation import OUT_OF_SCOPE, group_of, load_set  # noqa: E402
from tests.project_data import TRAINING  # noqa: E402

CONFIG = ROOT / "config.yml"
FAQ_WEIGHTS = (0.5, 0.75, 1.0)
CALIBRATION_SETS = ("validation", "blind_spent_1")
WRONG_COST = 3
FALLBACK_GRID = [round(x, 2) for x in np.arange(0.0, 0.61, 0.02)]
AMBIGUITY_GRID = [round(x, 2) for x in np.arange(0.0, 0.21, 0.02)]
UNTRAINED = {"invalid_input"}  # screened by rules before any model, never predicted


def classifier_config() -> Dict:
    pipeline = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["pipeline"]
    return next(step for step in pipeline if step["name"].endswith("TopicClassifier"))


def fitted_model(config: Dict, faq_weight: float) -> TopicModel:
    texts, labels = [], []
    for label, examples in TRAINING.items():
        if label not in UNTRAINED:
            texts += examples
            labels += [label] * len(examples)
    return TopicModel.fit([prepared_views(text) for text in texts], labels, TopicModelSettings.from_config({**config, "faq_weight": faq_weight}))


def outcomes(model: TopicModel, scored: List[Tuple[str, Dict[str, str], np.ndarray]], fallback: float,
             ambiguity: float, lexicon: ServiceLexicon) -> Dict[str, Dict[str, int]]:
    counts: Dict[str, Dict[str, int]] = {}
    for expected, view, row in scored:
        parse = decide(model.labels, row, fallback, ambiguity)
        intent = parse["intent"]["name"]
        if intent not in (OUT_OF_SCOPE,) and lexicon.names_only_another_service(view[NORMALISED_TEXT]):
            predicted = OUT_OF_SCOPE
        elif intent == "nlu_fallback":
            predicted = intent
        else:
            predicted = model.labels[int(np.argmax(row))]
        outcome = "clarify" if predicted == "nlu_fallback" else "right" if predicted == expected else "wrong"
        group = counts.setdefault(group_of(expected), {"right": 0, "clarify": 0, "wrong": 0})
        group[outcome] += 1
    return counts


def main() -> None:
    config = classifier_config()
    messages = [(text, label) for set_name in CALIBRATION_SETS
                for label, texts in load_set(set_name).items() for text in texts]
    views = [prepared_views(text) for text, _ in messages]
    lexicon = ServiceLexicon.load()
    table = []
    for faq_weight in FAQ_WEIGHTS:
        model = fitted_model(config, faq_weight)
        scored = [(label, view, row) for (_, label), view, row in zip(messages, views, model.probabilities(views))]
        for fallback in FALLBACK_GRID:
            for ambiguity in AMBIGUITY_GRID:
                counts = outcomes(model, scored, fallback, ambiguity, lexicon)
                right = sum(group["right"] for group in counts.values())
                wrong = sum(group["wrong"] for group in counts.values())
                table.append({"faq_weight": faq_weight, "fallback_threshold": fallback,
                              "ambiguity_threshold": ambiguity, "score": right - WRONG_COST * wrong,
                              "groups": counts})
    best = max(table, key=lambda row: (row["score"], row["fallback_threshold"], row["ambiguity_threshold"]))
    text = CONFIG.read_text(encoding="utf-8")
    for key in ("faq_weight", "fallback_threshold", "ambiguity_threshold"):
        text = re.sub(rf"(\n\s+{key}: )[0-9.]+", rf"\g<1>{best[key]}", text)
    CONFIG.write_text(text, encoding="utf-8")
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "calibration.json").write_text(
        json.dumps({"chosen": best, "table": table}, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(best, ensure_ascii=False))
    for row in table:
        if row["faq_weight"] == best["faq_weight"] and row["ambiguity_threshold"] == best["ambiguity_threshold"] \
                and row["fallback_threshold"] in (0.0, 0.2, 0.4, 0.6):
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
