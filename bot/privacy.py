"""Identity data kept minimal (PIPL): what the conversation store may hold, and how long.

Contract:

* ``scrub_events(events, requested)`` is what the conversation (tracker)
  store writes instead of Rasa's events (``bot.channels.tracker_store``):
  the same events as dicts, with ID numbers and mobile phone numbers masked
  wherever a user or the assistant wrote them (the text, the NLU's copy of it
  and its entities, the widget's ``display_text``, bot messages, slot values) —
  except, in bot messages, the ``published`` numbers the assistant's own answers
  give (``published_values`` of the domain's responses: a support line) —,
  a user's answer to a question for a name, a document number or a phone
  (the flows' ``MASKED_SLOTS``) masked whole, and the platform's identity
  token (``identity_token``, message metadata) removed wherever it occurs.
  ``requested`` is the form's ``requested_slot`` before the first event.
  The flows already send those slots masked and keep the full values
  server-side (``bot.accounts.flows.privacy``); this is the store's own guard.
* ``mask_text`` masks the ID numbers and phones of one text
  (``bot.nlu.values`` finds them) and leaves the rest of it as written, so a
  bot message in the widget's history reads as it did live.
* ``purge(database, accounts, handoffs, cutoff)`` deletes what is older than
  ``cutoff``: conversations whose last event is older (every event of them),
  uploads, SMS outbox rows and kept flow values (``AccountService.purge_before``)
  and handoff transcripts (``HandoffService.purge_transcripts_before``); counts
  by kind, and a second run deletes nothing more.  ``retention_cutoff`` is now
  minus ``RETENTION_DAYS``.

Rasa-free: the tracker store wrapper and ``python -m bot privacy purge`` are
the entry points.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from datetime import datetime, timedelta
from typing import AbstractSet, Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy import inspect

from bot import config
from bot.accounts.flows.privacy import MASKED_SLOTS
from bot.accounts.masking import mask_document, mask_phone
from bot.accounts.service import AccountService
from bot.handoff.service import HandoffService
from bot.nlu.values import ID_NUMBER, PHONE, find_values
from bot.store import Database

IDENTITY_TOKEN_KEY = "identity_token"
REQUESTED_SLOT = "requested_slot"
# Slots signed by the action server (bot.accounts.flows.verification): masking a digit run
# inside a signature would only break it, and they hold no identity data.
SIGNED_SLOTS = frozenset({"verified_account", "flow_data"})
# Answers to these questions that the flow did not take are still numbers the user meant
# as theirs: every long digit run in them is masked too.
NUMBER_QUESTIONS = frozenset({"doc_number", "phone"})
_LONG_DIGITS = re.compile(r"\d{6,}")
_MASKS = {ID_NUMBER: mask_document, PHONE: mask_phone}

# Rasa's SQL tracker store table, as far as the purge reads it.
_TRACKER_EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"))


# -- masking ----------------------------------------------------------------------------


def mask_text(text: str, published: AbstractSet[str] = frozenset()) -> str:
    """``text`` with every ID number and mobile phone number masked but the ``published``
    ones; the rest of the text stays as written.  Values are found in the text's NFKC form
    (full-width digits are digits) and replaced where they stand in the original: a bot
    message kept with its full-width punctuation is the message the user saw."""
    if not text:
        return text
    plain, origins = _nfkc_with_origins(text)
    found = [value for value in find_values(plain) if value.kind in _MASKS and value.value not in published]
    if not found:
        return text
    masked = text
    for value in sorted(found, key=lambda value: value.start, reverse=True):
        start, end = origins[value.start], origins[value.end - 1] + 1
        masked = masked[:start] + _MASKS[value.kind](value.value) + masked[end:]
    return masked


def published_values(texts: Iterable[str]) -> FrozenSet[str]:
    """The ID numbers and phones the assistant's own answers give (a support line that looks
    like a mobile number): nobody's identity data, and masked they would be useless."""
    found: Set[str] = set()
    for text in texts:
        plain = unicodedata.normalize("NFKC", text or "")
        found.update(value.value for value in find_values(plain) if value.kind in _MASKS)
    return frozenset(found)


def _nfkc_with_origins(text: str) -> Tuple[str, List[int]]:
    """NFKC of ``text`` character by character, and for each character of it the index of
    the original character it came from."""
    pieces: List[str] = []
    origins: List[int] = []
    for index, character in enumerate(text):
        normal = unicodedata.normalize("NFKC", character)
        pieces.append(normal)
        origins.extend([index] * len(normal))
    return "".join(pieces), origins


