"""Base of the project's prediction-time NLU components."""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


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
