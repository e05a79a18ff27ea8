"""An unsure message without a word of account support is declined, not answered with "did you mean".

"想养猫 布偶和英短哪个好养" or "hhhhhhhh" is unsure for the topic model, and its
"did you mean" would offer password resets to someone asking about cats.  When
the intent is ``nlu_fallback`` and the message has none of the words of
account support (``support_words.yml``), none of the platform's terms
(``platform_terms/``) or names (``other_services.yml``), and no value
(a login name, an ID number … already replaced by its placeholder in the
normalised text), the intent becomes ``out_of_scope``, with the ranking kept
below it.  Words match in the normalised text and, by their pinyin, in the
pinyin channel, so "mima wangle" and homophone typos keep their "did you mean".

Contract: only ``nlu_fallback`` is ever changed, and only to ``out_of_scope``;
a confident prediction is never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Text, Tuple

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.config import PROJECT_ROOT
from bot.nlu.component import PredictionComponent, predict_instead, predicted_intent
from bot.nlu.normalisation import normalise, pinyin_syllables
from bot.nlu.other_service_guard import OUT_OF_SCOPE_INTENT, SERVICES_PATH
from bot.nlu.small_talk_guard import DEFAULT_TERMS_DIRECTORY, load_platform_terms
from bot.nlu.text_channels import NORMALISED_TEXT, PINYIN_TEXT
from bot.nlu.values import PLACEHOLDERS

SUPPORT_WORDS_PATH = Path(__file__).with_name("support_words.yml")


class SupportVocabulary:
    """The words of account support, in characters and in pinyin."""

    def __init__(self, words: Iterable[str]) -> None:
        self._words: FrozenSet[str] = frozenset(normalise(word) for word in words if word.strip())
        # Pinyin of the Chinese words only, as space-padded syllable runs.
        self._pinyin: Tuple[str, ...] = tuple(
            sorted({f" {' '.join(pinyin_syllables(word))} " for word in self._words if not word.isascii()})
        )

    @classmethod
    def load(cls) -> "SupportVocabulary":
        support = yaml.safe_load(SUPPORT_WORDS_PATH.read_text(encoding="utf-8"))["support_words"]
        this_platform = yaml.safe_load(SERVICES_PATH.read_text(encoding="utf-8"))["this_platform"]
        terms = load_platform_terms(PROJECT_ROOT / DEFAULT_TERMS_DIRECTORY)
        return cls([*support, *this_platform, *terms, *PLACEHOLDERS.values()])

    def mentioned(self, normalised_text: str, pinyin_text: str) -> bool:
        if any(word in normalised_text for word in self._words):
            return True
        padded = f" {pinyin_text} "
        return any(run in padded for run in self._pinyin)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OffTopicGuard(PredictionComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, vocabulary: SupportVocabulary) -> None:
        self._vocabulary = vocabulary

    @classmethod
    def from_config(cls, config: Dict[Text, Any]) -> "OffTopicGuard":
        return cls(SupportVocabulary.load())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if predicted_intent(message) != DEFAULT_NLU_FALLBACK_INTENT_NAME:
                continue
            normalised = message.get(NORMALISED_TEXT)
            if normalised is None:
                normalised = normalise(message.get(TEXT) or "")
            pinyin = message.get(PINYIN_TEXT) or " ".join(pinyin_syllables(normalised))
            if not normalised.strip() or self._vocabulary.mentioned(normalised, pinyin):
                continue
            confidence = message.get(INTENT).get(PREDICTED_CONFIDENCE_KEY, 0.0)
            predict_instead(message, OUT_OF_SCOPE_INTENT, confidence, dropped=[DEFAULT_NLU_FALLBACK_INTENT_NAME])
        return messages