def _mask_digit_runs(text: str) -> str:
    return _LONG_DIGITS.sub(lambda match: mask_document(match.group()), text)


def _without_identity_token(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_identity_token(item) for key, item in value.items() if key != IDENTITY_TOKEN_KEY}
    if isinstance(value, list):
        return [_without_identity_token(item) for item in value]
    return value


def _answered_slot(events: List[Dict[str, Any]], index: int, requested: Optional[str]) -> Optional[str]:
    """The identity question the user event at ``index`` answered: asked, and set by the flow before
    the next user message."""
    if requested not in MASKED_SLOTS:
        return None
    for event in events[index + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") == requested and event.get("value"):
            return requested
    return None


def _scrub_user(event: Dict[str, Any], answered: Optional[str], requested: Optional[str]) -> None:
    def masked(text: Any) -> Any:
        if not isinstance(text, str) or not text or text.startswith("/"):
            return text
        if answered is not None:
            return MASKED_SLOTS[answered](text.strip())
        text = mask_text(text)
        return _mask_digit_runs(text) if requested in NUMBER_QUESTIONS else text

    event["text"] = masked(event.get("text"))
    parse_data = event.get("parse_data")
    if isinstance(parse_data, dict):
        parse_data["text"] = masked(parse_data.get("text"))
        for entity in parse_data.get("entities") or []:
            if isinstance(entity, dict) and entity.get("entity") in _MASKS and isinstance(entity.get("value"), str):
                entity["value"] = _MASKS[entity["entity"]](entity["value"])
    metadata = event.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("display_text"), str):
        metadata["display_text"] = masked(metadata["display_text"])


def _scrub_slot(event: Dict[str, Any]) -> None:
    name, value = event.get("name"), event.get("value")
    if not isinstance(value, str) or not value or name in SIGNED_SLOTS:
        return
    mask = MASKED_SLOTS.get(str(name))
    # A mask of a mask is the mask: slots the flow already masked stay as they are.
    event["value"] = mask(value) if mask is not None else mask_text(value)


def scrub_events(
    events: List[Mapping[str, Any]], requested: Optional[str] = None, published: AbstractSet[str] = frozenset()
) -> List[Dict[str, Any]]:
    """The events as the conversation store may keep them (see the module docstring);
    ``published``: the numbers the assistant's answers give, left in its messages."""
    scrubbed: List[Dict[str, Any]] = [_without_identity_token(copy.deepcopy(dict(event))) for event in events]
    for index, event in enumerate(scrubbed):
        kind = event.get("event")
        if kind == "user":
            _scrub_user(event, _answered_slot(scrubbed, index, requested), requested)
        elif kind == "bot" and isinstance(event.get("text"), str):
            event["text"] = mask_text(event["text"], published)
        elif kind == "slot":
            if event.get("name") == REQUESTED_SLOT:
                requested = event.get("value")
            _scrub_slot(event)
        elif kind in ("restart", "session_started"):
            requested = None
    return scrubbed


# -- retention ----------------------------------------------------------------------------


def retention_cutoff(now: datetime, environ: Optional[Mapping[str, str]] = None) -> datetime:
    """``now`` minus ``RETENTION_DAYS`` (at least one day)."""
    days = config.get_int("RETENTION_DAYS", environ)
    if days < 1:
        raise ValueError(f"setting RETENTION_DAYS must be at least 1, got {days}")
    return now - timedelta(days=days)


def purge_conversations(database: Database, cutoff: datetime) -> int:
    """Deletes every event of the conversations whose last event is older than ``cutoff``
    (naive UTC); the number of conversations.  Nothing when Rasa's table is not there."""
    if not inspect(database.engine).has_table("events"):
        return 0
    epoch = datetime(1970, 1, 1)
    limit = (cutoff - epoch).total_seconds()
    events = _TRACKER_EVENTS
    with database.session() as session:
        stale = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < limit)
            .subquery()
        )
        senders = [row[0] for row in session.execute(sa.select(stale.c.sender_id))]
        for start in range(0, len(senders), 500):
            batch = senders[start : start + 500]
            session.execute(sa.delete(events).where(events.c.sender_id.in_(batch)))
    return len(senders)


def purge(database: Database, accounts: AccountService, handoffs: HandoffService, cutoff: datetime) -> Dict[str, int]:
    """Deletes what is older than ``cutoff`` everywhere (see the module docstring); counts by kind."""
    counts = {"conversations": purge_conversations(database, cutoff)}
    counts.update(accounts.purge_before(cutoff))
    counts.update(handoffs.purge_transcripts_before(cutoff))
    return counts
