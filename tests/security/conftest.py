"""The real action and Rasa servers (``bot.launcher``, as ``make run`` starts
them) with the secrets set, for the attacks of this folder; the accounts are
written straight into their store."""
import secrets
from datetime import datetime

import pytest

from bot.store import Database
from bot.accounts.models import Account, AccountKind, RealnameState
from bot.accounts.service import AccountService
from tests.assistants import assistant_on_sqlite

ACTION_SERVER_TOKEN = "security-suite-" + secrets.token_urlsafe(32)
IDENTITY_TOKEN_SECRET = "security-suite-identity-" + secrets.token_urlsafe(32)
AUDIENCE = "most-account-assistant"  # the default of IDENTITY_TOKEN_AUDIENCE
VICTIM_PHONE = "13012345671"


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    with assistant_on_sqlite(
        tmp_path_factory,
        "security-servers.log",
        ACTION_SERVER_TOKEN=ACTION_SERVER_TOKEN,
        IDENTITY_TOKEN_SECRET=IDENTITY_TOKEN_SECRET,
        BIND_HOST="127.0.0.1",
        SUPPORT_HOURS="always",
        TELEGRAM_BOT_TOKEN="",
        # The tests are the proxy: each attack names its clients' addresses in X-Forwarded-For.
        TRUSTED_PROXIES="127.0.0.1",
    ) as process:
        yield process


@pytest.fixture(scope="session")
def accounts(assistant):
    database = Database(assistant.overrides["DATABASE_URL"])
    yield AccountService(database)
    database.dispose()


@pytest.fixture(scope="session")
def victim(accounts) -> Account:
    """The account every attack is after."""
    with accounts.db.session() as session:
        account = Account(kind=AccountKind.NATURAL, login_name="sec_victim", password_hash="unused",
                          phone=VICTIM_PHONE, realname_state=RealnameState.VERIFIED_ONLINE,
                          created_at=datetime(2026, 1, 5))
        session.add(account)
    return accounts.account_by_login("sec_victim")
