"""The teams commands through ``python -m bot``'s main(), on SQLite and
PostgreSQL: create, members, routes, the default team, the topics list, and
errors as one line with exit status 1."""
from __future__ import annotations

import getpass

from bot.__main__ import main
from bot.handoff.service import HandoffService
from bot.handoff.teams import TeamDirectory
from tests.accounts.factories import rows
# The fixtures of the handoff tests (tests/handoff/conftest.py), as beside them.
from tests.handoff.conftest import SUMMARY, alice, bob, clock, database, directory, fast_hashes  # noqa: F401

ACTOR = f"cli:{getpass.getuser()}"


def cli(capsys, database, *argv: str):
    code = main([*argv, "--database-url", database.url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_admin_sets_up_teams_and_routing_from_the_command_line(capsys, database, alice, bob):
    assert cli(capsys, database, "teams", "create", "自然人账号", "--default")[:2] == \
        (0, "team 自然人账号 created (the default team)\n")
    assert cli(capsys, database, "teams", "create", "法人账号")[1] == "team 法人账号 created\n"
    assert cli(capsys, database, "teams", "add", "法人账号", "Alice")[1] == "Alice is in team 法人账号\n"
    cli(capsys, database, "teams", "add", "自然人账号", "bob")
    assert cli(capsys, database, "teams", "route", "unit_already_registered", "法人账号")[1] == \
        "handoffs about unit_already_registered go to team 法人账号\n"
    code, out, _ = cli(capsys, database, "teams", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["team", "default", "members", "topics"]
    assert lines[2].split() == ["法人账号", "-", "alice", "(away)", "unit_already_registered"]
    assert lines[3].split() == ["自然人账号", "yes", "bob", "(away)", "-"]
    code, out, _ = cli(capsys, database, "teams", "topics")
    by_topic = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert by_topic["unit_already_registered"].endswith("法人账号")
    assert by_topic["faq/captcha_wrong"].endswith("自然人账号 (default)")
    assert "request_human" not in by_topic and "torch_lookup" in by_topic  # flows' intents route too
    handoff = HandoffService(database).request("u1", "widget", "user_request", SUMMARY, "unit_already_registered")
    assert handoff.team_name == "法人账号"
    assert (ACTOR, "team_route_set") in rows(database, "audit_log", "actor, action")


def test_changes_and_mistakes(capsys, database, alice):
    cli(capsys, database, "teams", "create", "法人账号")
    cli(capsys, database, "teams", "route", "realname_failed", "法人账号")
    assert cli(capsys, database, "teams", "rename", "法人账号", "单位账号")[1] == "team 法人账号 renamed 单位账号\n"
    assert cli(capsys, database, "teams", "default", "单位账号")[1] == "单位账号 is the default team\n"
    assert cli(capsys, database, "teams", "unroute", "realname_failed")[1] == \
        "handoffs about realname_failed go to the default team\n"
    assert cli(capsys, database, "teams", "default", "--none")[1] == "no default team\n"
    assert cli(capsys, database, "teams", "create", "单位账号") == (1, "", "error: 团队 单位账号 已存在。\n")
    assert cli(capsys, database, "teams", "route", "weather", "单位账号")[0] == 1
    assert cli(capsys, database, "teams", "add", "税务", "alice") == (1, "", "error: 没有名为 税务 的团队。\n")
    assert cli(capsys, database, "teams", "default") == (1, "", "error: name a team, or --none (not both)\n")
    assert cli(capsys, database, "teams", "delete", "单位账号")[1] == "team 单位账号 deleted\n"
    assert TeamDirectory(database).list() == []
    assert cli(capsys, database, "teams", "list")[1] == \
        "no teams (every online agent may be assigned any handoff)\n"
