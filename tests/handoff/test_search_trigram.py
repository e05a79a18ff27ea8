"""Search's trigram indexes on PostgreSQL (revision 0008): created with pg_trgm, used by
the search's own query for terms of three characters or more (``EXPLAIN``), finding what
ILIKE finds; Chinese terms get trigrams only under a UTF-8 LC_CTYPE; a database that
refuses pg_trgm migrates anyway, without them, and searches alike; the revision can be
undone and redone.  SQLite has none (test_schema.py: the models match the migrations
there)."""
from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from bot.handoff.access import readable
from bot.handoff.agents import AgentDirectory
from bot.handoff.models import TRIGRAM_INDEXES, AgentRole, Handoff, HandoffReason
from bot.handoff.search import SearchCriteria, conditions, search
from bot.handoff.service import HandoffService
from bot.store import Database, alembic_config, upgrade
from tests.accounts.conftest import _fresh_postgres_database
from tests.handoff.conftest import PASSWORD

pytestmark = pytest.mark.integration  # a real PostgreSQL server


@pytest.fixture
def postgres(postgres_url):
    database = Database(_fresh_postgres_database(postgres_url))
    database.upgrade()
    yield database
    database.dispose()


def trigram_indexes(database) -> dict:
    """The GIN trigram indexes on the database: name -> definition."""
    with database.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'"))
        return dict(rows.all())


def search_plan(database, criteria: SearchCriteria) -> str:
    """PostgreSQL's plan of the search's own query for ``criteria`` (an admin's), index scans forced
    where possible (``enable_seqscan = off``: the plan does not hang on a small table's statistics)."""
    query = sa.select(Handoff.id).where(readable(0, True), *conditions(criteria, "postgresql"))
    compiled = query.compile(dialect=database.engine.dialect)  # bound as psycopg2 binds a search's values
    with database.engine.connect() as connection:
        connection.execute(sa.text("SET enable_seqscan = off"))
        return "\n".join(connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars())


def test_postgresql_searches_through_trigram_indexes(postgres):
    database = postgres
    service = HandoffService(database)
    admin = AgentDirectory(database).create("chief", "李主管", PASSWORD, AgentRole.ADMIN)
    found = trigram_indexes(database)
    assert set(found) == set(TRIGRAM_INDEXES)
    for name, (table, column) in TRIGRAM_INDEXES.items():
        assert f"ON public.{table} USING gin ({column} gin_trgm_ops)" in found[name]
    for number in range(30):
        service.request(f"widget:t{number}", "widget", HandoffReason.USER_REQUEST,
                        {"problem": "Forgot password" if number % 3 else "Realname failed"})
        service.record_user_message(f"widget:t{number}", f"my login name is user{number}")
    with database.engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
    assert "ix_handoffs_problem_trgm" in search_plan(database, SearchCriteria(problem="password"))
    text_plan = search_plan(database, SearchCriteria(text="login"))
    assert "ix_handoffs_summary_trgm" in text_plan and "ix_handoff_messages_text_trgm" in text_plan
    # through the index, what ILIKE finds: case-blind, as on SQLite
    assert service.search(SearchCriteria(problem="PASSWORD"), admin.id, "x")[0].total == 20
    assert service.search(SearchCriteria(text="USER2"), admin.id, "x")[0].total == 11  # user2, user20..user29


def test_a_database_that_refuses_pg_trgm_migrates_without_the_indexes_and_searches_alike(postgres_url, caplog):
    """A managed database's owner without the right to create extensions: no CREATE on the database."""
    url = _fresh_postgres_database(postgres_url)
    name = url.rsplit("/", 1)[1]
    role = "limited_" + name
    owner = sa.create_engine(url, isolation_level="AUTOCOMMIT", future=True)
    with owner.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(sa.text(f"REVOKE CREATE ON DATABASE {name} FROM PUBLIC"))
        connection.execute(sa.text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))
    owner.dispose()
    limited = Database(url.replace("postgres@", f"{role}@"))
    try:
        with caplog.at_level("WARNING"):
            limited.upgrade()
        assert "pg_trgm could not be created" in caplog.text and "permission denied" in caplog.text
        assert trigram_indexes(limited) == {}
        service = HandoffService(limited)
        service.request("widget:x", "widget", HandoffReason.USER_REQUEST, {"problem": "Forgot password"})
        assert search_plan(limited, SearchCriteria(problem="password"))  # plans without the index
        with limited.session() as session:
            assert search(session, SearchCriteria(problem="PASSWORD"), 0, True).total == 1
        command.downgrade(alembic_config(limited.url), "0007")  # and back, without the indexes
        upgrade(limited.url)
    finally:
        limited.dispose()


