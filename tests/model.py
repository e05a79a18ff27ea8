"""Loads the trained model once per test session (it takes tens of seconds)."""
import asyncio
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "assistant.tar.gz"


class LoadedModel:
    def __init__(self) -> None:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise

        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make train` (make test does)")
        self._loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(MODEL))

    def parse(self, text: str) -> Dict[str, Any]:
        return self._loop.run_until_complete(self.agent.parse_message(text))
