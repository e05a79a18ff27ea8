"""Fixtures of the web widget's browser tests (test_widget_browser.py in Chinese,
test_widget_english_browser.py in English): one Chromium per module, a page in
the module's browser language, the widget opened on the demo page of the real
servers (the session-wide ``assistant``), the module's accounts imported with
the CLI, and the photos to upload; plus ``latest_code`` (the newest SMS code
to a phone, from the SMS outbox) and ``uploads_of`` (a conversation's uploads).

A module says what it needs with constants: ``ACCOUNTS`` (the YAML of
``python -m bot accounts import``, for the ``accounts`` fixture) and, if not
Chinese, ``BROWSER_LOCALE`` (the page's ``navigator.language``)."""
import re
from contextlib import contextmanager
import subprocess
import sys

import pytest
from sqlalchemy import select

from bot.accounts.models import ManualReview, RealnameState, Upload
from bot.accounts.service import AccountService
from bot.config import PROJECT_ROOT
from bot.store import Database
from tests.browser import DESKTOP, Widget, chromium_for_replies, demo_url
from tests.widget_images import write_test_files

DEFAULT_LOCALE = "zh-CN"


@pytest.fixture(scope="module")
def browser():
    with chromium_for_replies() as browser:
        yield browser


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport=DESKTOP, locale=getattr(request.module, "BROWSER_LOCALE", DEFAULT_LOCALE))
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def widget(assistant, page):
    return Widget(page).goto(demo_url(assistant.running.rasa_url)).open()


@contextmanager
def imported_accounts(url, path, accounts_yaml):
    """``accounts_yaml`` written to ``path`` and imported with the CLI into the store at ``url``
    (migrated first), as an operator would; the account service on that store."""
    path.write_text(accounts_yaml, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade", "--database-url", url],
                   cwd=PROJECT_ROOT, check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-m", "bot", "accounts", "import", str(path), "--database-url", url],
                            cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    database = Database(url)
    try:
        yield AccountService(database)
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def accounts(assistant, tmp_path_factory, request):
    """The module's ``ACCOUNTS`` imported into the servers' store; the account service on it."""
    path = tmp_path_factory.mktemp("widget-import") / "accounts.yml"
    with imported_accounts(assistant.overrides["DATABASE_URL"], path, request.module.ACCOUNTS) as service:
        yield service


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_test_files(tmp_path_factory.mktemp("widget-files"))


def latest_code(service, phone):
    return re.search(r"\d{6}", service.outbox(phone=phone)[0].text).group(0)


def uploads_of(service, session_id):
    """The uploads of the widget conversation ``widget:<session id>``."""
    with service.db.session() as session:
        return list(session.execute(select(Upload).where(Upload.sender_id == f"widget:{session_id}")).scalars())


def assert_review_opened_with_both_photos(service, session_id, login):
    """The conversation's two photos (a JPEG and a PNG) stored, the account under review, and one
    manual review holding both photos."""
    uploads = uploads_of(service, session_id)
    assert sorted(upload.content_type for upload in uploads) == ["image/jpeg", "image/png"]
    account = service.account_by_login(login)
    assert account.state == RealnameState.IN_REVIEW
    with service.db.session() as session:
        reviews = list(session.execute(select(ManualReview).where(ManualReview.account_id == account.id)).scalars())
    assert len(reviews) == 1
    assert {reviews[0].front_upload_id, reviews[0].back_upload_id} == {upload.id for upload in uploads}
