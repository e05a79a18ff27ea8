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
whatever the model said, and takes ``set_language`` away from a message that
names no language (the model's char n-grams could read "中文乱码" as one):
that message falls back to "did you mean" with the model's other candidates.
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

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if switch_requested(text):
                predict_instead(message, SET_LANGUAGE_INTENT, 1.0)
            elif predicted_intent(message) == SET_LANGUAGE_INTENT and requested_language(text) is None:
                confidence = float((message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                others = [
                    ranked
                    for ranked in message.get(INTENT_RANKING_KEY) or []
                    if ranked.get(INTENT_NAME_KEY) != SET_LANGUAGE_INTENT
                ]
                predict_fallback(message, confidence, others)
        return messages
