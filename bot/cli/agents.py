"""agents create|list|disable|password: support agents of the handoff console.

Passwords never come from the command line: they are asked twice at the
terminal (getpass), or read as one line from stdin with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.cli.common import CliError, Commands, actor, add_command, add_group, open_services
from bot.cli.views import table
from bot.handoff.models import AgentRole


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "agents", "support agents of the handoff console")
    create_parser = add_command(
        group,
        common,
        "create",
        "create an agent; the password is asked at the terminal (or read from stdin)",
        create,
    )
    create_parser.add_argument("login", metavar="LOGIN", help="login name (unique ignoring case)")
    create_parser.add_argument("--name", required=True, help="display name, shown to users and colleagues")
    create_parser.add_argument(
        "--role",
        choices=[role.value for role in AgentRole],
        default=AgentRole.AGENT.value,
        help="admin may also transfer and close other agents' conversations (default: agent)",
    )
    _password_option(create_parser)
    add_command(group, common, "list", "list the agents", list_agents)
    disable_parser = add_command(
        group, common, "disable", "disable an agent: no more logins, open console sessions end", disable
    )
    disable_parser.add_argument("login", metavar="LOGIN", help="login name (any letter case)")
    password_parser = add_command(
        group, common, "password", "set an agent's password; their open console sessions end", set_password
    )
    password_parser.add_argument("login", metavar="LOGIN", help="login name (any letter case)")
    _password_option(password_parser)


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


def create(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    with open_services(args) as services:
        agent = services.agents.create(args.login, args.name, password, AgentRole(args.role), actor())
    print(f"agent {agent.login} ({agent.display_name}, {agent.role.value}) created")
    return 0


def list_agents(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        directory = services.agents
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


def disable(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        agent = services.agents.disable(args.login, actor())
    print(f"agent {agent.login} disabled; their console sessions ended")
    return 0


def set_password(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        directory = services.agents
        if directory.by_login(args.login) is None:  # before asking for a password in vain
            raise CliError(f"no agent with the login name {args.login}")
        password = read_password(args.password_stdin)
        agent = directory.set_password(args.login, password, actor())
    print(f"password of agent {agent.login} changed; their console sessions ended")
    return 0
