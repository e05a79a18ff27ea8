"""teams list|create|rename|delete|default|add|remove|route|unroute|topics:
the agents' teams and the routing of handoffs to them (bot/handoff/teams.py).

A topic is an intent of a core problem (``realname_failed``) or an FAQ answer
(``faq/captcha_wrong``); ``teams topics`` lists them with their questions and
the team each goes to.
"""

from __future__ import annotations

import argparse
from typing import Callable

from bot.cli.common import CliError, Commands, actor, add_command, add_group, open_services
from bot.cli.views import table
from bot.handoff.teams import TeamDirectory, routable_topics


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "teams", "teams of support agents and the routing of handoffs to them")
    add_command(group, common, "list", "list the teams with their members and routed topics", list_teams)
    create_parser = add_command(group, common, "create", "create a team", create)
    create_parser.add_argument("name", metavar="NAME", help="team name, e.g. 自然人账号")
    create_parser.add_argument(
        "--default", action="store_true", help="also make it the default team (gets the unrouted handoffs)"
    )
    rename_parser = add_command(group, common, "rename", "rename a team", rename)
    rename_parser.add_argument("name", metavar="NAME")
    rename_parser.add_argument("new_name", metavar="NEW_NAME")
    delete_parser = add_command(
        group, common, "delete", "delete a team (its members and routes; its handoffs keep no team)", delete
    )
    delete_parser.add_argument("name", metavar="NAME")
    default_parser = add_command(group, common, "default", "set the default team (or --none)", set_default)
    default_parser.add_argument("name", metavar="NAME", nargs="?")
    default_parser.add_argument("--none", action="store_true", help="no default team")
    for name, handler, text in (
        ("add", add_member, "add an agent to a team"),
        ("remove", remove_member, "remove an agent from a team"),
    ):
        parser = add_command(group, common, name, text, handler)
        parser.add_argument("name", metavar="TEAM")
        parser.add_argument("login", metavar="LOGIN", help="the agent's login name")
    route_parser = add_command(group, common, "route", "route the handoffs of a topic to a team", route)
    route_parser.add_argument("topic", metavar="TOPIC", help="intent (realname_failed) or faq/<key>")
    route_parser.add_argument("name", metavar="TEAM")
    unroute_parser = add_command(group, common, "unroute", "send a topic's handoffs to the default team", unroute)
    unroute_parser.add_argument("topic", metavar="TOPIC")
    add_command(group, common, "topics", "list the topics, their questions and their teams", list_topics)


def list_teams(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        teams = services.teams.list()
    if not teams:
        print("no teams (every online agent may be assigned any handoff)")
        return 0
    print(
        table(
            ["team", "default", "members", "topics"],
            [
                (
                    team.name,
                    "yes" if team.is_default else "",
                    ", ".join(f"{member.login} ({member.presence.value})" for member in team.members),
                    ", ".join(team.topics),
                )
                for team in teams
            ],
        )
    )
    return 0


def _change(args: argparse.Namespace, step: Callable[[TeamDirectory], object], done: str) -> int:
    """One change through the team directory (audited as ``cli:<user>``), then ``done``."""
    with open_services(args) as services:
        step(services.teams)
    print(done)
    return 0


def create(args: argparse.Namespace) -> int:
    done = f"team {args.name.strip()} created" + (" (the default team)" if args.default else "")
    return _change(args, lambda teams: teams.create(args.name, actor(), default=args.default), done)


def rename(args: argparse.Namespace) -> int:
    done = f"team {args.name} renamed {args.new_name.strip()}"
    return _change(args, lambda teams: teams.rename(args.name, args.new_name, actor()), done)


def delete(args: argparse.Namespace) -> int:
    return _change(args, lambda teams: teams.delete(args.name, actor()), f"team {args.name} deleted")


def set_default(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.none):
        raise CliError("name a team, or --none (not both)")
    done = "no default team" if args.none else f"{args.name} is the default team"
    return _change(args, lambda teams: teams.set_default(None if args.none else args.name, actor()), done)


def add_member(args: argparse.Namespace) -> int:
    done = f"{args.login} is in team {args.name}"
    return _change(args, lambda teams: teams.add_member(args.name, args.login, actor()), done)


def remove_member(args: argparse.Namespace) -> int:
    done = f"{args.login} removed from team {args.name}"
    return _change(args, lambda teams: teams.remove_member(args.name, args.login, actor()), done)


def route(args: argparse.Namespace) -> int:
    done = f"handoffs about {args.topic.strip()} go to team {args.name}"
    return _change(args, lambda teams: teams.route(args.topic, args.name, actor()), done)


def unroute(args: argparse.Namespace) -> int:
    done = f"handoffs about {args.topic.strip()} go to the default team"
    return _change(args, lambda teams: teams.unroute(args.topic, actor()), done)


def list_topics(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        teams = services.teams.list()
    team_of = {topic: team.name for team in teams for topic in team.topics}
    default = next((team.name for team in teams if team.is_default), "")
    rows = [
        (key, question, team_of.get(key) or (f"{default} (default)" if default else ""))
        for key, question in routable_topics().items()
    ]
    print(table(["topic", "question", "team"], rows))
    return 0
