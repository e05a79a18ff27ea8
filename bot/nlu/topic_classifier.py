"""Rasa's view of ``TopicModel``: the intent, the FAQ answer and the "did you mean" decision.

Contract, per message (after ``TextNormaliser``):

- ``intent``: the best label, with an FAQ answer reported as the retrieval
  intent ``faq``; its confidence is the label's own probability.  When that
  probability is below the threshold (``faq_fallback_threshold`` when the best
  label is an FAQ answer, ``fallback_threshold`` otherwise), or the second
  label is within ``ambiguity_threshold`` of it, the intent is
  ``nlu_fallback`` (as Rasa's FallbackClassifier does) and the ranking below
  it still names the likeliest topics for the clarification's buttons.  FAQ
  answers have a threshold of their own because a wrong FAQ answer is the
  costliest mistake (issue 10 allows 3 %), while a core problem's flow asks
  before it acts.
- ``intent_ranking``: intents best first; ``faq`` carries the sum of its
  answers' probabilities.
- ``response_selector.faq``: the best FAQ answer, in the shape of Rasa's
  ResponseSelector, with a ranking whose confidences are conditional on the
  question being an FAQ question; ``faq`` confidence × answer confidence is
  the answer's probability (``bot.clarification`` relies on it).

The thresholds (and the FAQ answers' class weight) are chosen on the
validation set by ``make calibrate`` (tests/nlu/calibrate.py,
docs/understanding.md), not by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.nlu.topic_model as topic_model_module
from bot.nlu.component import code_fingerprint
from bot.nlu.text_channels import NORMALISED_TEXT, PINYIN_TEXT, prepared_views
from bot.nlu.topic_model import TopicModel, TopicModelSettings, Views
from bot.topics import FAQ_INTENT

RESPONSE_SELECTOR = "response_selector"
RANKING_LENGTH = 10
_FAQ_PREFIX = FAQ_INTENT + "/"


def decide(
    labels: List[str],
    probabilities: np.ndarray,
    fallback_threshold: float,
    ambiguity_threshold: float,
    faq_fallback_threshold: Optional[float] = None,
) -> Dict[str, Any]:
    """The parse fields (intent, intent_ranking, response_selector) for one message's probabilities."""
    order = np.argsort(-probabilities)
    best, best_probability = labels[order[0]], float(probabilities[order[0]])
    second_probability = float(probabilities[order[1]]) if len(order) > 1 else 0.0

    faq_total = float(sum(p for label, p in zip(labels, probabilities, strict=True) if label.startswith(_FAQ_PREFIX)))
    ranked: List[Tuple[str, float]] = [(FAQ_INTENT, faq_total)] if faq_total else []
    ranked += [(labels[i], float(probabilities[i])) for i in order if not labels[i].startswith(_FAQ_PREFIX)]
    ranked = sorted(ranked, key=lambda pair: pair[1], reverse=True)[:RANKING_LENGTH]
    ranking: List[Dict[str, Any]] = [
        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence} for name, confidence in ranked
    ]

    threshold = fallback_threshold
    if faq_fallback_threshold is not None and best.startswith(_FAQ_PREFIX):
        threshold = faq_fallback_threshold
    unsure = best_probability < threshold or best_probability - second_probability < ambiguity_threshold
    if unsure:
        intent = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: best_probability}
        ranking = [intent, *ranking]
    else:
        name = FAQ_INTENT if best.startswith(_FAQ_PREFIX) else best
        intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: best_probability}
    return {
        INTENT: intent,
        INTENT_RANKING_KEY: ranking,
        RESPONSE_SELECTOR: _faq_selection(labels, probabilities, faq_total),
    }


def _faq_selection(labels: List[str], probabilities: np.ndarray, faq_total: float) -> Dict[str, Any]:
    answers = sorted(
        (
            (float(p) / faq_total if faq_total else 0.0, label)
            for label, p in zip(labels, probabilities, strict=True)
            if label.startswith(_FAQ_PREFIX)
        ),
        reverse=True,
    )
    if not answers:
        return {}
    confidence, key = answers[0]
    return {
        "all_retrieval_intents": [FAQ_INTENT],
        FAQ_INTENT: {
            "response": {
                "responses": [],
                PREDICTED_CONFIDENCE_KEY: confidence,
                INTENT_RESPONSE_KEY: key,
                "utter_action": f"utter_{key}",
            },
            "ranking": [
                {"id": index, PREDICTED_CONFIDENCE_KEY: p, INTENT_RESPONSE_KEY: label}
                for index, (p, label) in enumerate(answers[:RANKING_LENGTH])
            ],
        },
    }


def _views(message: Message) -> Views:
    if message.get(NORMALISED_TEXT) is None:
        return prepared_views(message.get(TEXT) or "")
    return {NORMALISED_TEXT: message.get(NORMALISED_TEXT), PINYIN_TEXT: message.get(PINYIN_TEXT) or ""}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TopicClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **TopicModelSettings().as_config(),
            "fallback_threshold": 0.3,
            "faq_fallback_threshold": 0.3,
            "ambiguity_threshold": 0.0,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        return code_fingerprint(cls, [topic_model_module])

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[TopicModel] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TopicClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [message for message in training_data.intent_examples if message.get(TEXT)]
        self._model = TopicModel.fit(
            [_views(message) for message in examples],
            [message.get_full_intent() for message in examples],
            TopicModelSettings.from_config(self._config),
        )
        self.persist()
        return self._resource

    def persist(self) -> None:
        if self._model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(Path(directory))

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TopicClassifier":
        with model_storage.read_from(resource) as directory:
            return cls(config, model_storage, resource, TopicModel.load(Path(directory)))

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        probabilities = self._model.probabilities([_views(message) for message in messages])
        for message, row in zip(messages, probabilities, strict=True):
            parse = decide(
                self._model.labels,
                row,
                float(self._config["fallback_threshold"]),
                float(self._config["ambiguity_threshold"]),
                float(self._config["faq_fallback_threshold"]),
            )
            for key, value in parse.items():
                if value:
                    message.set(key, value, add_to_output=True)
        return messages
