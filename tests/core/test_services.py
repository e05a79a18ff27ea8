"""The composition root (bot/services.py) and the store's engines: one engine
per database URL per process, one database for the accounts and the handoff,
the process's services built once, and the tests' replacement installed and
taken away again."""
from __future__ import annotations

import threading

from bot.console.channel import AgentConsoleInput
from bot.services import Services, build_services, use_services
from bot.services import services as process_services
from bot.store import AuditEntry, Database, engine_for


def url_in(tmp_path, name: str = "store.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_one_engine_per_database_url(tmp_path):
    url = url_in(tmp_path)
    assert engine_for(url) is engine_for(url)
    assert Database(url).engine is Database(url).engine is engine_for(url)
    assert engine_for(url_in(tmp_path, "other.db")) is not engine_for(url)


def test_threads_asking_at_once_get_the_same_engine(tmp_path):
    url = url_in(tmp_path, "raced.db")
    engines = []
    threads = [threading.Thread(target=lambda: engines.append(engine_for(url))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(engines) == 8 and all(engine is engines[0] for engine in engines)


def test_building_the_services_twice_for_one_url_reuses_the_engine(tmp_path):
    url = url_in(tmp_path)
    first, second = build_services(url), build_services(url)
    assert first is not second
    assert first.database.engine is second.database.engine is engine_for(url)


def test_the_services_share_one_database_and_one_clock(tmp_path):
    built = build_services(url_in(tmp_path))
    assert built.accounts.db is built.handoffs.db is built.agents.db is built.database
    assert built.flows.service is built.accounts
    assert built.accounts.now is built.handoffs.now is built.agents.now is built.flows.now is built.clock


def test_the_accounts_and_the_handoff_write_to_one_store(services):
    services.agents.create("alice", "张丽", "Agent-Passw0rd", actor="test")
    services.handoffs.request("user-1", "widget", "user_request", {"problem": "收不到验证码"})
    services.accounts.send_code("13800138000", "reset")
    assert [entry.action for entry in services.accounts.audit_log()] == [
        "agent_created", "handoff_requested", "code_sent"]
    with services.database.session() as session:
        assert session.query(AuditEntry).count() == 3


def test_the_process_accessor_answers_the_installed_services(services):
    assert process_services() is services  # the fixture's, installed
    assert AgentConsoleInput().services.handoffs is services.handoffs
    assert AgentConsoleInput().services.database.engine is services.database.engine


def test_the_process_services_are_built_once_from_the_settings(tmp_path, monkeypatch):
    url = url_in(tmp_path, "settings.db")
    monkeypatch.setenv("DATABASE_URL", url)
    with use_services(None):
        first = process_services()
        assert isinstance(first, Services) and first.database.url == url
        assert process_services() is first  # cached: one build per process
        assert process_services().database.engine is engine_for(url)


def test_use_services_puts_the_previous_ones_back(tmp_path, services):
    other = build_services(url_in(tmp_path, "other.db"))
    with use_services(other):
        assert process_services() is other
    assert process_services() is services
