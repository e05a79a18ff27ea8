"""The store every service shares: engines, sessions, the declarative base,
the schema (one Alembic chain for every table), the audit log and password
hashing.

Contract:

* One engine per database URL per process (``engine_for``); a ``Database``
  is that engine plus a session factory, so any number of them on one URL
  share one pool.
* Every table is declared on ``Base`` (enum columns with ``stored_enum``);
  ``upgrade`` (``python -m bot db upgrade``) applies ``bot/store/migrations``,
  whose revision ids (0001 accounts, 0002 login names, 0003 handoff, 0004
  conversation values, 0005 codes per conversation and rate limits, 0006
  teams and presence, 0007 the handoff's user and problem, 0008 trigram
  indexes for search on PostgreSQL) never
  change, so existing databases keep upgrading.
* ``record_audit`` writes ``AuditEntry`` rows in the caller's transaction.
* Times are naive UTC (``utcnow``); a missing row raises ``NotFound``.

The store imports nothing of the services (``bot.accounts``, ``bot.handoff``),
which use it through the names below only.
"""

from bot.store.audit import AuditEntry, record_audit
from bot.store.base import Base, stored_enum
from bot.store.database import Database, NotFound, utcnow
from bot.store.engine import database_url, engine_for
from bot.store.passwords import check_password, hash_password
from bot.store.schema import MIGRATIONS, alembic_config, upgrade

__all__ = [
    "MIGRATIONS",
    "AuditEntry",
    "Base",
    "Database",
    "NotFound",
    "alembic_config",
    "check_password",
    "database_url",
    "engine_for",
    "hash_password",
    "record_audit",
    "stored_enum",
    "upgrade",
    "utcnow",
]
