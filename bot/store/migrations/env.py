"""Alembic environment: migrations run online against the configured URL, on
an engine of their own that is disposed when they finish (not the process's
shared engine: no SQLite pragmas here, as batch migrations expect).

Every table's module is imported so ``Base.metadata`` holds the whole schema
(for ``alembic revision --autogenerate``); the indexes that only a migration
declares (PostgreSQL's trigram indexes) are left out of the comparison."""

from alembic import context
from sqlalchemy import create_engine

import bot.accounts.models  # noqa: F401  (the account tables)
import bot.handoff.models  # noqa: F401  (the handoff tables)
from bot.handoff.models import autogenerate_includes
from bot.store import Base

url = context.config.get_main_option("sqlalchemy.url")
if url is None:  # bot.store.schema.alembic_config always sets it
    raise RuntimeError("the Alembic configuration has no sqlalchemy.url")
engine = create_engine(url, future=True)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=url.startswith("sqlite"),
        include_object=autogenerate_includes,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
