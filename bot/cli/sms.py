"""sms outbox: the SMS the assistant sent (the operator's view, unmasked)."""

from __future__ import annotations

import argparse

from bot.accounts.checks import InvalidInput, parse_phone
from bot.cli.common import CliError, Commands, add_command, add_group, open_services, positive
from bot.cli.views import outbox_table


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "sms", "the SMS outbox")
    outbox_parser = add_command(
        group,
        common,
        "outbox",
        "list the SMS the assistant sent, newest first (phones and texts unmasked: the operator's view)",
        outbox,
    )
    outbox_parser.add_argument("--phone", help="only messages to this phone number")
    outbox_parser.add_argument(
        "--limit", type=positive, default=20, metavar="N", help="at most N messages (default 20)"
    )


def outbox(args: argparse.Namespace) -> int:
    try:
        phone = parse_phone(args.phone) if args.phone else None
    except InvalidInput:
        raise CliError(f"--phone {args.phone!r} is not a mobile number like 13800138000") from None
    with open_services(args) as services:
        messages = services.accounts.outbox(phone, args.limit)
    print(outbox_table(messages) if messages else "no messages")
    return 0
