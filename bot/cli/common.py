"""What the command groups share: registering groups and commands, the
``--database-url`` option, the services of that database (built by
``bot.services.build_services``, closed when the command ends), and errors
printed as one line with exit status 1."""

from __future__ import annotations

import argparse
import functools
import getpass
import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.accounts.account_import import InvalidAccountsFile
from bot.accounts.checks import InvalidInput
from bot.accounts.models import Decision
from bot.services import Services, build_services
from bot.store import NotFound

Handler = Callable[[argparse.Namespace], int]
# What ArgumentParser.add_subparsers returns (a private class of argparse).
Commands = Any
# A command group's registration: adds its commands to ``python -m bot``; the
# second argument is the parent parser with ``--database-url``.
Registration = Callable[[Commands, argparse.ArgumentParser], None]
DECISIONS = ("pending", "approved", "rejected")


class CliError(Exception):
    """A failure the operator can act on; printed as one line."""


def actor() -> str:
    """``cli:<OS user>``: who ran the command, for the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"cli:{user}"


# -- registering ----------------------------------------------------------------------


def database_option() -> argparse.ArgumentParser:
    """The parent parser of every back-office command: ``--database-url``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL of the account store (default: DATABASE_URL, see `python -m bot env`)",
    )
    return common


def add_group(commands: Commands, name: str, text: str) -> Commands:
    """A command group (``python -m bot NAME COMMAND``); returns where its commands go."""
    parser = commands.add_parser(name, help=text, description=text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def add_command(
    group: Commands, common: argparse.ArgumentParser, name: str, text: str, handler: Handler
) -> argparse.ArgumentParser:
    """A back-office command of a group; its errors are printed as one line (``guarded``)."""
    parser: argparse.ArgumentParser = group.add_parser(name, help=text, description=text, parents=[common])
    parser.set_defaults(handler=guarded(handler))
    return parser


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def decision(state: Optional[str]) -> Optional[Decision]:
    """The ``--state`` of reviews list and appeals list."""
    return Decision(state) if state else None


# -- errors ---------------------------------------------------------------------------


def guarded(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except Exception as error:  # noqa: BLE001 - the operator gets one line, never a traceback
            for line in error_lines(error):
                print(line, file=sys.stderr)
            return 1

    return run


def error_lines(error: Exception) -> List[str]:
    if isinstance(error, InvalidAccountsFile):
        return ["error: " + error.headline()] + ["  " + problem for problem in error.problems]
    if isinstance(error, SQLAlchemyError):
        return ["error: database: " + _database_message(error)]
    if isinstance(error, OSError) and error.filename:
        return [f"error: {error.filename}: {error.strerror}"]
    if isinstance(error, (CliError, NotFound, InvalidInput, OSError)) or "alembic" in type(error).__module__:
        return ["error: " + _one_line(str(error))]
    return [f"error: unexpected {type(error).__name__}: {_one_line(str(error))}"]


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _database_message(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    missing_table = "no such table" in first or ("relation" in first and "does not exist" in first)
    return _one_line(first) + (" (run: python -m bot db upgrade)" if missing_table else "")


# -- the services ---------------------------------------------------------------------


@contextmanager
def open_services(args: argparse.Namespace) -> Iterator[Services]:
    """The services on ``--database-url`` (default: ``DATABASE_URL``), closed when the block ends."""
    services = build_services(args.database_url)
    try:
        yield services
    finally:
        services.close()


def shown_url(url: str) -> str:
    """A database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)
