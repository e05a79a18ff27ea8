"""Playwright helpers for the web chat widget: headless Debian Chromium (never
``playwright install``) and a page object for the widget on the demo page.

Playwright's CSS and test-id locators pierce open shadow roots, so the
widget's ``data-testid`` hooks are reachable from the page as usual.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from typing import Iterator, Optional

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from bot.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
SESSION_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
# A turn of the real assistant takes well under a second; the margin is for slow CI machines.
REPLY_TIMEOUT_MS = 20_000


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def chromium_for_replies() -> Iterator[Browser]:
    """Chromium, with Playwright's expectations waiting as long as a reply may take."""
    expect.set_options(timeout=REPLY_TIMEOUT_MS)
    with chromium() as browser:
        yield browser


def create_agent(database_url: str, login: str, name: str, password: str) -> None:
    """An agent account, made with the CLI as an admin would (password on stdin)."""
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "agents",
            "create",
            login,
            "--name",
            name,
            "--role",
            "agent",
            "--password-stdin",
            "--database-url",
            database_url,
        ],
        input=password + "\n",
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr


def demo_url(rasa_url: str) -> str:
    return f"{rasa_url}/webhooks/widget/demo"


class Widget:
    """The widget on a page, through its data-testid hooks."""

    def __init__(self, page: Page) -> None:
        self.page = page
        test_id = page.get_by_test_id
        self.host = test_id("widget-host")
        self.launcher = test_id("widget-launcher")
        self.panel = test_id("widget-panel")
        self.log = test_id("widget-log")
        self.messages = test_id("widget-message")
        self.quick_replies = test_id("widget-quick-reply")
        self.input = test_id("widget-input")
        self.send_button = test_id("widget-send")
        self.upload_button = test_id("widget-upload")
        self.upload_input = test_id("widget-upload-input")
        self.new_conversation = test_id("widget-new-conversation")
        self.error = test_id("widget-error")
        self.typing = test_id("widget-typing")
        self.status = test_id("widget-status")
        self.welcome = test_id("widget-welcome")
        self.previews = test_id("widget-upload-preview")

    def goto(self, url: str) -> "Widget":
        self.page.goto(url)
        expect(self.launcher).to_be_visible()
        return self

    def open(self) -> "Widget":
        # once the launcher shows, the widget has started (and reopened the panel
        # if it was open before a reload): only then is the panel's state final
        expect(self.launcher).to_be_visible()
        if not self.panel.is_visible():
            self.launcher.click()
        expect(self.panel).to_be_visible()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Connected, with a session confirmed by the server."""
        expect(self.send_button).to_be_enabled(timeout=REPLY_TIMEOUT_MS)
        expect(self.host).to_have_attribute("data-session-id", SESSION_ID_PATTERN)

    def session_id(self) -> str:
        return self.host.get_attribute("data-session-id") or ""

    def stored_session_id(self) -> Optional[str]:
        return self.page.evaluate("() => localStorage.getItem('most-assistant:session')")

    def user_messages(self) -> Locator:
        return self.messages.and_(self.page.locator("[data-sender=user]"))

    def bot_messages(self) -> Locator:
        return self.messages.and_(self.page.locator("[data-sender=bot]"))

    def say(self, text: str) -> None:
        before = self.user_messages().count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.user_messages()).to_have_count(before + 1)

    def expect_bot(self, phrase: str) -> Locator:
        """Waits until a bot message contains ``phrase``; returns the last such message."""
        answer = self.bot_messages().filter(has_text=phrase).last
        expect(answer).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        return answer

    def choose_file(self, path) -> None:
        """Picks a file through the 📎 button's file chooser, as a user does."""
        with self.page.expect_file_chooser() as chooser:
            self.upload_button.click()
        chooser.value.set_files(path)
