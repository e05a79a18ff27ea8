"""The conversation store: Rasa's SQL tracker store, writing events as ``bot.privacy`` scrubs them.

``endpoints.yml`` names this class as the ``tracker_store`` type; Rasa builds
it with the store's URL (``DATABASE_URL``) as ``host``, as it does its own
``SQL`` type.  ``save`` is ``SQLTrackerStore.save`` (Rasa 3.6) with one
change: each new event is written as ``bot.privacy.scrub_events`` returns it
— ID numbers and phones masked (in bot messages, all but the numbers the
domain's own answers give, such as a support line), answers to a name /
document number / phone question masked whole, the platform's identity token
removed; the rest of a message is kept as written, so the widget's history
shows a bot message as the user saw it live.  The running
turn keeps the full message in memory (the NLU and the actions read it); the
next turn, and every later reader of the store (the widget's history, the
handoff reports, an operator with SQL), sees the scrubbed events only.

Pooled connections are tested before use (``pool_pre_ping``), so the store
works again at once after a database restart (docs/operations.md).

No event broker is configured; were one added, it would receive Rasa's
unscrubbed events (``stream_events``), so none is passed on.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, FrozenSet, List, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Restarted, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker

from bot.privacy import REQUESTED_SLOT, published_values, scrub_events

logger = logging.getLogger(__name__)


def requested_slot_before(tracker: DialogueStateTracker, index: int) -> Optional[str]:
    """The form's ``requested_slot`` just before the tracker's event at ``index``."""
    for event in reversed(list(tracker.events)[:index]):
        if isinstance(event, SlotSet) and event.key == REQUESTED_SLOT:
            return event.value if isinstance(event.value, str) else None
        if isinstance(event, (Restarted, SessionStarted)):
            return None
    return None


class PrivateSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that stores scrubbed events (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("event_broker", None)
        super().__init__(*args, **kwargs)
        # Rasa's engine keeps pooled connections without testing them: after a
        # database restart each would fail once, a user's message with it.  The
        # same engine, each connection tested when taken (as bot/store's is).
        rasa_engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        url = rasa_engine.url
        rasa_engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)

    def _published(self) -> FrozenSet[str]:
        """The numbers the domain's answers give (a support line), read once per domain: Rasa
        gives the store the model's domain when it loads one."""
        domain = getattr(self, "domain", None)
        if domain is None:
            return frozenset()
        if getattr(self, "_published_of", None) is not domain:
            texts = [variant.get("text") or "" for variants in domain.responses.values() for variant in variants]
            self._published_values = published_values(texts)
            self._published_of = domain
        return self._published_values

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            new_events = list(tracker.events)[stored:]
            rows: List[Dict[str, Any]] = scrub_events(
                [event.as_dict() for event in new_events], requested_slot_before(tracker, stored), self._published()
            )
            for event, data in zip(new_events, rows, strict=True):
                intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        logger.debug("tracker of %s stored (scrubbed)", tracker.sender_id)
