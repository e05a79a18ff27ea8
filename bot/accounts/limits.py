"""Rate limits kept in the database, so every replica of the assistant counts together.

Contract:

* A ``Limit`` is a bucket (what is counted: lookups per conversation, SMS per
  client address, ...), the setting that holds how many are allowed
  (bot/config.py, read at each call) and the window they are counted over.
* ``take(session, now, hits)`` counts one request against each ``(limit, key)``
  pair at once: all are recorded, or none and ``RateLimited`` is raised with
  the wait until the first refused limit lets a request through again (the
  caller's transaction rolls the records back).  A refused request therefore
  does not count, and a request counts even when what it asked for turns out
  not to exist (so the counters never tell whether it did).
* A refusal is a catalogue key (bot/catalogues/<language>/limits.yml):
  ``RateLimited`` carries it with its values, so ``text(language)`` says it in
  the conversation's language and ``str()`` in Chinese.
* Keys are stored as SHA-256 digests: the table holds no address or number.
  Records older than a bucket's window are deleted as that bucket is counted.

Concurrency: the records are written before they are counted, so on SQLite
the write lock is held while counting; on PostgreSQL a transaction lock per
(bucket, key), taken in a fixed order, makes two replicas count one after the
other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Sequence, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot import config
from bot.accounts.checks import InvalidInput
from bot.accounts.models import RateLimitHit
from bot.language import DEFAULT_LANGUAGE, tr

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    bucket: str
    setting: str  # the name in bot/config.py of how many requests the window allows ("": ``fixed``)
    window: timedelta
    refusal: str  # the catalogue key of what the user is told ({allowed}, {seconds}, {minutes}, {hours})
    fixed: int = 0

    def allowed(self) -> int:
        return config.get_int(self.setting) if self.setting else self.fixed

    def refusal_values(self, wait: timedelta) -> Dict[str, int]:
        minutes = wait_in_minutes(wait)
        seconds = max(1, -(-int(wait.total_seconds() * 1000) // 1000))
        return {"allowed": self.allowed(), "seconds": seconds, "minutes": minutes, "hours": -(-minutes // 60)}

    def refused(self, wait: timedelta, language: str = DEFAULT_LANGUAGE) -> str:
        return tr(self.refusal, language, **self.refusal_values(wait))


_TOO_MANY_LOOKUPS = "limits.too_many_lookups"
_TOO_MANY_SMS = "limits.too_many_sms"
LOOKUPS_PER_CONVERSATION = Limit("lookup_conversation", "LOOKUP_LIMIT_PER_CONVERSATION", HOUR, _TOO_MANY_LOOKUPS)
LOOKUPS_PER_ADDRESS = Limit("lookup_address", "LOOKUP_LIMIT_PER_ADDRESS", HOUR, _TOO_MANY_LOOKUPS)
SMS_PER_PHONE = Limit(
    "sms_phone",
    "SMS_LIMIT_PER_PHONE",
    HOUR,
    "limits.sms_per_phone",
)
# One code a minute per phone: a fact of the platform's SMS rules, not a setting.
SMS_PER_PHONE_MINUTE = Limit("sms_phone_minute", "", timedelta(minutes=1), "limits.sms_per_phone_minute", fixed=1)
SMS_PER_CONVERSATION = Limit("sms_conversation", "SMS_LIMIT_PER_CONVERSATION", HOUR, _TOO_MANY_SMS)
SMS_PER_ADDRESS = Limit("sms_address", "SMS_LIMIT_PER_ADDRESS", HOUR, _TOO_MANY_SMS)
SMS_BUDGET = Limit("sms_all", "SMS_HOURLY_BUDGET", HOUR, "limits.sms_budget")
GRANT_REQUESTS_PER_ADMIN = Limit(
    "grant_admin",
    "GRANT_REQUEST_LIMIT_PER_ADMIN",
    DAY,
    "limits.grant_requests_per_admin",
)


class RateLimited(InvalidInput):
    """Too many requests; ``wait`` is how long until one more is allowed."""

    def __init__(self, message: str, limit: Limit, wait: timedelta) -> None:
        super().__init__(message, limit.refusal, limit.refusal_values(wait))
        self.limit, self.wait = limit, wait


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def wait_in_minutes(wait: timedelta) -> int:
    """A wait in whole minutes, rounded up (the announced wait must suffice), at least 1."""
    return max(1, -(-int(wait.total_seconds()) // 60))


def take(session: Session, now: datetime, hits: Sequence[Tuple[Limit, str]]) -> None:
    """Counts one request against every (limit, key); raises ``RateLimited`` when one is spent."""
    keyed: List[Tuple[Limit, str]] = sorted({(limit, digest(key)) for limit, key in hits}, key=_order)
    if session.get_bind().dialect.name == "postgresql":
        for limit, key in keyed:
            session.execute(sql_text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{limit.bucket}:{key}"})
    for limit, key in keyed:
        session.add(RateLimitHit(bucket=limit.bucket, key=key, at=now))
    session.flush()
    for limit, key in keyed:
        session.execute(
            delete(RateLimitHit).where(RateLimitHit.bucket == limit.bucket, RateLimitHit.at <= now - limit.window)
        )
        counted = session.execute(
            select(func.count(), func.min(RateLimitHit.at)).where(
                RateLimitHit.bucket == limit.bucket, RateLimitHit.key == key, RateLimitHit.at > now - limit.window
            )
        ).one()
        if counted[0] > limit.allowed():
            wait = counted[1] + limit.window - now
            raise RateLimited(limit.refused(wait), limit, wait)


def _order(item: Tuple[Limit, str]) -> Tuple[str, str]:
    return item[0].bucket, item[1]
