"""db upgrade|seed-demo: the schema and the demo data of the account store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

from bot.accounts.account_import import import_accounts, load_yaml
from bot.accounts.service import AccountService
from bot.cli.common import CliError, Commands, actor, add_command, add_group, open_services, shown_url
from bot.cli.views import kind_label, state_label, table
from bot.store import database_url
from bot.store import upgrade as upgrade_store

DEMO_FILE = Path(__file__).resolve().parent.parent / "accounts" / "demo_accounts.yml"
DEMO_PASSWORD = "Demo@2026"


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "db", "schema and demo data of the account store")
    add_command(group, common, "upgrade", "apply the schema migrations (Alembic) up to the latest", upgrade)
    seed = add_command(
        group,
        common,
        "seed-demo",
        "upgrade, then import the demo accounts (bot/accounts/demo_accounts.yml); safe to run again",
        seed_demo,
    )
    seed.add_argument(
        "--force", action="store_true", help="seed even if the store holds accounts that are not demo accounts"
    )


def upgrade(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    upgrade_store(url)
    print(f"account store {shown_url(url)} is up to date")
    return 0


def seed_demo(args: argparse.Namespace) -> int:
    data = load_yaml(DEMO_FILE)
    if data is None:  # the file ships with the code; empty only in a broken checkout
        raise CliError(f"{DEMO_FILE} is empty")
    logins = [entry["login_name"] for entry in data["accounts"]]
    with open_services(args) as services:
        services.database.upgrade()
        if not args.force:
            _refuse_real_store(services.accounts, logins)
        report = import_accounts(services.database, data, actor())
        accounts = services.accounts.accounts_by_login(logins)
    rows = [(login, kind_label(accounts[login].kind), state_label(accounts[login].realname_state)) for login in logins]
    print(f"demo accounts imported into {shown_url(services.database.url)}: {report.summary()}")
    print(table(["login name", "kind", "real-name state"], rows))
    print(f"password of every demo account: {DEMO_PASSWORD}")
    return 0


def _refuse_real_store(service: AccountService, demo_logins: List[str]) -> None:
    """Demo accounts have a published password: keep them out of a real deployment's store."""
    others = service.count_accounts_except(demo_logins)
    if others:
        raise CliError(
            f"the store holds {others} account(s) that are not demo accounts; demo accounts "
            "have a published password, so seeding is refused (--force on a demo or test store)"
        )