def test_migration_0008_can_be_undone_and_redone(postgres):
    command.downgrade(alembic_config(postgres.url), "0007")
    assert trigram_indexes(postgres) == {}
    upgrade(postgres.url)
    assert set(trigram_indexes(postgres)) == set(TRIGRAM_INDEXES)


def test_chinese_terms_have_trigrams_only_where_the_database_classifies_them(postgres_url):
    """pg_trgm builds trigrams of letters and digits as the database's LC_CTYPE sees them:
    under C (a bare initdb --locale C) Chinese has none, so Chinese terms are found by a
    sequential scan; under a UTF-8 LC_CTYPE (C.UTF-8, en_US.UTF-8, zh_CN.UTF-8) the index
    serves them as it serves ASCII. The tests' server and `make cluster` run initdb with
    --lc-ctype C.UTF-8, so a database created there by default is of the second kind
    (docs/agent-console.md)."""
    server = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", future=True)
    names = {ctype: f"{label}_{uuid.uuid4().hex[:12]}" for ctype, label in (("C.utf8", "utf8"), ("C", "ctype"))}
    with server.connect() as connection:
        for ctype, name in names.items():
            connection.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                                       f"LC_COLLATE 'C' LC_CTYPE '{ctype}'"))
        assert connection.execute(sa.text("SHOW lc_ctype")).scalar().lower().replace("-", "") == "c.utf8"
    server.dispose()
    utf8 = Database(postgres_url.rsplit("/", 1)[0] + "/" + names["C.utf8"])
    c_type = Database(postgres_url.rsplit("/", 1)[0] + "/" + names["C"])
    try:
        for database in (utf8, c_type):
            database.upgrade()
            service = HandoffService(database)
            for number in range(40):
                service.request(f"widget:{number}", "widget", HandoffReason.USER_REQUEST,
                                {"problem": "实名认证失败" if number % 4 else "收不到验证码"})
            with database.engine.connect() as connection:
                connection.execute(sa.text("ANALYZE"))
        with utf8.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT show_trgm('实名认证')")).scalar() != []
        with c_type.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT show_trgm('实名认证')")).scalar() == []
            assert connection.execute(sa.text("SELECT show_trgm('login')")).scalar() != []
        # the index narrows a Chinese term down to its rows under C.utf8 only (the forced plan's row counts)
        assert index_rows(utf8, SearchCriteria(problem="验证码")) == 10
        assert index_rows(c_type, SearchCriteria(problem="验证码")) == 40  # every row: no help
    finally:
        utf8.dispose()
        c_type.dispose()


def index_rows(database, criteria: SearchCriteria) -> int:
    """The rows the problem's trigram index gives for ``criteria`` (EXPLAIN ANALYZE, index forced)."""
    query = sa.select(Handoff.id).where(readable(0, True), *conditions(criteria, "postgresql"))
    compiled = query.compile(dialect=database.engine.dialect)
    with database.engine.connect() as connection:
        connection.execute(sa.text("SET enable_seqscan = off"))
        connection.execute(sa.text("DROP INDEX ix_handoffs_problem"))  # the b-tree would be chosen instead
        plan = "\n".join(connection.exec_driver_sql("EXPLAIN ANALYZE " + str(compiled), compiled.params).scalars())
        connection.rollback()
    found = re.search(r"Bitmap Index Scan on ix_handoffs_problem_trgm .*? rows=(\d+) loops", plan)
    assert found, plan
    return int(found.group(1))
