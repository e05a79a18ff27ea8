"""Small talk that names a platform term is a question, not small talk.

A bare "人遗" or "高企" is short, like "好的" or "嗯", and the model may read it as a
yes.  When a message classified as small talk contains one of the platform's
terms (``bot/nlu/platform_terms``), the intent becomes
``nlu_fallback`` and the FAQ intent moves up to second place in the
ranking, so the clarification offers the likeliest FAQ answers as buttons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.config import PROJECT_ROOT
from bot.nlu.component import PredictionComponent, predict_fallback, predicted_intent
from bot.topics import FAQ_INTENT

# `inform` (a bare value such as a system name) counts too: outside a flow "人遗"
# alone is a question about that system, and inside a flow the form reads the
# answer itself whatever the intent.
SMALL_TALK_INTENTS = frozenset({"affirm", "deny", "greet", "goodbye", "thank", "inform"})
DEFAULT_TERMS_DIRECTORY = "bot/nlu/platform_terms"


def load_platform_terms(directory: Path) -> FrozenSet[str]:
    """First column of every term list (``*.txt``) in ``directory``."""
    terms = set()
    for path in sorted(directory.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                terms.add(line.split()[0])
    return frozenset(terms)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SmallTalkGuard(PredictionComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"terms_directory": DEFAULT_TERMS_DIRECTORY}

    def __init__(self, platform_terms: FrozenSet[str]) -> None:
        self._platform_terms = platform_terms

    @classmethod
    def from_config(cls, config: Dict[Text, Any]) -> "SmallTalkGuard":
        return cls(load_platform_terms(PROJECT_ROOT / config["terms_directory"]))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if predicted_intent(message) in SMALL_TALK_INTENTS and self._names_a_platform_term(message.get(TEXT) or ""):
                self._reinterpret_as_unclear_platform_question(message)
        return messages

    @staticmethod
    def _reinterpret_as_unclear_platform_question(message: Message) -> None:
        confidence = message.data[INTENT].get(PREDICTED_CONFIDENCE_KEY, 0.0)
        faq = {INTENT_NAME_KEY: FAQ_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
        others = [
            ranked for ranked in message.data.get(INTENT_RANKING_KEY) or [] if ranked.get(INTENT_NAME_KEY) != FAQ_INTENT
        ]
        predict_fallback(message, confidence, [faq, *others])

    def _names_a_platform_term(self, text: str) -> bool:
        return any(term in text for term in self._platform_terms)
