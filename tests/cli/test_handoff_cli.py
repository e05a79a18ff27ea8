"""The agents and handoff commands through ``python -m bot``'s main(), on
SQLite and PostgreSQL: passwords from stdin or the terminal (never argv),
listing, disabling, the report, and errors as one line with exit status 1."""
from __future__ import annotations

import getpass
import io
import json
from typing import Optional, Tuple

import pytest

from bot.__main__ import main
from bot.accounts.service import utcnow
from bot.cli import agents as handoff_cli
from bot.handoff.agents import AgentDirectory, LoginRefused
from bot.handoff.models import AgentRole
from bot.handoff.service import HandoffService
from tests.accounts.factories import rows
# The fixtures of the handoff tests (tests/handoff/conftest.py), as beside them.
from tests.handoff.conftest import (  # noqa: F401
    PASSWORD, admin, alice, bob, clock, database, directory, fast_hashes, service,
)

ACTOR = f"cli:{getpass.getuser()}"


def cli(capsys, database, *argv: str, stdin: Optional[str] = None,
        monkeypatch=None) -> Tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main([*argv, "--database-url", database.url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def create(capsys, database, monkeypatch, login="alice", name="张丽", role="agent", password=PASSWORD):
    return cli(capsys, database, "agents", "create", login, "--name", name, "--role", role,
               "--password-stdin", stdin=password + "\n", monkeypatch=monkeypatch)


def test_create_reads_the_password_from_stdin(capsys, database, monkeypatch):
    code, out, err = create(capsys, database, monkeypatch, role="admin")
    assert (code, err) == (0, "")
    assert out == "agent alice (张丽, admin) created\n"
    agent = AgentDirectory(database).authenticate("alice", PASSWORD, "127.0.0.1")
    assert agent.role == AgentRole.ADMIN
    assert (ACTOR, "agent_created") in rows(database, "audit_log", "actor, action")


def test_create_asks_twice_at_the_terminal(capsys, database, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(handoff_cli.getpass, "getpass", lambda prompt: next(answers))
    code, out, _ = cli(capsys, database, "agents", "create", "bob", "--name", "王波")
    assert code == 0 and "agent bob (王波, agent) created" in out
    assert AgentDirectory(database).authenticate("BOB", PASSWORD, "127.0.0.1").login == "bob"


def test_two_different_passwords_at_the_terminal_are_refused(capsys, database, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(handoff_cli.getpass, "getpass", lambda prompt: next(answers))
    code, out, err = cli(capsys, database, "agents", "create", "bob", "--name", "王波")
    assert (code, out, err) == (1, "", "error: the two passwords differ\n")
    assert rows(database, "agents") == []


def test_there_is_no_password_option(capsys, database):
    with pytest.raises(SystemExit) as exited:
        main(["agents", "create", "bob", "--name", "王波", "--password", PASSWORD,
              "--database-url", database.url])
    assert exited.value.code == 2
    assert PASSWORD not in capsys.readouterr().out


@pytest.mark.parametrize("argv, stdin, message", [
    (["agents", "create", "carol", "--name", "陈", "--password-stdin"], "weak\n", "error: 密码需要"),
    (["agents", "create", "carol", "--name", "陈", "--password-stdin"], "", "error: no password on stdin"),
    (["agents", "create", "张三", "--name", "张", "--password-stdin"], PASSWORD + "\n", "error: 客服登录名由"),
    (["agents", "disable", "nobody"], None, "error: no agent with the login name nobody"),
    (["agents", "password", "nobody", "--password-stdin"], PASSWORD + "\n",
     "error: no agent with the login name nobody"),
])
def test_errors_are_one_line_with_exit_status_1(capsys, database, monkeypatch, argv, stdin, message):
    code, out, err = cli(capsys, database, *argv, stdin=stdin, monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_a_login_name_taken_in_another_case_is_refused(capsys, database, monkeypatch):
    create(capsys, database, monkeypatch)
    code, _, err = create(capsys, database, monkeypatch, login="ALICE")
    assert (code, err) == (1, "error: 客服登录名 ALICE 已存在（不区分大小写）。\n")


def test_list_shows_role_state_and_last_login(capsys, database, monkeypatch):
    code, out, _ = cli(capsys, database, "agents", "list")
    assert (code, out) == (0, "no agents\n")
    create(capsys, database, monkeypatch)
    create(capsys, database, monkeypatch, login="bob", name="王波", role="admin")
    AgentDirectory(database).authenticate("alice", PASSWORD, "127.0.0.1")
    cli(capsys, database, "agents", "disable", "bob")
    code, out, _ = cli(capsys, database, "agents", "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["login", "name", "role", "state", "created", "(UTC)", "last", "login", "(UTC)"]
    alice_line, bob_line = lines[2], lines[3]
    assert alice_line.split()[:4] == ["alice", "张丽", "agent", "active"] and len(alice_line.split()) == 8
    assert bob_line.split()[:4] == ["bob", "王波", "admin", "disabled"] and bob_line.split()[-1] == "-"


def test_disable_ends_logins(capsys, database, monkeypatch):
    create(capsys, database, monkeypatch)
    directory = AgentDirectory(database)
    token, _ = directory.start_session(directory.authenticate("alice", PASSWORD, "127.0.0.1"))
    code, out, _ = cli(capsys, database, "agents", "disable", "ALICE")
    assert (code, out) == (0, "agent alice disabled; their console sessions ended\n")
    assert directory.session_agent(token) is None
    with pytest.raises(LoginRefused, match="已停用"):
        directory.authenticate("alice", PASSWORD, "127.0.0.1")


def test_password_sets_a_new_password_and_ends_the_agents_sessions(capsys, database, monkeypatch):
    create(capsys, database, monkeypatch)
    create(capsys, database, monkeypatch, login="bob", name="王波")
    directory = AgentDirectory(database)
    sessions = [directory.start_session(directory.authenticate("alice", PASSWORD, "127.0.0.1"))[0]
                for _ in range(2)]
    bobs, _ = directory.start_session(directory.authenticate("bob", PASSWORD, "127.0.0.1"))
    code, out, _ = cli(capsys, database, "agents", "password", "alice", "--password-stdin",
                       stdin="Brand-New-Passw0rd\n", monkeypatch=monkeypatch)
    assert (code, out) == (0, "password of agent alice changed; their console sessions ended\n")
    assert [directory.session_agent(token) for token in sessions] == [None, None]
    assert directory.session_agent(bobs).login == "bob"  # other agents' sessions stay
    assert AgentDirectory(database).authenticate("alice", "Brand-New-Passw0rd", "127.0.0.1").login == "alice"
    entry = [detail for actor, action, detail in rows(database, "audit_log", "actor, action, detail")
             if action == "agent_password_set"]
    assert json.loads(entry[0]) == {"login": "alice", "sessions_ended": 2}


def test_report_prints_a_row_per_day_and_a_total(capsys, database, monkeypatch):
    create(capsys, database, monkeypatch)
    agent = AgentDirectory(database).by_login("alice")
    service = HandoffService(database, clock=utcnow)
    first = service.request("u1", "widget", "user_request", {}).id
    service.claim(first, agent.id)
    service.reply(first, agent.id, "您好")
    service.resolve(first, agent.id)
    service.rate("u1", 4)
    service.request("u2", "widget", "misunderstood", {})
    code, out, err = cli(capsys, database, "handoff", "report", "--days", "3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "human handoff, last 3 day(s), days in Asia/Shanghai"
    assert lines[1].split()[:4] == ["day", "conversations", "handoffs", "rate"]
    days, total = lines[3:6], lines[6].split()
    assert len(days) == 3 and len(lines) == 7
    assert [line.split()[2] for line in days] == ["0", "0", "2"]
    assert total[:8] == ["total", "0", "2", "-", "1", "1", "0", "0"]
    assert "4.0 (1)" in lines[6]


def test_report_errors_are_one_line(capsys, database, monkeypatch):
    monkeypatch.setenv("SUPPORT_TIMEZONE", "Mars/Olympus")
    code, _, err = cli(capsys, database, "handoff", "report")
    assert code == 1 and err.startswith("error: SUPPORT_TIMEZONE 'Mars/Olympus'") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exited:
        main(["handoff", "report", "--days", "0", "--database-url", database.url])
    assert exited.value.code == 2


def test_a_store_without_the_tables_says_to_upgrade(capsys, tmp_path):
    code = main(["agents", "list", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    err = capsys.readouterr().err
    assert code == 1 and err == "error: database: no such table: agents (run: python -m bot db upgrade)\n"


@pytest.mark.parametrize("command", [["agents", "create"], ["agents", "list"], ["agents", "disable"],
                                     ["agents", "password"], ["handoff", "report"]], ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0 and "--database-url" in capsys.readouterr().out
