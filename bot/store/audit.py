"""The audit log: who did what, shared by every service.

Each entry is written in the transaction of the change it records
(``record_audit`` adds it to the caller's session), so a change and its entry
are committed or rolled back together.  ``actor`` names who acted:
``user:<sender_id>``, ``agent:<login>``, ``cli:<OS user>``, ``assistant``,
``reset_page``, an import's actor.  ``detail`` is JSON (non-ASCII kept as is),
or NULL when there is none; identity data in it is masked by the callers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Mapping, Optional

from sqlalchemy import Column, DateTime, Integer, String, Text
from sqlalchemy.orm import Session

from bot.store.base import Base


class AuditEntry(Base):
    """Who did what (to which account); identity data in ``detail`` is masked.

    ``account_id`` refers to ``accounts.id`` (migration 0001); the accounts'
    models declare that constraint, beside the table it refers to, so the
    store knows no table of the services.
    """

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    actor = Column(String(160), nullable=False)
    action = Column(String(64), nullable=False)
    account_id = Column(Integer)
    detail = Column(Text)


def record_audit(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    account_id: Optional[int] = None,
    detail: Optional[Mapping[str, object]] = None,
) -> AuditEntry:
    """Adds an entry to the session's transaction and returns it; an empty
    ``detail`` is stored as NULL."""
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        account_id=account_id,
        detail=json.dumps(dict(detail), ensure_ascii=False) if detail else None,
    )
    session.add(entry)
    return entry
