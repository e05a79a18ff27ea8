"""Migrations 0003 and 0006 on SQLite and PostgreSQL: it creates what the models
declare (nothing for autogenerate to add, but the trigram indexes that revision
0008 alone declares: test_search_trigram.py) and can be undone and redone."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.handoff import models
from bot.handoff.models import autogenerate_includes
from bot.store import Base, alembic_config, upgrade

HANDOFF_TABLES = {"agents", "login_attempts", "agent_sessions", "handoffs", "handoff_messages", "handoff_events",
                  "teams", "team_members", "team_routes"}


def _table_of(diff) -> str:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, sa.Table):
            return part.name
        if isinstance(part, str) and part in HANDOFF_TABLES:
            return part
    return ""


# Neither dialect reflects expression indexes (lower(login)); the case test of test_agents covers them.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_the_migration_matches_the_models(database):
    assert models.Handoff.__table__.metadata is Base.metadata
    with database.engine.connect() as connection:
        assert HANDOFF_TABLES <= set(sa.inspect(connection).get_table_names())
        context = MigrationContext.configure(connection, opts={"include_object": autogenerate_includes})
        diffs = compare_metadata(context, Base.metadata)
    assert [diff for diff in diffs if _table_of(diff) in HANDOFF_TABLES] == []


def test_the_open_handoff_index_is_partial_and_unique(database):
    indexes = {index["name"]: index for index in sa.inspect(database.engine).get_indexes("handoffs")}
    assert indexes["uq_handoffs_open_sender"]["unique"]
    with database.engine.connect() as connection:
        if database.url.startswith("sqlite"):
            sql = connection.execute(sa.text(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_handoffs_open_sender'")).scalar_one()
        else:
            sql = connection.execute(sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_handoffs_open_sender'")).scalar_one()
    assert "WHERE" in sql.upper() and "waiting" in sql and "assigned" in sql


def test_the_migration_can_be_undone_and_redone(database):
    command.downgrade(alembic_config(database.url), "0002")
    assert not HANDOFF_TABLES & set(sa.inspect(database.engine).get_table_names())
    assert "accounts" in sa.inspect(database.engine).get_table_names()
    upgrade(database.url)
    assert HANDOFF_TABLES <= set(sa.inspect(database.engine).get_table_names())


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migration_0006_can_be_undone_and_keeps_the_login_index(database):
    command.downgrade(alembic_config(database.url), "0005")
    tables = set(sa.inspect(database.engine).get_table_names())
    assert not {"teams", "team_members", "team_routes"} & tables
    assert "presence" not in {column["name"] for column in sa.inspect(database.engine).get_columns("agents")}
    with database.engine.connect() as connection:  # the case-blind login index survived SQLite's table copy
        connection.execute(sa.text("INSERT INTO agents (login, display_name, password_hash, role, active, "
                                   "created_at) VALUES ('Alice', 'A', 'x', 'agent', true, '2026-01-01')"))
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text("INSERT INTO agents (login, display_name, password_hash, role, active, "
                                       "created_at) VALUES ('alice', 'B', 'x', 'agent', true, '2026-01-01')"))
    upgrade(database.url)
    assert {"teams", "team_members", "team_routes"} <= set(sa.inspect(database.engine).get_table_names())

