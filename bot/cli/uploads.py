"""uploads purge: deletes the photos no review or appeal uses
``UPLOAD_UNATTACHED_HOURS`` after their upload (the Rasa server also sweeps
hourly; this is for a cron job, or a server that is down)."""

from __future__ import annotations

import argparse

from bot import config
from bot.cli.common import Commands, actor, add_command, add_group, open_services


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "uploads", "the document photos users uploaded")
    add_command(
        group,
        common,
        "purge",
        "delete the photos (files and rows) no review or appeal uses "
        f"UPLOAD_UNATTACHED_HOURS (now {config.get('UPLOAD_UNATTACHED_HOURS')}) after their upload",
        purge,
    )


def purge(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        count = services.accounts.purge_unattached_uploads(actor())
    print(f"{count} unattached photo(s) deleted")
    return 0
