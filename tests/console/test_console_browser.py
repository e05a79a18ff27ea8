"""The agent console in headless Chromium (Debian's, through Playwright): the live
queue, a claim and a reply from the page script, the transcript updating by
itself.  The console runs as in test_console.py (its fixtures: the blueprint on a
small Sanic app over the ``services`` fixture on the real clock, the delivery
bridge replaced by recorders)."""
from __future__ import annotations

import re
from typing import List

import pytest

from tests.console.test_console import (  # noqa: F401  (the fixtures of test_console.py)
    XSS, clock, db, delivered, directory, request_handoff, server, service,
)
from tests.handoff.conftest import PASSWORD

pytestmark = pytest.mark.integration


@pytest.fixture
def browser_page():
    from tests.browser import DESKTOP, chromium

    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        problems: List[str] = []
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.problems = problems
        yield page
        context.close()


def test_a_new_handoff_appears_in_the_queue_without_reloading(server, service, alice, delivered, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(server.url)
    expect(page).to_have_url(re.compile(r"/webhooks/console/login$"))
    page.get_by_label("登录名").fill("alice")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_title("排队与会话 - 客服工作台")
    expect(page.get_by_test_id("waiting-row")).to_have_count(0)
    page.evaluate("() => { window.__sameDocument = true; }")

    handoff = request_handoff(service, "browser-user", {"problem": "收不到验证码 " + XSS})
    row = page.get_by_test_id("waiting-row")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text("收不到验证码 <script>")  # shown as text
    expect(row).to_have_class(re.compile(r"\bis-new\b"))
    expect(page).to_have_title("(1) 排队与会话 - 客服工作台")
    expect(page.get_by_test_id("waiting-badge")).to_have_text("1")
    expect(page.locator("body")).to_have_attribute("data-alerts", "1")  # beeped (when sound is allowed)
    assert page.evaluate("() => window.__sameDocument === true && window.__xss === undefined")

    # claim from the queue, reply on the conversation page (sent by the page script)
    row.get_by_role("button", name=f"接手会话 {handoff.id}").click()
    expect(page.get_by_test_id("status")).to_have_text("由您接待中。")
    expect(page).to_have_title(re.compile(r"^会话"))
    page.get_by_label("回复内容", exact=False).fill("您好，我是客服张丽。")
    page.get_by_label("回复内容", exact=False).press("Control+Enter")
    expect(page.get_by_test_id("transcript")).to_contain_text("您好，我是客服张丽。")
    expect(page.get_by_label("回复内容", exact=False)).to_have_value("")
    assert delivered["send_to_user"] == [(handoff.id, "browser-user", "您好，我是客服张丽。", "张丽")]

    # the user writes: the transcript updates by itself
    service.record_user_message("browser-user", "好的，谢谢")
    expect(page.get_by_test_id("transcript")).to_contain_text("好的，谢谢", timeout=10_000)
    assert page.evaluate("() => window.__xss === undefined")
    assert not [problem for problem in page.problems if "Content Security Policy" in problem], page.problems
