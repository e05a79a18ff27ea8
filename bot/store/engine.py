"""The store's engines: one SQLAlchemy engine per database URL per process.

Contract:

* ``engine_for(url)`` creates the engine of a URL the first time it is asked
  for and answers that same engine ever after, from any thread; every
  ``Database`` on the URL (the accounts, the handoffs, the agents, the
  console, the channels) therefore shares one connection pool.
* SQLite engines wait up to 30 s for a lock (Rasa, the action server and the
  CLI share the file), enforce foreign keys and use write-ahead logging; the
  file's folder is created.  Other engines check a pooled connection before
  using it (``pool_pre_ping``).
* Disposing an engine (``Database.dispose``) closes its idle connections; the
  engine stays in the cache and opens new connections when used again.

Rasa's own tracker store opens its engine on the same ``DATABASE_URL``; it is
Rasa's, not this cache's.  Alembic's migrations run on a short-lived engine of
their own (``bot.store.schema``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from bot import config

if TYPE_CHECKING:
    import sqlite3

_ENGINES: Dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def database_url(url: Optional[str] = None) -> str:
    """``url``, or the ``DATABASE_URL`` setting (relative SQLite paths from the project root)."""
    return url or config.rasa_environment()["DATABASE_URL"]


def engine_for(url: Optional[str] = None) -> Engine:
    """The process's one engine of ``url`` (default: ``DATABASE_URL``)."""
    url = database_url(url)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create_engine(url)
        return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        make_sqlite_folder(url)
        # Rasa, the action server and the CLI share the file: wait for locks
        # instead of failing at once.
        engine = create_engine(url, future=True, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def make_sqlite_folder(url: str) -> None:
    """Creates the folder of an SQLite file URL (nothing for other URLs or ``:memory:``)."""
    if not url.startswith("sqlite"):
        return
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection: sqlite3.Connection, _record: object) -> None:
    # The "connect" event of an SQLite engine: pysqlite's DB-API connection.
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
