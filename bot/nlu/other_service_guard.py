"""Problems with other services are declined, not solved as this platform's problems.

"支付宝实名认证不通过" reads to the topic model like this platform's real-name
failure: the problem words dominate.  When a message names another service
(``other_services.yml``: tax, housing fund, banks, payment apps, other
ministries' systems, e-mail, home IT …) and nothing that belongs to this
platform (its name, its business systems, its account words), the intent
becomes ``out_of_scope`` whatever the model said, with the model's ranking
kept below it.  It never turns ``out_of_scope`` into anything else, and
leaves unreadable input to ``InputScreenClassifier``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Pattern, Text

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import PredictionComponent, predict_instead
from bot.nlu.normalisation import normalise
from bot.nlu.text_channels import NORMALISED_TEXT

OUT_OF_SCOPE_INTENT = "out_of_scope"
SERVICES_PATH = Path(__file__).with_name("other_services.yml")


def _any_of(terms: List[str]) -> Pattern[str]:
    alternatives = []
    for term in sorted({normalise(str(term)) for term in terms}, key=len, reverse=True):
        escaped = re.escape(term)
        alternatives.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if term.isascii() else escaped)
    return re.compile("|".join(alternatives))


class ServiceLexicon:
    def __init__(self, other_services: List[str], this_platform: List[str]) -> None:
        self._other = _any_of(other_services)
        self._ours = _any_of(this_platform)

    @classmethod
    def load(cls, path: Path = SERVICES_PATH) -> "ServiceLexicon":
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(data["other_services"], data["this_platform"])

    def names_only_another_service(self, normalised_text: str) -> bool:
        return bool(self._other.search(normalised_text)) and not self._ours.search(normalised_text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OtherServiceGuard(PredictionComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, lexicon: ServiceLexicon) -> None:
        self._lexicon = lexicon

    @classmethod
    def from_config(cls, config: Dict[Text, Any]) -> "OtherServiceGuard":
        return cls(ServiceLexicon.load())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent in (None, OUT_OF_SCOPE_INTENT):
                continue
            text = message.get(NORMALISED_TEXT) or normalise(message.get(TEXT) or "")
            if self._lexicon.names_only_another_service(text):
                predict_instead(message, OUT_OF_SCOPE_INTENT, 1.0)
        return messages
