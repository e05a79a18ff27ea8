"""Overrides the predicted intent of messages no model can understand.

Placed last in the pipeline, so DIET's and the fallback classifier's guesses
are replaced by ``invalid_input`` with full confidence; the action that answers
it re-screens the text to say exactly what was wrong.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot import config
from bot.input_screen import screen_message

INVALID_INPUT_INTENT = "invalid_input"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class InputScreenClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_message_chars": None}

    def __init__(self, max_message_chars: int) -> None:
        self._max_message_chars = max_message_chars

    @classmethod
    def create(
        cls,
        config_: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "InputScreenClassifier":
        configured = config_.get("max_message_chars")
        limit = int(configured) if configured else config.get_int("MAX_MESSAGE_CHARS")
        return cls(limit)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if screen_message(message.get(TEXT), self._max_message_chars):
                self._mark_invalid(message)
        return messages

    @staticmethod
    def _mark_invalid(message: Message) -> None:
        prediction = {INTENT_NAME_KEY: INVALID_INPUT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, prediction, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [prediction], add_to_output=True)
