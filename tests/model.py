"""Loads the trained model once per test session (it takes tens of seconds)."""
import asyncio
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "assistant.tar.gz"


def predicted_label(parse: Dict[str, Any]) -> str:
    """The intent, or for an FAQ question the full "faq/<key>" of the chosen answer."""
    intent = parse["intent"]["name"]
    if intent != "faq":
        return intent
    # A response selector without retrieval_intent (Rasa's default config) reports as "default".
    selector = parse["response_selector"].get("faq") or parse["response_selector"]["default"]
    return selector["response"]["intent_response_key"]


class LoadedModel:
    def __init__(self, path: Path = MODEL) -> None:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise

        if not path.exists():
            raise RuntimeError(f"{path} is missing: run `make train` (make test does)")
        self._loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(path))

    def parse(self, text: str) -> Dict[str, Any]:
        return self._loop.run_until_complete(self.agent.parse_message(text))
