"""Back-office commands of the human handoff, registered in ``python -m bot``
by ``bot/admin.py``:

  agents create LOGIN --name NAME [--role agent|admin] [--password-stdin]
  agents list                      agents, their role, state and last login
  agents disable LOGIN             no more logins; open console sessions end
  agents password LOGIN [--password-stdin]
  handoff report [--days N]        per-day figures (days in SUPPORT_TIMEZONE)

Passwords never come from the command line: they are asked twice at the
terminal (getpass), or read as one line from stdin with ``--password-stdin``.
Like every command: ``--database-url``, errors as one line, exit status 1.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, List, Optional

from bot.admin import CliError, _command, _database, _group, _positive, actor
from bot.handoff.models import AgentRole, HandoffReason

REASON_COLUMNS = {
    HandoffReason.USER_REQUEST: "asked",
    HandoffReason.MISUNDERSTOOD: "misund.",
    HandoffReason.FLOW_DEAD_END: "dead end",
    HandoffReason.NEGATIVE_FEEDBACK: "negative",
}


def add_agents(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "agents", "support agents of the handoff console")
    create = _command(
        group,
        common,
        "create",
        "create an agent; the password is asked at the " "terminal (or read from stdin)",
        _agents_create,
    )
    create.add_argument("login", metavar="LOGIN", help="login name (unique ignoring case)")
    create.add_argument("--name", required=True, help="display name, shown to users and colleagues")
    create.add_argument(
        "--role",
        choices=[role.value for role in AgentRole],
        default=AgentRole.AGENT.value,
        help="admin may also transfer and close other agents' conversations " "(default: agent)",
    )
    _password_option(create)
    _command(group, common, "list", "list the agents", _agents_list)
    disable = _command(
        group, common, "disable", "disable an agent: no more logins, open console " "sessions end", _agents_disable
    )
    disable.add_argument("login", metavar="LOGIN", help="login name (any letter case)")
    password = _command(group, common, "password", "set an agent's password", _agents_password)
    password.add_argument("login", metavar="LOGIN", help="login name (any letter case)")
    _password_option(password)


def add_handoff(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "handoff", "the human handoff")
    report = _command(
        group,
        common,
        "report",
        "per-day figures: conversations, handoffs and their " "reasons, reply and resolution times, ratings",
        _handoff_report,
    )
    report.add_argument(
        "--days", type=_positive, default=7, metavar="N", help="the last N days, today included (default 7)"
    )


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line from stdin instead of asking"
    )


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin (--password-stdin reads one line)")
        return password
    password = getpass.getpass("password: ")
    if getpass.getpass("password again: ") != password:
        raise CliError("the two passwords differ")
    return password


def _directory(database: Any) -> Any:
    from bot.handoff.agents import AgentDirectory

    return AgentDirectory(database)


# -- agents -------------------------------------------------------------------------


def _agents_create(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    with _database(args) as database:
        agent = _directory(database).create(args.login, args.name, password, AgentRole(args.role), actor())
    print(f"agent {agent.login} ({agent.display_name}, {agent.role.value}) created")
    return 0


def _agents_list(args: argparse.Namespace) -> int:
    from bot.admin_views import table

    with _database(args) as database:
        directory = _directory(database)
        agents, last_logins = directory.list(), directory.last_logins()
    if not agents:
        print("no agents")
        return 0
    print(
        table(
            ["login", "name", "role", "state", "created (UTC)", "last login (UTC)"],
            [
                (
                    agent.login,
                    agent.display_name,
                    agent.role.value,
                    "active" if agent.active else "disabled",
                    agent.created_at,
                    last_logins.get(agent.login.lower()),
                )
                for agent in agents
            ],
        )
    )
    return 0


def _agents_disable(args: argparse.Namespace) -> int:
    with _database(args) as database:
        agent = _directory(database).disable(args.login, actor())
    print(f"agent {agent.login} disabled; their console sessions ended")
    return 0


def _agents_password(args: argparse.Namespace) -> int:
    with _database(args) as database:
        directory = _directory(database)
        if directory.by_login(args.login) is None:  # before asking for a password in vain
            raise CliError(f"no agent with the login name {args.login}")
        password = read_password(args.password_stdin)
        agent = directory.set_password(args.login, password, actor())
    print(f"password of agent {agent.login} changed")
    return 0


# -- report -------------------------------------------------------------------------


def _handoff_report(args: argparse.Namespace) -> int:
    from bot.admin_views import table
    from bot.handoff.reports import handoff_report

    with _database(args) as database:
        try:
            report = handoff_report(database, args.days)
        except ValueError as error:  # SUPPORT_TIMEZONE
            raise CliError(str(error)) from None
    headers = [
        "day",
        "conversations",
        "handoffs",
        "rate",
        *REASON_COLUMNS.values(),
        "1st reply p50",
        "1st reply p90",
        "resolution p50",
        "rating",
        "abandoned",
    ]
    rows = [_report_row(str(stats.day), stats) for stats in report.days]
    rows.append(_report_row("total", report.total))
    print(f"human handoff, last {args.days} day(s), days in {report.timezone}")
    print(table(headers, rows))
    return 0


def _report_row(label: str, stats: Any) -> List[object]:
    rating = f"{stats.rating_average:.1f} ({stats.rating_count})" if stats.rating_count else None
    return [
        label,
        stats.conversations,
        stats.handoffs,
        _percent(stats.handoff_rate),
        *(stats.by_reason[reason] for reason in REASON_COLUMNS),
        duration(stats.first_reply_median_seconds),
        duration(stats.first_reply_p90_seconds),
        duration(stats.resolution_median_seconds),
        rating,
        stats.abandoned,
    ]


def _percent(rate: Optional[float]) -> Optional[str]:
    return None if rate is None else f"{rate * 100:.1f}%"


def duration(seconds: Optional[float]) -> Optional[str]:
    """45s, 4m05s, 1h02m; None stays None (shown as -)."""
    if seconds is None:
        return None
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
