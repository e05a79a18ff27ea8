"""Human handoff for a Telegram user, with the real assistant, the real
python-telegram-bot client against the fake Bot API server, and the agent
console over HTTP: /human, an agent claims and replies (delivered by
sendMessage), the assistant stays silent, the agent hands back, the user
rates with an inline button, the assistant answers again."""
import subprocess
import sys
from types import SimpleNamespace

import pytest

from bot.config import PROJECT_ROOT
from bot.handoff.service import HandoffService
from bot.store import Database
from tests.fake_telegram import FakeTelegram
from tests.console.console_client import Agent
from tests.channels.test_telegram_e2e import SECRET, TOKEN, WEBHOOK_URL, post_update, start_assistant

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")]
CHAT = 880001
AGENT_PASSWORD = "Agent-Passw0rd"


@pytest.fixture(scope="module")
def fake():
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def assistant(fake, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("handoff-telegram")
    process = start_assistant(fake, tmp_path, "integration-handoff-telegram.log", SUPPORT_HOURS="always",
                              TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_SECRET_TOKEN=SECRET)
    created = subprocess.run(
        [sys.executable, "-m", "bot", "agents", "create", "wangbo", "--name", "王波", "--role", "agent",
         "--password-stdin", "--database-url", process.overrides["DATABASE_URL"]],
        input=AGENT_PASSWORD + "\n", cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    yield process
    process.stop()


def said(fake, phrase):
    return fake.wait_for(lambda: [t for t in fake.texts_to(CHAT) if phrase in t], what=phrase)


def test_a_telegram_user_is_helped_by_a_person_and_returns_to_the_assistant(fake, assistant):
    rasa_url = assistant.running.rasa_url
    handoffs = HandoffService(Database(assistant.overrides["DATABASE_URL"]))
    assert post_update(assistant, fake.text_update(CHAT, "/human")) == 200
    said(fake, "客服现在都不在线")  # no agent is 在线 yet: the user hears it at once
    handoff = handoffs.open_handoff(f"telegram:{CHAT}")
    assert handoff.channel == "telegram"

    agent = Agent(SimpleNamespace(url=f"{rasa_url}/webhooks/console/", origin=rasa_url))
    agent.login("wangbo", AGENT_PASSWORD)
    assert agent.post(f"conversations/{handoff.id}/claim").status_code == 303
    said(fake, "人工客服 王波 已接入")

    sent_before = len(fake.texts_to(CHAT))
    assert post_update(assistant, fake.text_update(CHAT, "我的证书过期了")) == 200
    fake.wait_for(lambda: [m for m in handoffs.transcript(handoff.id) if m.text == "我的证书过期了"],
                  what="the user's message in the transcript")
    assert len(fake.texts_to(CHAT)) == sent_before  # the assistant stays silent

    assert agent.post(f"conversations/{handoff.id}/reply", {"text": "请重新登录后再试一次。"}).status_code == 303
    said(fake, "人工客服 王波：请重新登录后再试一次。")

    assert agent.post(f"conversations/{handoff.id}/hand-back").status_code == 303
    said(fake, "人工客服已结束本次服务")
    rating_message = fake.messages_to(CHAT)[-1]
    assert "5 分" in str(rating_message.get("reply_markup"))
    press = fake.callback_update(CHAT, "/rate_handoff 5")
    assert post_update(assistant, press) == 200
    said(fake, "感谢您的 5 分评价")
    assert handoffs.get(handoff.id).rating == 5

    assert post_update(assistant, fake.text_update(CHAT, "手机验证码多久有效")) == 200
    said(fake, "5 分钟内有效")  # the assistant answers again
