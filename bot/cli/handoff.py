"""handoff report: per-day figures of the human handoff (days in SUPPORT_TIMEZONE)."""

from __future__ import annotations

import argparse
from typing import List

from bot.cli.common import CliError, Commands, add_command, add_group, open_services, positive
from bot.cli.views import duration, percent, table
from bot.handoff.labels import REASON_COLUMNS
from bot.handoff.reports import HandoffStats, handoff_report


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "handoff", "the human handoff")
    report_parser = add_command(
        group,
        common,
        "report",
        "per-day figures: conversations, handoffs and their reasons, reply and resolution times, ratings",
        report,
    )
    report_parser.add_argument(
        "--days", type=positive, default=7, metavar="N", help="the last N days, today included (default 7)"
    )


def report(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        try:
            figures = handoff_report(services.database, args.days)
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
    rows = [_row(str(stats.day), stats) for stats in figures.days]
    rows.append(_row("total", figures.total))
    print(f"human handoff, last {args.days} day(s), days in {figures.timezone}")
    print(table(headers, rows))
    return 0


def _row(label: str, stats: HandoffStats) -> List[object]:
    rating = f"{stats.rating_average:.1f} ({stats.rating_count})" if stats.rating_count else None
    return [
        label,
        stats.conversations,
        stats.handoffs,
        percent(stats.handoff_rate),
        *(stats.by_reason[reason] for reason in REASON_COLUMNS),
        duration(stats.first_reply_median_seconds),
        duration(stats.first_reply_p90_seconds),
        duration(stats.resolution_median_seconds),
        rating,
        stats.abandoned,
    ]
