"""Alembic environment: migrations run online against the configured URL."""

from alembic import context
from sqlalchemy import create_engine

import bot.handoff.models  # noqa: F401  (its tables are on the same Base)
from bot.accounts.models import Base

url = context.config.get_main_option("sqlalchemy.url")
if url is None:  # bot.accounts.database.alembic_config always sets it
    raise RuntimeError("the Alembic configuration has no sqlalchemy.url")
engine = create_engine(url, future=True)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
