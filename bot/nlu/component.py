"""Base of the project's prediction-time NLU components."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

Ranking = List[Dict[str, Any]]


class PredictionComponent(GraphComponent):
    """A non-trainable component built from its configuration alone.

    Rasa's ``create`` also passes model storage and execution context, which
    these components never use; subclasses implement ``from_config``.
    """

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "PredictionComponent":
        return cls.from_config(config)

    @classmethod
    def from_config(cls, config: Dict[Text, Any]) -> "PredictionComponent":
        return cls()


def code_fingerprint(component: type, delegates: Sequence[ModuleType] = (), files: Sequence[Path] = ()) -> str:
    """A digest of the source of ``component``'s whole module, of ``delegates`` and of ``files``,
    for ``fingerprint_addon``.

    Rasa's training cache keys a component by its own class's source, config and inputs only: a
    change to a module-level helper beside the class, to a module it delegates to (the topic model,
    the normaliser) or to a word list it reads would otherwise reuse the cached component.
    """
    digest = hashlib.sha256()
    for module in (inspect.getmodule(component), *delegates):
        digest.update(inspect.getsource(module).encode("utf-8"))  # type: ignore[arg-type]
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def predicted_intent(message: Message) -> Optional[str]:
    return (message.data.get(INTENT) or {}).get(INTENT_NAME_KEY)


def predict_fallback(message: Message, confidence: float, ranking: Optional[Ranking] = None) -> None:
    """Makes ``nlu_fallback`` the intent, as Rasa's FallbackClassifier does.

    The fallback goes on top of ``ranking`` (by default the message's own), so
    the clarification can still offer the likeliest topics.
    """
    fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: confidence}
    rest = message.data.get(INTENT_RANKING_KEY) or [] if ranking is None else ranking
    message.data[INTENT] = fallback
    message.data[INTENT_RANKING_KEY] = [fallback, *rest]


def predict_instead(message: Message, intent: str, confidence: float, dropped: Iterable[str] = ()) -> None:
    """Makes ``intent`` the message's intent, on top of its ranking.

    The ranking below keeps the model's other candidates, without ``intent``
    itself and without the names in ``dropped``.
    """
    removed = {intent, *dropped}
    chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: confidence}
    rest = [ranked for ranked in message.get(INTENT_RANKING_KEY) or [] if ranked.get(INTENT_NAME_KEY) not in removed]
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)
