"""The language a channel speaks to a conversation in, for the texts the
channels say themselves (not the assistant's answers, which pick their own
variation): the tracker's ``language`` slot (bot/language.py) when it is set,
else the client's hint (a browser's or Telegram client's language tag), else
the default language.

``slot_language`` reads a tracker already at hand; ``stored_language`` reads
the conversation from the Rasa server's tracker store (no lock: a read of
what the last stored turn left).  Neither ever raises for a missing app,
agent or conversation: the hint (or the default) stands then.

The language a turn leaves needs no read: a channel runs the turn inside
``noting_turn_language(conversation)``, and the conversation store, as it
saves the turn, calls ``note_stored(tracker)`` (``turns.watch_stores``
installs that on the Rasa server's store), which notes the saved tracker's
slot on the running turn (a context variable: one turn is one task).
``TurnLanguage.stored`` is False when no save was noted (the turn was not
stored, or the store is not watched).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator, Optional

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


@dataclass
class TurnLanguage:
    """The language slot a running turn left in ``conversation``, noted when the turn was stored."""

    conversation: str
    stored: bool = False
    language: Optional[str] = None


_RUNNING_TURN: ContextVar[Optional[TurnLanguage]] = ContextVar("turn_language", default=None)


@contextmanager
def noting_turn_language(conversation: str) -> Iterator[TurnLanguage]:
    """Notes, while the block runs, the language slot ``conversation`` is saved with."""
    note = TurnLanguage(conversation)
    token = _RUNNING_TURN.set(note)
    try:
        yield note
    finally:
        _RUNNING_TURN.reset(token)


def note_stored(tracker: Any) -> None:
    """The conversation store saved ``tracker``: notes its language on the running turn, if the
    turn is of that conversation."""
    note = _RUNNING_TURN.get()
    if note is not None and getattr(tracker, "sender_id", None) == note.conversation:
        note.stored = True
        note.language = slot_language(tracker)
