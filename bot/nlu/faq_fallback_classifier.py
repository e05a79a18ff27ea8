"""Turns an unsure FAQ answer into a "did you mean" question.

DIET is confident that a one-word message such as "人遗" or "火炬" is an FAQ
question, but the response selector is not sure which one (its best answer
scores 0.1-0.45, against 0.85+ for real questions).  Answering the best guess
would be a coin toss, so below ``threshold`` the intent becomes
``nlu_fallback``, exactly as Rasa's FallbackClassifier does, keeping the
rankings so the clarification can offer the likeliest answers.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import PredictionComponent, predict_fallback, predicted_intent
from bot.topics import FAQ_INTENT

RESPONSE_SELECTOR_KEY = "response_selector"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class FaqFallbackClassifier(PredictionComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.5}

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold

    @classmethod
    def from_config(cls, config: Dict[Text, Any]) -> "FaqFallbackClassifier":
        return cls(float(config["threshold"]))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self._is_unsure_faq_answer(message):
                predict_fallback(message, self._threshold)
        return messages

    def _is_unsure_faq_answer(self, message: Message) -> bool:
        if predicted_intent(message) != FAQ_INTENT:
            return False
        selection = (message.data.get(RESPONSE_SELECTOR_KEY) or {}).get(FAQ_INTENT) or {}
        confidence = (selection.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY)
        return confidence is not None and confidence < self._threshold
