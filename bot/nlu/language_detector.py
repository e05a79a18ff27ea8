"""The pipeline component that finds the language a message shows (config.yml).

``LanguageDetector`` adds the entity ``{"entity": "language", "value": "en"|"zh",
"extractor": "LanguageDetector"}`` when ``bot.nlu.language_rules.detect_language``
finds a language, and nothing otherwise (values, payloads, emoji: the
conversation keeps its language).  A pressed button is read by its title, the
message's ``display_text`` metadata (the widget and Telegram send it): an
English "did you mean" button sends the Chinese canonical question as its
text (bot/topics.py), and the user chose the English title.  The slot ``language`` (domain/core.yml)
maps from this entity; the rule itself, and why it is a rule of our own, is
in bot/nlu/language_rules.py.

``LanguageSwitchClassifier`` (after the classifiers) makes a whole-message
request for a language ("English please", "说中文") the intent ``set_language``
whatever the model said.  The model's own ``set_language`` stands only for a
message that names a language and no word of account support (the
vocabulary of bot/nlu/off_topic_guard.py): "English, please, my Chinese is not
good" is a request, "页面中文显示乱码" a garbled page whose char n-grams the
model might take for one.  Any other ``set_language`` falls back to "did you
mean" with the model's other candidates.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    METADATA,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import PredictionComponent, predict_fallback, predict_instead, predicted_intent
from bot.nlu.language_rules import detect_language, is_payload, requested_language, switch_requested
from bot.nlu.normalisation import normalise, pinyin_syllables
from bot.nlu.off_topic_guard import SupportVocabulary
from bot.nlu.text_channels import NORMALISED_TEXT, PINYIN_TEXT

ENTITY = "language"
EXTRACTOR_NAME = "LanguageDetector"
SET_LANGUAGE_INTENT = "set_language"
# The metadata key under which the channels send what a button showed (its title).
DISPLAY_TEXT_METADATA = "display_text"


def shown_text(message: Message) -> Optional[str]:
    """What the user saw themselves send: a button's title, else the text (a payload stays a payload)."""
    text = message.get(TEXT)
    if is_payload(text):
        return text
    shown = (message.get(METADATA) or {}).get(DISPLAY_TEXT_METADATA)
    return shown if isinstance(shown, str) and shown.strip() else text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(PredictionComponent):
    """Adds the ``language`` entity when the message shows its language."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            language = detect_language(shown_text(message))
            if language is None:
                continue
            entity = {"entity": ENTITY, "value": language, "extractor": EXTRACTOR_NAME}
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageSwitchClassifier(PredictionComponent):
    """``set_language`` exactly for the messages that ask for a language."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, vocabulary: SupportVocabulary) -> None:
        self._vocabulary = vocabulary

    @classmethod
    def from_config(cls, config: Dict[Text, Any]) -> "LanguageSwitchClassifier":
        return cls(SupportVocabulary.load())

    def _asks_only_for_a_language(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if requested_language(text) is None:
            return False
        normalised = message.get(NORMALISED_TEXT)
        if normalised is None:
            normalised = normalise(text)
        pinyin = message.get(PINYIN_TEXT) or " ".join(pinyin_syllables(normalised))
        return not self._vocabulary.mentioned(normalised, pinyin)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if switch_requested(message.get(TEXT)):
                predict_instead(message, SET_LANGUAGE_INTENT, 1.0)
            elif predicted_intent(message) == SET_LANGUAGE_INTENT and not self._asks_only_for_a_language(message):
                confidence = float((message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                others = [
                    ranked
                    for ranked in message.get(INTENT_RANKING_KEY) or []
                    if ranked.get(INTENT_NAME_KEY) != SET_LANGUAGE_INTENT
                ]
                predict_fallback(message, confidence, others)
        return messages
