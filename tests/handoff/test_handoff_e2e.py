"""Human handoff end to end, with the real servers and real clients: a user
in the web widget (headless Chromium) asks for a person, an agent logs into the
console in a second browser, sees the summary and the transcript, replies; the
widget shows the reply while the assistant stays silent; the agent hands back;
the assistant asks for a rating and answers the next question again."""

import pytest
from playwright.sync_api import expect

from bot.handoff.service import HandoffService
from bot.store import Database
from tests.browser import DESKTOP, Widget, chromium_for_replies, create_agent, demo_url

pytestmark = pytest.mark.integration

AGENT_LOGIN, AGENT_NAME, AGENT_PASSWORD = "zhangli", "张丽", "Agent-Passw0rd"


@pytest.fixture(scope="module")
def agent_account(assistant):
    create_agent(assistant.overrides["DATABASE_URL"], AGENT_LOGIN, AGENT_NAME, AGENT_PASSWORD)


@pytest.fixture(scope="module")
def browser():
    with chromium_for_replies() as browser:
        yield browser


def test_a_person_takes_over_and_hands_back(assistant, agent_account, browser):
    rasa_url = assistant.running.rasa_url
    handoffs = HandoffService(Database(assistant.overrides["DATABASE_URL"]))
    user_page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    widget = Widget(user_page).goto(demo_url(rasa_url)).open()
    widget.say("实名认证一直失败")
    widget.expect_bot("实名")
    user_page.get_by_test_id("widget-human").click()  # the widget's own 转人工 button
    expect(widget.user_messages().last).to_contain_text("转人工客服")
    widget.expect_bot("客服现在都不在线")  # nobody 在线 yet: the user hears it at once
    session_id = widget.session_id()
    handoff = handoffs.open_handoff(f"widget:{session_id}")
    assert handoff is not None and handoff.channel == "widget"

    console = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    console.goto(f"{rasa_url}/webhooks/console/")
    console.get_by_label("登录名").fill(AGENT_LOGIN)
    console.get_by_label("密码").fill(AGENT_PASSWORD)
    console.get_by_role("button", name="登录").click()
    # other tests' conversations may wait in the shared servers' queue: this one's row
    row = console.locator(f'[data-testid="waiting-row"][data-handoff-id="{handoff.id}"]')
    expect(row).to_contain_text("实名认证失败")
    row.get_by_role("button", name=f"接手会话 {handoff.id}").click()
    expect(console.get_by_test_id("status")).to_have_text("由您接待中。")
    expect(console.get_by_test_id("summary")).to_contain_text("实名认证失败")
    widget.expect_bot("人工客服 张丽 已接入")

    bot_messages_before = widget.bot_messages().count()
    widget.say("我已经上传了两次照片")
    expect(console.get_by_test_id("transcript")).to_contain_text("我已经上传了两次照片")
    user_page.wait_for_timeout(1500)
    assert widget.bot_messages().count() == bot_messages_before  # the assistant stays silent

    console.get_by_label("回复内容", exact=False).fill("您好，我来帮您查看审核记录。")
    console.get_by_label("回复内容", exact=False).press("Control+Enter")
    widget.expect_bot("人工客服 张丽：您好，我来帮您查看审核记录。")

    console.get_by_test_id("hand-back").click()
    widget.expect_bot("人工客服已结束本次服务")
    widget.quick_replies.filter(has_text="5 分").click()
    widget.expect_bot("感谢您的 5 分评价")
    assert handoffs.get(handoff.id).rating == 5

    widget.say("手机验证码多久有效")
    widget.expect_bot("5 分钟内有效")  # the assistant answers again
