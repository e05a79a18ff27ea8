"""The composition root: the services of a process, built in one place.

Contract:

* ``build_services`` is the only function that builds the account service,
  the handoff service, the agent directory, the team directory and the
  flow engine for use by
  the actions, the channels, the console and the CLI.  They all share one
  ``Database`` (so one engine: ``bot.store.engine_for``) and one clock.
  Without arguments it builds from the settings (``bot.config``:
  ``DATABASE_URL``, ``SMS_BACKEND``, ``UPLOAD_DIR``, ``MAX_UPLOAD_BYTES``,
  ``IDENTITY_TOKEN_SECRET``, ``HANDOFF_ABANDON_MINUTES``); each keyword
  replaces one of them (tests, and the CLI's ``--database-url``).  A setting
  with a wrong value raises ``ValueError`` here.
* ``services()`` is the process's services: built from the settings at the
  first call (from any thread), the same object ever after.  The Rasa server
  (channels, console, handoff bridge) and the action server each hold one;
  the CLI builds its own for its ``--database-url``.
* ``use_services(replacement)`` installs other services for the duration of
  a ``with`` block (the tests' ``services`` fixture) and puts the previous
  ones back afterwards.

Nothing below this module (``bot.store``, ``bot.accounts``, ``bot.handoff``)
imports it; only the entry points do: the actions, ``bot.channels``,
``bot.console``, ``bot.web`` and ``bot.cli`` (docs/architecture.md).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterator, Optional

from bot import config
from bot.accounts.flows import FlowEngine
from bot.accounts.service import AccountService
from bot.accounts.sms import SmsGateway
from bot.accounts.uploads import UploadStore
from bot.handoff.agents import AgentDirectory
from bot.handoff.service import HandoffService
from bot.handoff.teams import TeamDirectory
from bot.store import Database, utcnow


@dataclass(frozen=True)
class Services:
    """Everything the assistant's processes work with, on one database."""

    database: Database
    accounts: AccountService
    handoffs: HandoffService
    agents: AgentDirectory
    teams: TeamDirectory
    flows: FlowEngine
    clock: Callable[[], datetime]  # the services' clock: naive UTC

    def close(self) -> None:
        """Closes the database's idle connections (the CLI, at the end of a command)."""
        self.database.dispose()


def build_services(
    database_url: Optional[str] = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    sms: Optional[SmsGateway] = None,
    uploads: Optional[UploadStore] = None,
    token_secret: Optional[str] = None,
    abandon_after: Optional[timedelta] = None,
) -> Services:
    """The services on ``database_url`` (default: ``DATABASE_URL``); each other
    argument left out comes from its setting (see the module docstring)."""
    database = Database(database_url)
    accounts = AccountService(database, sms=sms, uploads=uploads, clock=clock)
    return Services(
        database=database,
        accounts=accounts,
        handoffs=HandoffService(database, clock=clock, abandon_after=abandon_after),
        agents=AgentDirectory(database, clock=clock),
        teams=TeamDirectory(database, clock=clock),
        flows=FlowEngine(
            accounts, token_secret=config.get("IDENTITY_TOKEN_SECRET") if token_secret is None else token_secret
        ),
        clock=clock,
    )


_current: Optional[Services] = None
_lock = threading.Lock()


def services() -> Services:
    """The process's services: built from the settings at the first call."""
    global _current
    current = _current
    if current is not None:
        return current
    with _lock:
        if _current is None:
            _current = build_services()
        return _current


@contextmanager
def use_services(replacement: Optional[Services]) -> Iterator[Optional[Services]]:
    """``services()`` answers ``replacement`` inside the block (None: services
    built from the settings at the block's first call); the previous services
    come back when the block ends."""
    global _current
    with _lock:
        previous, _current = _current, replacement
    try:
        yield replacement
    finally:
        with _lock:
            _current = previous
