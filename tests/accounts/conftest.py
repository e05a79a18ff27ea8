"""Fixtures of the account-store tests: every test runs on SQLite and on a
real PostgreSQL server (one throw-away server per run, a fresh database per
test; those runs are marked ``integration``), with a clock the test can move."""
import uuid
from datetime import datetime, timedelta
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.accounts.service import AccountService
from bot.accounts.sms import SmsGateway
from bot.accounts.uploads import UploadStore
from bot.store import Database

START = datetime(2026, 11, 23, 22, 0, 0)  # a Monday, 10 p.m.


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _fresh_postgres_database(server_url: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", future=True)
    with engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


# The PostgreSQL run starts a real server: an integration test (`-m "not integration"` keeps SQLite).
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'accounts.db'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_url"))
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(database, clock, tmp_path) -> AccountService:
    return AccountService(database, sms=SmsGateway(),
                          uploads=UploadStore(tmp_path / "uploads", 1024 * 1024), clock=clock)
