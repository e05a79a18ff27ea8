"""Screens messages no model can understand, around the NLU pipeline.

``InputScreen`` runs first: it records why a message is unreadable (empty,
emoji only, garbled, too long) and cuts an over-long text to the limit, so the
models never spend seconds on a pasted document.  ``InputScreenClassifier``
runs last: it restores the full text and replaces whatever the classifiers
guessed with ``invalid_input``; the action that answers it re-screens the text
to say exactly what was wrong.
"""

from __future__ import annotations

from typing import List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot import config
from bot.input_screen import InputProblem, screen_message
from bot.nlu.component import PredictionComponent

INVALID_INPUT_INTENT = "invalid_input"
_VERDICT = "input_screen_verdict"
_FULL_TEXT = "input_screen_full_text"


# Registered as a (non-trainable) classifier so it runs at prediction time
# only, in its place in the pipeline: first.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputScreen(PredictionComponent):
    def __init__(self, max_message_chars: Optional[int] = None) -> None:
        self._max_message_chars = max_message_chars or config.get_int("MAX_MESSAGE_CHARS")

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            problem = screen_message(text, self._max_message_chars)
            if problem is None:
                continue
            message.set(_VERDICT, problem.value)
            if problem is InputProblem.TOO_LONG:
                message.set(_FULL_TEXT, text)
                message.set(TEXT, text[: self._max_message_chars])
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputScreenClassifier(PredictionComponent):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(_VERDICT) is None:
                continue
            if message.get(_FULL_TEXT) is not None:
                message.set(TEXT, message.get(_FULL_TEXT))
            prediction = {INTENT_NAME_KEY: INVALID_INPUT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, prediction, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [prediction], add_to_output=True)
        return messages
