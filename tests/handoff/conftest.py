"""Fixtures of the handoff tests: the account store's ``database`` (every test
on SQLite and on a throw-away PostgreSQL server) and its movable ``Clock``,
plus the handoff service, the agent directory and a few agents.

Password hashes use 1000 PBKDF2 iterations here (the stored hash says how
many; checking follows it), so logins stay fast."""
from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.handoff import agents as agents_module
from bot.handoff.agents import AgentDirectory, AgentView
from bot.handoff.models import AgentRole
from bot.handoff.service import HandoffService
from bot.store import passwords
from tests.accounts.conftest import clock, database  # noqa: F401

PASSWORD = "Agent-Passw0rd"
SUMMARY: Dict[str, Any] = {"problem": "收不到验证码", "checked": ["预留手机号已绑定"],
                           "identity": "王*（wa*****88）"}


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch):
    monkeypatch.setattr(agents_module, "hash_password", lambda password: passwords.hash_password(password, 1000))


@pytest.fixture
def service(database, clock) -> HandoffService:
    return HandoffService(database, clock=clock)


@pytest.fixture
def directory(database, clock) -> AgentDirectory:
    return AgentDirectory(database, clock=clock)


@pytest.fixture
def alice(directory) -> AgentView:
    return directory.create("alice", "张丽", PASSWORD)


@pytest.fixture
def bob(directory) -> AgentView:
    return directory.create("bob", "王波", PASSWORD)


@pytest.fixture
def admin(directory) -> AgentView:
    return directory.create("chief", "李主管", PASSWORD, AgentRole.ADMIN)
