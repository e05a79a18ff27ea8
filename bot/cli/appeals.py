"""appeals list|approve|reject: 申诉找回 requests (getting an account back
without login name or reserved phone)."""

from __future__ import annotations

import argparse

from bot.accounts.masking import mask_phone
from bot.cli.common import DECISIONS, Commands, actor, add_command, add_group, decision, open_services
from bot.cli.views import appeals_table, photo_line


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(
        commands, "appeals", "申诉找回 requests (getting an account back without login name or reserved phone)"
    )
    listing = add_command(group, common, "list", "list appeals, oldest first", list_appeals)
    listing.add_argument("--state", choices=DECISIONS, help="only appeals in this state")
    approve_parser = add_command(
        group,
        common,
        "approve",
        "approve an appeal: the account's reserved phone becomes the appeal's phone, which gets the login "
        "name by SMS",
        approve,
    )
    approve_parser.add_argument("number", metavar="NUMBER", help="appeal number, e.g. SS20261123012345")
    reject_parser = add_command(
        group, common, "reject", "reject an appeal; the reason goes to the appeal's phone by SMS", reject
    )
    reject_parser.add_argument("number", metavar="NUMBER", help="appeal number, e.g. SS20261123012345")
    reject_parser.add_argument("--reason", required=True, help="why, in words the user understands (sent by SMS)")


def list_appeals(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        accounts = services.accounts
        appeals = accounts.list_appeals(decision(args.state))
        logins = accounts.logins(appeal.account_id for appeal in appeals)
        photos = [
            photo_line(
                f"appeal {appeal.number}", accounts.stored_photos([appeal.front_upload_id, appeal.back_upload_id])
            )
            for appeal in appeals
            if appeal.state == "pending"
        ]
    print(appeals_table(appeals, logins) if appeals else "no appeals")
    for line in photos:
        print(line)
    return 0


def approve(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        appeal = services.accounts.decide_appeal(args.number.strip(), True, None, actor())
    print(
        f"appeal {appeal.number} approved: reserved phone set to {mask_phone(appeal.phone)}, "
        "which got the login name by SMS"
    )
    return 0


def reject(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        appeal = services.accounts.decide_appeal(args.number.strip(), False, args.reason, actor())
    print(f"appeal {appeal.number} rejected: the reason was sent by SMS to {mask_phone(appeal.phone)}")
    return 0
