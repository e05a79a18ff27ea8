"""Engine, sessions and migrations of the account store.

The store shares ``DATABASE_URL`` with Rasa's tracker store: an SQLite file by
default, PostgreSQL in production.  Every change runs in one transaction
(``session_scope``): a failure rolls the whole step back, so nothing
half-written stays behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import config

if TYPE_CHECKING:
    import sqlite3

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: Optional[str] = None) -> str:
    return url or config.rasa_environment()["DATABASE_URL"]


def make_engine(url: Optional[str] = None) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        _make_sqlite_parent(url)
        # Rasa, the action server and the CLI share the file: wait for locks
        # instead of failing at once.
        engine = create_engine(url, future=True, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def _make_sqlite_parent(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection: sqlite3.Connection, _record: object) -> None:
    # The "connect" event of an SQLite engine: pysqlite's DB-API connection.
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: Optional[str] = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
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

    def upgrade(self) -> None:
        upgrade(self.url)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    alembic_cfg = Config()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would read a % in a password as a placeholder.
    alembic_cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return alembic_cfg


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    url = database_url(url)
    if url.startswith("sqlite"):
        _make_sqlite_parent(url)
    command.upgrade(alembic_config(url), revision)
