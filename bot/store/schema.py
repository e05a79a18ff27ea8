"""The schema of every table (accounts, handoff, audit log): one Alembic chain
in ``bot/store/migrations`` (revisions 0001, 0002, 0003, ...), applied by
``upgrade`` — ``python -m bot db upgrade``, ``make run`` and the launcher.

Migrations run on a short-lived engine of their own (``migrations/env.py``),
disposed when they finish, without the application's SQLite pragmas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config

from bot.store.engine import database_url, make_sqlite_folder

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    alembic_cfg = Config()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would read a % in a password as a placeholder.
    alembic_cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return alembic_cfg


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    """Migrates the database of ``url`` (default: ``DATABASE_URL``) to ``revision``."""
    url = database_url(url)
    make_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)
