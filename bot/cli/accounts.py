"""accounts import|show: importing accounts and looking at one."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from bot.accounts.account_import import InvalidAccountsFile, import_accounts, load_yaml
from bot.cli.common import (
    CliError,
    Commands,
    actor,
    add_command,
    add_group,
    open_services,
)
from bot.cli.views import describe_account


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "accounts", "import and look at accounts")
    importer = add_command(
        group,
        common,
        "import",
        "import accounts, grants and reviews from a YAML file (docs/accounts-import.md); all or nothing",
        import_file,
    )
    importer.add_argument("file", metavar="FILE.yml", type=Path, help="the accounts file")
    show_parser = add_command(
        group,
        common,
        "show",
        "show one account: state, unit, grants, reviews (names, phones and documents masked)",
        show,
    )
    show_parser.add_argument("login", metavar="LOGIN", help="login name (any letter case)")


def import_file(args: argparse.Namespace) -> int:
    data = load_yaml(args.file)
    with open_services(args) as services:
        try:
            report = import_accounts(services.database, data, actor())
        except InvalidAccountsFile as error:
            error.source = str(args.file)
            raise
    print(f"{args.file}: {report.summary()}")
    for what in ("created", "updated"):
        names = getattr(report, what)
        if names:
            print(f"{what}: {', '.join(names)}")
    return 0


def show(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        account = services.accounts.account_details(args.login.strip())
    if account is None:
        raise CliError(f"no account with the login name {args.login}")
    print(describe_account(account, date.today()))
    return 0
