"""trigram indexes for search on PostgreSQL: pg_trgm and GIN (gin_trgm_ops) on the searched text

Search matches ``ILIKE '%term%'`` (``bot/handoff/search.py``); on PostgreSQL a GIN
index with ``gin_trgm_ops`` serves such patterns (terms of three characters or
more).  This revision creates the ``pg_trgm`` extension (a trusted extension since
PostgreSQL 13: the database's owner, or anyone with CREATE on it, may) and the
indexes on the handoff's problem and summary and on the transcript's messages.

Where the extension cannot be created (no right to on a managed database, or
not installed on the server) the revision logs a warning and creates no index;
it does not fail, and search works the same, by a sequential scan.  SQLite is
unchanged (``LIKE``, no index).

Downgrade drops the indexes and leaves the extension (other schemas may use it).

Revision ID: 0008
Revises: 0007
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

# bot.handoff.models.TRIGRAM_INDEXES when this revision was written: name -> (table, column).
TRIGRAM_INDEXES = {
    "ix_handoffs_problem_trgm": ("handoffs", "problem"),
    "ix_handoffs_summary_trgm": ("handoffs", "summary"),
    "ix_handoff_messages_text_trgm": ("handoff_messages", "text"),
}


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    if not _trigram_extension(connection):
        return
    for name, (table, column) in TRIGRAM_INDEXES.items():
        op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))


def _trigram_extension(connection: sa.engine.Connection) -> bool:
    """Whether pg_trgm is there, creating it if need be (in a savepoint: a refusal
    leaves the migration's transaction usable)."""
    installed = sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if connection.execute(installed).first() is not None:
        return True
    try:
        with connection.begin_nested():
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as refused:
        reason = str(getattr(refused, "orig", refused)).strip().splitlines()[0]
        logger.warning(
            "pg_trgm could not be created (%s): search works without the trigram indexes "
            "(sequential scans); see docs/agent-console.md to add them later",
            reason,
        )
        return False
    return True
