"""Pipeline components that prepare what the classifier reads and what the flows use.

``TextNormaliser`` (first after the input screen) stores two views of each
message, for training and prediction alike, and leaves ``text`` untouched (the
tracker, the agent's transcript and the flows keep what the user wrote):

- ``normalised_text``: values replaced by placeholders, then
  ``bot.nlu.normalisation.normalise`` (half-width, simplified, lower case,
  glossary);
- ``pinyin_text``: the pinyin channel of that text, syllables separated by
  spaces.

``ValueExtractor`` adds the values of ``bot.nlu.values`` to the message's
entities (entity name = value kind, ``value`` = the value the flows use), so
the flows never ask for what the user already wrote.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.accounts.systems as systems_module
import bot.nlu.normalisation as normalisation_module
import bot.nlu.values as values_module
from bot.nlu.component import PredictionComponent, code_fingerprint
from bot.nlu.normalisation import GLOSSARY_PATH, normalise, pinyin_syllables
from bot.nlu.values import EXTRACTOR_NAME, find_values, with_placeholders

NORMALISED_TEXT = "normalised_text"
PINYIN_TEXT = "pinyin_text"


def prepared_views(text: str) -> Dict[str, str]:
    normalised = normalise(with_placeholders(text))
    return {NORMALISED_TEXT: normalised, PINYIN_TEXT: " ".join(pinyin_syllables(normalised))}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TextNormaliser(PredictionComponent):
    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        return code_fingerprint(cls, [normalisation_module, values_module, systems_module], [GLOSSARY_PATH])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            for key, view in prepared_views(message.get(TEXT) or "").items():
                message.set(key, view)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ValueExtractor(PredictionComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = [
                {
                    "entity": value.kind,
                    "value": value.value,
                    "start": value.start,
                    "end": value.end,
                    "extractor": EXTRACTOR_NAME,
                }
                for value in find_values(message.get(TEXT) or "")
            ]
            if found:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found], add_to_output=True)
        return messages
