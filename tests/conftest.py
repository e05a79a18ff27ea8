import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers import postgres_server  # noqa: E402


@pytest.fixture(scope="session")
def postgres_url():
    """One throw-away PostgreSQL server for the whole run (account store and handoff tests)."""
    with postgres_server() as url:
        yield url
