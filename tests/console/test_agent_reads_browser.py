"""A support agent's reading, end to end with the real servers and two browsers
(headless Chromium): a widget user says their real-name verification failed
(with their ID number) and asks for a person; the agent sees the whole bot
conversation — the user's words masked, the assistant's answer, the handoff
marked — and 实名认证失败 as the problem in the summary; after she resolves it
an admin's search finds the conversation; when the same user asks again, the
agent who takes the new conversation finds the earlier one in the user's
history, one click away."""
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from bot.config import PROJECT_ROOT
from bot.handoff.service import HandoffService
from bot.store import Database
from tests.browser import DESKTOP, REPLY_TIMEOUT_MS, Widget, chromium, demo_url

pytestmark = pytest.mark.integration

PASSWORD = "Reader-Passw0rd"
ID_NUMBER = "110101199003071234"


def create_agent(assistant, login: str, name: str, role: str) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "bot", "agents", "create", login, "--name", name, "--role", role,
         "--password-stdin", "--database-url", assistant.overrides["DATABASE_URL"]],
        input=PASSWORD + "\n", cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr


@pytest.fixture(scope="module")
def agents(assistant):
    create_agent(assistant, "reader", "赵敏", "agent")
    create_agent(assistant, "reader_chief", "钱主管", "admin")


@pytest.fixture(scope="module")
def browser():
    expect.set_options(timeout=REPLY_TIMEOUT_MS)
    with chromium() as browser:
        yield browser


def console_page(browser, rasa_url: str, login: str):
    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    page.goto(f"{rasa_url}/webhooks/console/")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_title(re.compile("排队与会话"))
    return page


def test_the_agent_reads_the_whole_conversation_finds_it_and_sees_it_in_the_users_history(assistant, agents, browser):
    rasa_url = assistant.running.rasa_url
    handoffs = HandoffService(Database(assistant.overrides["DATABASE_URL"]))
    widget = Widget(browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()).goto(demo_url(rasa_url)).open()
    widget.say(f"我的账号实名认证失败了，身份证号 {ID_NUMBER}")
    assistant_words = "请先核对信息，再申请人工审核"  # utter_realname_failed
    widget.expect_bot(assistant_words)
    widget.page.get_by_test_id("widget-human").click()
    widget.expect_bot("为您转")
    first = handoffs.open_handoff(f"widget:{widget.session_id()}")
    assert first is not None

    console = console_page(browser, rasa_url, "reader")
    console.get_by_test_id("waiting-row").filter(has_text="实名认证失败").get_by_role(
        "button", name=f"接手会话 {first.id}").click()
    expect(console.get_by_test_id("status")).to_have_text("由您接待中。")
    summary = console.get_by_test_id("summary")
    expect(summary).to_contain_text("实名认证失败")
    expect(summary).not_to_contain_text("用户要求人工客服")
    transcript = console.get_by_test_id("transcript")
    log = console.get_by_test_id("log-entry")
    expect(log.first).to_contain_text("我的账号实名认证失败了")
    expect(log.first).to_contain_text("助手理解为：实名认证失败")
    expect(transcript).to_contain_text(assistant_words)
    expect(transcript).to_contain_text("开始办理：实名认证失败")  # the flow's steps
    expect(console.get_by_test_id("handoff-mark")).to_contain_text("在这里转人工")
    expect(console.get_by_test_id("message").last).to_contain_text("客服 赵敏 已接入")
    shown = transcript.inner_text()
    assert ID_NUMBER not in shown and shown.count("赵敏 已接入") == 1  # after the mark only
    console.get_by_test_id("resolve").click()
    widget.expect_bot("人工客服已结束本次服务")

    # the next day an admin looks for it
    chief = console_page(browser, rasa_url, "reader_chief")
    chief.get_by_role("link", name="会话搜索").click()
    chief.get_by_label("用户的问题").fill("实名认证")
    chief.get_by_role("button", name="搜索").click()
    found = chief.get_by_test_id("search-row").filter(has_text=f"#{first.id}")
    expect(found).to_contain_text("已结束（已解决）")
    expect(found).to_contain_text("赵敏")

    # the same user asks for a person again: the earlier conversation is in their history
    queued = widget.bot_messages().filter(has_text="为您转")
    before = queued.count()
    widget.say("转人工")
    expect(queued).to_have_count(before + 1)
    second = handoffs.open_handoff(f"widget:{widget.session_id()}")
    assert second is not None and second.id != first.id
    assert second.summary["problem"] == "实名认证失败"  # what the assistant understood, not "wants a person"
    console.goto(f"{rasa_url}/webhooks/console/conversations/{second.id}")
    console.get_by_test_id("claim").click()
    expect(console.get_by_test_id("status")).to_have_text("由您接待中。")
    history = console.get_by_test_id("history")
    history.locator("summary").click()
    row = history.get_by_test_id("history-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("实名认证失败")
    row.get_by_role("link", name=f"#{first.id}").click()
    expect(console.get_by_test_id("history-notice")).to_contain_text(f"会话 #{second.id}")
    expect(console.get_by_test_id("transcript")).to_contain_text("我的账号实名认证失败了")
