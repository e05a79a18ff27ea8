"""privacy purge: deletes what is older than RETENTION_DAYS (docs/security.md section 11).

Conversations (tracker events) whose last event is older, uploaded photos
(files and rows; a photo of a pending appeal or review stays), SMS outbox
rows, the values flows kept, and the transcripts of handoffs closed before
then.  Prints what it deleted, one count per line; running it again deletes
nothing more.  Run it daily (cron, a systemd timer).
"""

from __future__ import annotations

import argparse

from bot import privacy
from bot.cli.common import Commands, add_command, add_group, open_services, positive, shown_url

# The counts as the operator reads them, in the order printed.
COUNT_LABELS = (
    ("conversations", "conversations (tracker events) deleted"),
    ("uploads", "upload rows deleted"),
    ("photo_files", "photo files deleted"),
    ("sms_outbox", "SMS outbox rows deleted"),
    ("conversation_values", "kept flow values deleted"),
    ("handoff_messages", "handoff transcript messages deleted"),
    ("handoff_summaries", "handoff summaries emptied"),
)


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "privacy", "personal data: retention")
    purge_parser = add_command(
        group,
        common,
        "purge",
        "delete conversations, uploads, SMS outbox rows and handoff transcripts older than RETENTION_DAYS",
        purge,
    )
    purge_parser.add_argument(
        "--days", type=positive, metavar="N", help="keep N days instead of RETENTION_DAYS (e.g. a shorter run once)"
    )


def purge(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        now = services.clock()
        environ = {"RETENTION_DAYS": str(args.days)} if args.days else None
        cutoff = privacy.retention_cutoff(now, environ)
        counts = privacy.purge(services.database, services.accounts, services.handoffs, cutoff)
        print(f"purged {shown_url(services.database.url)}: everything older than {cutoff:%Y-%m-%d %H:%M} UTC")
    for key, label in COUNT_LABELS:
        print(f"{counts.get(key, 0):>8}  {label}")
    return 0
