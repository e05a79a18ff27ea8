import sys
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import config  # noqa: E402
from bot.accounts.sms import SmsGateway  # noqa: E402
from bot.accounts.uploads import UploadStore  # noqa: E402
from bot.services import Services, build_services, use_services  # noqa: E402
from bot.store import utcnow  # noqa: E402
from tests.assistants import assistant_on_sqlite  # noqa: E402
from tests.servers import postgres_server  # noqa: E402


@pytest.fixture(scope="session")
def postgres_url():
    """One throw-away PostgreSQL server for the whole run (account store and handoff tests)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """The clock of the ``services`` fixture: the real one, unless the test's
    module or conftest has a ``clock`` fixture of its own."""
    return utcnow


@pytest.fixture
def services(tmp_path: Path, clock: Callable[[], datetime]) -> Iterator[Services]:
    """The process's services for one test, in place of those built from the
    settings: ``build_services`` on a throw-away, migrated SQLite store, with
    the test's ``clock``, the SMS outbox, photos under ``tmp_path / "uploads"``
    and no identity-token secret.  Installed with ``use_services``, so the
    actions, the channels, the handoff bridge and the console all use them;
    the previous services come back after the test."""
    built = build_services(
        f"sqlite:///{tmp_path / 'services.db'}",
        clock=clock,
        sms=SmsGateway(),
        uploads=UploadStore(tmp_path / "uploads", config.get_int("MAX_UPLOAD_BYTES")),
        token_secret="",
    )
    built.database.upgrade()
    with use_services(built):
        yield built
    built.close()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    """The real action and Rasa servers on a fresh SQLite store, started once per
    run for the integration tests of every folder (tests/assistants.py); their
    output goes to results/integration-servers.log."""
    with assistant_on_sqlite(tmp_path_factory, "integration-servers.log",
                             WIDGET_ALLOWED_ORIGINS="https://fuwu.example.gov.cn", SUPPORT_HOURS="always") as process:
        yield process
