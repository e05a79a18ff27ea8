"""The language a channel speaks to a conversation in, for the texts the
channels say themselves (not the assistant's answers, which pick their own
variation): the tracker's ``language`` slot (bot/language.py) when it is set,
else the client's hint (a browser's or Telegram client's language tag), else
the default language.

``slot_language`` reads a tracker already at hand; ``stored_language`` reads
the conversation from the Rasa server's tracker store (no lock: a read of
what the last stored turn left).  Neither ever raises for a missing app,
agent or conversation: the hint (or the default) stands then.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from sanic import Sanic

from bot.language import LANGUAGE_SLOT, LANGUAGES, language_of

logger = logging.getLogger(__name__)


def current_app() -> Optional[Sanic]:
    """The process's Sanic app (the Rasa server), None without one (unit tests)."""
    try:
        return Sanic.get_app()
    except Exception:  # noqa: BLE001 - no registered app, or several (tests)
        return None


def slot_language(tracker: Any) -> Optional[str]:
    """The conversation's language slot, or None when it was never set."""
    value = tracker.get_slot(LANGUAGE_SLOT) if tracker is not None else None
    return value if value in LANGUAGES else None


def chosen_language(tracker: Any, hint: Optional[str] = None) -> str:
    """The slot's language, else the client's hint, else the default."""
    return slot_language(tracker) or language_of(hint)


async def stored_language(app: Optional[Sanic], sender_id: str) -> Optional[str]:
    """The language slot of a stored conversation; None when unset or unreadable."""
    agent = getattr(getattr(app, "ctx", None), "agent", None) if app is not None else None
    if agent is None:
        return None
    try:
        tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - a texts' language is never worth failing a turn for
        logger.warning("the language of %s could not be read", sender_id, exc_info=True)
        return None
    return slot_language(tracker)
