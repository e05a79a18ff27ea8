"""Command line of the assistant: ``python -m bot --help``."""

from __future__ import annotations

import argparse
from typing import List, Optional, Tuple

from bot.cli import accounts, agents, appeals, assistant, cluster, db, handoff, privacy, reviews, sms, teams, uploads
from bot.cli.common import Registration, database_option

# Every command group, in the order ``python -m bot --help`` lists them.
GROUPS: Tuple[Registration, ...] = (
    assistant.register,  # env, run, chat (top-level commands)
    db.register,
    accounts.register,
    sms.register,
    reviews.register,
    appeals.register,
    uploads.register,
    agents.register,
    teams.register,  # teams and the routing of handoffs (docs/agent-console.md)
    handoff.register,
    privacy.register,
    cluster.register,  # cluster start|stop|status (docs/deploy.md)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = database_option()
    for register in GROUPS:
        register(commands, common)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code
