"""Sessions on the store: ``Database`` is a URL's shared engine and a session
factory; ``utcnow`` is the store's time and ``NotFound`` its missing row.

The store shares ``DATABASE_URL`` with Rasa's tracker store: an SQLite file by
default, PostgreSQL in production.  Every change runs in one transaction
(``Database.session``): a failure rolls the whole step back, so nothing
half-written stays behind.  Times are stored as naive UTC, whole seconds.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator, Optional

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.store.engine import database_url, engine_for
from bot.store.schema import upgrade


class NotFound(LookupError):
    """No row with that id, login or number."""


def utcnow() -> datetime:
    """The services' default clock: naive UTC, whole seconds."""
    return datetime.utcnow().replace(microsecond=0)


class Database:
    """A URL's engine (one per URL per process, ``engine_for``) and a session factory."""

    def __init__(self, url: Optional[str] = None) -> None:
        self.url = database_url(url)
        self.engine: Engine = engine_for(self.url)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """One trivial query (``SELECT 1``); raises when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Applies the migrations up to the latest (``bot.store.schema.upgrade``)."""
        upgrade(self.url)

    def dispose(self) -> None:
        """Closes the idle connections of the shared engine; it reconnects when used again."""
        self.engine.dispose()
