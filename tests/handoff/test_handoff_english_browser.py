"""An English handoff over the web widget, end to end with the real servers
(issue 15): a widget in an English browser shows its own texts in English
before anything is said; the conversation turns English (the language slot, set
here with a payload where the English NLU would set it); the user asks for a
person with the widget's button and reads the handoff's messages in English;
the agent, in the Chinese console, sees 用户语言 English in the summary and
replies; the user reads the reply, the hand-back and the rating question in
English and rates."""

import re

import pytest
from playwright.sync_api import expect

from bot.handoff.service import HandoffService
from bot.language import tr
from bot.store import Database
from tests.browser import DESKTOP, Widget, chromium_for_replies, create_agent, demo_url

pytestmark = pytest.mark.integration

AGENT_LOGIN, AGENT_NAME, AGENT_PASSWORD = "wangfang_en", "王芳", "Agent-Passw0rd"
# The language entity as a payload: what bot/nlu's language detector gives an English message.
SPEAK_ENGLISH = '/greet{"language": "en"}'


@pytest.fixture(scope="module")
def agent_account(assistant):
    create_agent(assistant.overrides["DATABASE_URL"], AGENT_LOGIN, AGENT_NAME, AGENT_PASSWORD)


@pytest.fixture(scope="module")
def browser():
    with chromium_for_replies() as browser:
        yield browser


def test_an_english_user_is_handed_to_a_person_and_back_in_english(assistant, agent_account, browser):
    rasa_url = assistant.running.rasa_url
    handoffs = HandoffService(Database(assistant.overrides["DATABASE_URL"]))
    user_page = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    widget = Widget(user_page).goto(demo_url(rasa_url)).open()
    # Nothing said yet: the widget follows the browser's language.
    expect(widget.input).to_have_attribute("placeholder", "Type your question, Enter to send")
    expect(user_page.get_by_test_id("widget-send")).to_have_text("Send")
    expect(user_page.get_by_test_id("widget-welcome")).to_contain_text("Hello! I am the account assistant.")

    widget.say(SPEAK_ENGLISH)
    expect(user_page.get_by_test_id("widget-host")).to_have_attribute("data-language", "en")
    handoff_button = user_page.get_by_test_id("widget-human")
    expect(handoff_button).to_have_text("Agent")
    handoff_button.click()
    expect(widget.user_messages().last).to_contain_text("Talk to a support agent")
    # Nobody of the team online (other tests' agents may be): told in English either way.
    widget.expect_bot(re.compile("online right now|connecting you to a support agent"))
    assert not widget.bot_messages().filter(has_text="人工客服").count()
    handoff = handoffs.open_handoff(f"widget:{widget.session_id()}")
    assert handoff is not None and handoff.summary["language"] == "en"

    console = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    console.goto(f"{rasa_url}/webhooks/console/")
    console.get_by_label("登录名").fill(AGENT_LOGIN)
    console.get_by_label("密码").fill(AGENT_PASSWORD)
    console.get_by_role("button", name="登录").click()
    console.goto(f"{rasa_url}/webhooks/console/conversations/{handoff.id}")
    console.get_by_test_id("claim").click()
    expect(console.get_by_test_id("status")).to_have_text("由您接待中。")  # the console stays Chinese
    summary = console.get_by_test_id("summary")
    expect(summary).to_contain_text("用户语言")
    expect(summary).to_contain_text("English")
    widget.expect_bot(f"Support agent {AGENT_NAME} has joined")

    console.get_by_label("回复内容", exact=False).fill("Hello, I am checking your review record now.")
    console.get_by_label("回复内容", exact=False).press("Control+Enter")
    widget.expect_bot(f"Support agent {AGENT_NAME}: Hello, I am checking your review record now.")

    console.get_by_test_id("hand-back").click()
    widget.expect_bot("How would you rate the help you got from the agent")
    expect(widget.quick_replies.filter(has_text="Rate 5")).to_be_visible()
    widget.quick_replies.filter(has_text="Rate 5").click()
    widget.expect_bot(tr("handoff.thanks", "en", rating=5))
    assert handoffs.get(handoff.id).rating == 5
    expect(user_page.get_by_test_id("widget-send")).to_have_text("Send")  # still English


def test_a_chinese_browsers_widget_turns_english_with_the_conversation_and_stays_so_after_a_reload(assistant, browser):
    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    widget = Widget(page).goto(demo_url(assistant.running.rasa_url)).open()
    expect(widget.input).to_have_attribute("placeholder", "请输入您的问题，Enter 发送")
    widget.say(SPEAK_ENGLISH)
    expect(widget.input).to_have_attribute("placeholder", "Type your question, Enter to send")  # the bot message's
    page.reload()
    widget = Widget(page).open()
    expect(widget.input).to_have_attribute("placeholder", "Type your question, Enter to send")  # session_history's
    expect(page.get_by_test_id("widget-human")).to_have_text("Agent")
