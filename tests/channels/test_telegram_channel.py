"""The Telegram channel with the real ``telegram.Bot`` against a fake Bot API
server (tests/fake_telegram.py); Rasa is replaced by a recorder of the
``UserMessage`` objects that can answer through ``message.output_channel``."""
from __future__ import annotations

import asyncio
import io
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from types import SimpleNamespace
from datetime import timedelta
from typing import AsyncIterator, Dict, List, Optional

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.accounts.models import Upload
from bot.accounts.uploads import photo_too_large
from bot.channels.common import SEND_FILE_TEXT
from bot.channels import telegram as telegram_channel
from bot.channels.telegram import (
    EXPIRED_BUTTON_TEXT,
    SECRET_HEADER,
    UNKNOWN_COMMAND_TEXT,
    UNSUPPORTED_TEXT,
    CallbackData,
    TelegramInput,
    TelegramOutput,
    TelegramSettings,
    TelegramSetupError,
    _cancel,
    command_of,
)
from bot.channels.telegram_delivery import retry_after_seconds, split_text
from bot.language import tr
from bot.store import Database
from tests.fake_telegram import FakeTelegram
from tests.servers import free_port, serving_blueprint

# PTB warns at every RetryAfter that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

TOKEN = "123:TEST"
SECRET = "s3cret_token-for-tests"
CHAT = 4242
# Telegram shows no client address: the chat is the address its limits count against.
# What every message of the fake's user carries: the chat as its address, and
# its app's language (tests/fake_telegram.py) as the session's language hint.
CHAT_ADDRESS = {"client_address": f"telegram:{CHAT}", "language_hint": "zh-hans"}
OTHER_CHAT = 5151
LONG_QUESTION = "申报项目时系统提示单位信息不完整，但是单位管理员已经补充过全部信息了，应该怎么处理？"


class FakeRasa:
    """Stands in for ``on_new_message``: records, optionally answers."""

    def __init__(self, answer: bool = True, slow_texts: Dict[str, float] = None) -> None:
        self.messages: List[UserMessage] = []
        self.log: List[tuple] = []  # (event, text, time)
        self.answer = answer
        self.slow_texts = slow_texts or {}

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        self.log.append(("start", message.text, time.monotonic()))
        await asyncio.sleep(self.slow_texts.get(message.text, 0))
        if self.answer:
            await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")
        self.log.append(("end", message.text, time.monotonic()))

    def texts(self) -> List[str]:
        return [message.text for message in self.messages]


@pytest.fixture
def fake():
    with FakeTelegram(TOKEN) as server:
        yield server


def settings_for(fake: FakeTelegram, **changes) -> TelegramSettings:
    return TelegramSettings(token=TOKEN, api_url=fake.url, **changes)


def webhook_settings(fake: FakeTelegram) -> TelegramSettings:
    return settings_for(fake, webhook_url="https://example.invalid/webhooks/telegram/webhook",
                        secret_token=SECRET)


@asynccontextmanager
async def running(channel: TelegramInput, rasa: FakeRasa) -> AsyncIterator[TelegramInput]:
    await channel.start(rasa)
    try:
        await asyncio.wait_for(channel.ready.wait(), 10)
        yield channel
    finally:
        await channel.stop()


@asynccontextmanager
async def served(channel: TelegramInput, rasa: FakeRasa) -> AsyncIterator[str]:
    """The channel's blueprint on a small Sanic app, with its listeners."""
    port = free_port()
    async with serving_blueprint(channel.blueprint(rasa), "/webhooks/telegram", "telegram_test", port):
        yield f"http://127.0.0.1:{port}/webhooks/telegram"


@pytest_asyncio.fixture
async def polling(fake):
    """A polling channel and its fake Rasa."""
    rasa = FakeRasa()
    async with running(TelegramInput(settings_for(fake)), rasa) as channel:
        yield channel, rasa


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


# -- pure helpers ----------------------------------------------------------------


@pytest.mark.parametrize("text, command", [
    ("/start", "start"), ("/start@most_account_test_bot", "start"), ("/help now", "help"),
    ("/HUMAN", "human"), ("/忘记密码", None), ("你好", None), ("/start@", None),
])
def test_commands_are_read_with_or_without_the_bot_name(text, command):
    assert command_of(text) == command


def test_short_payloads_are_sent_as_they_are_and_long_ones_as_a_hash():
    callbacks = CallbackData()
    assert callbacks.encode("/forgot_password") == "/forgot_password"
    data = callbacks.encode(LONG_QUESTION)
    assert len(LONG_QUESTION.encode("utf-8")) > 64
    assert data.startswith("#") and len(data.encode("utf-8")) <= 64
    assert callbacks.encode(LONG_QUESTION) == data
    assert callbacks.decode(data, None) == (LONG_QUESTION, LONG_QUESTION)
    assert CallbackData().decode(data, None) is None  # a restart forgot it, no message to read


def test_retry_after_is_read_as_int_or_timedelta_and_capped():
    assert retry_after_seconds(3) == 3.0
    assert retry_after_seconds(timedelta(seconds=7)) == 7.0
    assert retry_after_seconds(timedelta(hours=1)) == 60.0


def test_a_long_text_is_split_at_paragraphs_then_lines_then_hard():
    paragraphs = [f"第{i}段：" + "验证码五分钟内有效。" * 30 for i in range(30)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 9000
    parts = split_text(text)
    assert all(len(part) <= 4096 for part in parts) and len(parts) == 3
    assert all(part.endswith("。") for part in parts)  # cut at paragraph ends
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")

    unbroken = "字" * 9000
    assert [len(part) for part in split_text(unbroken)] == [4096, 4096, 808]
    lines = "\n".join(["一行文字。" * 20] * 100)
    assert all(len(part) <= 4096 and part.endswith("。") for part in split_text(lines))


def test_characters_outside_the_bmp_count_twice():
    parts = split_text("😀" * 3000)
    assert [len(part) for part in parts] == [2048, 952]


# -- settings --------------------------------------------------------------------


def test_a_webhook_without_a_valid_secret_fails_at_startup(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.gov.cn/webhooks/telegram/webhook")
    for secret in ("", "has spaces", "x" * 257):
        monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", secret)
        with pytest.raises(TelegramSetupError, match="TELEGRAM_SECRET_TOKEN"):
            TelegramInput.from_credentials(None)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", SECRET)
    assert TelegramInput.from_credentials(None).settings.uses_webhook
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://bot.example.gov.cn/webhooks/telegram/webhook")
    with pytest.raises(TelegramSetupError, match="https"):
        TelegramInput.from_credentials(None)


@pytest.mark.asyncio
async def test_without_a_token_the_channel_is_inert(fake):
    channel = TelegramInput(TelegramSettings(token="", api_url=fake.url,
                                             webhook_url="https://x.invalid/webhooks/telegram/webhook"))
    rasa = FakeRasa()
    async with served(channel, rasa) as base:
        async with httpx.AsyncClient() as client:
            update = fake.text_update(CHAT, "你好")
            reply = await client.post(f"{base}/webhook", json=update, headers={SECRET_HEADER: ""})
            assert reply.status_code == 404
            assert (await client.get(f"{base}/")).status_code == 404
        await asyncio.sleep(0.1)
        assert channel.get_output_channel() is None
    assert fake.calls == [] and rasa.messages == []


# -- text and commands -------------------------------------------------------------


@pytest.mark.parametrize("user, metadata", [
    ({"language_code": "en-US"}, {"language_hint": "en-US"}),
    ({"language_code": None}, {}),
    ({"language_code": ""}, {}),
    (None, {}),
])
def test_the_senders_app_language_is_the_language_hint(user, metadata):
    update = SimpleNamespace(effective_user=SimpleNamespace(**user) if user is not None else None)
    assert telegram_channel.client_metadata(update) == metadata


@pytest.mark.asyncio
async def test_text_goes_to_rasa_and_the_answer_back_as_plain_text_without_preview(fake, polling):
    channel, rasa = polling
    fake.push_update(fake.text_update(CHAT, "验证码多久有效"))
    await fake.until(lambda: fake.texts_to(CHAT), what="the answer")
    [message] = rasa.messages
    assert (message.text, message.sender_id, message.input_channel) == ("验证码多久有效", "telegram:4242",
                                                                        "telegram")
    assert message.metadata == CHAT_ADDRESS
    assert isinstance(message.output_channel, TelegramOutput)
    assert channel.get_output_channel() is channel.output
    [sent] = fake.messages_to(CHAT)
    assert sent["text"] == "收到：验证码多久有效"
    assert "parse_mode" not in sent
    assert sent["link_preview_options"] == {"is_disabled": True}
    typing = fake.calls_of("sendChatAction")
    assert typing and typing[0].params == {"chat_id": str(CHAT), "action": "typing"}
    assert typing[0].at <= fake.calls_of("sendMessage")[0].at


@pytest.mark.asyncio
@pytest.mark.parametrize("command, intent", [
    ("/start", "/greet"), ("/help", "/greet"), ("/restart", "/restart"),
    ("/human", "/request_human"), ("/start@most_account_test_bot", "/greet"),
])
async def test_commands_become_intents(fake, polling, command, intent):
    _, rasa = polling
    fake.push_update(fake.text_update(CHAT, command))
    await fake.until(lambda: rasa.messages, what="the command to reach Rasa")
    [message] = rasa.messages
    assert message.text == intent
    assert message.metadata == {"display_text": command, **CHAT_ADDRESS}


@pytest.mark.asyncio
async def test_an_unknown_command_is_answered_here_and_never_reaches_rasa(fake, polling):
    _, rasa = polling
    fake.push_update(fake.text_update(CHAT, "/forgot_password"))
    fake.push_update(fake.text_update(CHAT, "/忘记密码"))
    await fake.until(lambda: len(fake.texts_to(CHAT)) == 2, what="two replies")
    assert fake.texts_to(CHAT) == [UNKNOWN_COMMAND_TEXT] * 2
    assert all(name in UNKNOWN_COMMAND_TEXT for name in ("/start", "/help", "/restart", "/human"))
    assert rasa.messages == []


@pytest.mark.asyncio
async def test_the_channels_own_texts_follow_the_clients_language_without_a_conversation(fake, polling):
    _, rasa = polling
    english = fake.message(CHAT, text="/forgot_password")
    english["from"]["language_code"] = "en-GB"  # no stored conversation here: the client's language
    fake.push_update(fake.update(message=english))
    await fake.until(lambda: fake.texts_to(CHAT), what="the reply")
    assert fake.texts_to(CHAT) == [tr("telegram.unknown_command", "en")]
    assert fake.texts_to(CHAT)[0].startswith("There is no such command")
    assert all(name in fake.texts_to(CHAT)[0] for name in ("/start", "/help", "/restart", "/human"))
    assert rasa.messages == []


@pytest.mark.asyncio
async def test_the_command_menu_is_registered_in_chinese_for_all_and_in_english(fake, polling):
    menus = fake.command_menus
    assert set(menus) == {"", "en"}
    assert [entry["command"] for entry in menus[""]] == list(telegram_channel.COMMANDS)
    assert [entry["command"] for entry in menus["en"]] == list(telegram_channel.COMMANDS)
    assert menus[""][3]["description"] == "转人工客服" and menus["en"][3]["description"] == "Talk to a support agent"


@pytest.mark.asyncio
async def test_a_failed_command_menu_does_not_stop_the_channel(fake):
    rasa = FakeRasa()
    fake.fail_next("setMyCommands", 500, times=2)
    async with running(TelegramInput(settings_for(fake)), rasa):
        fake.push_update(fake.text_update(CHAT, "你好"))
        await fake.until(lambda: rasa.messages, timeout=5)
    assert fake.command_menus == {}


@pytest.mark.asyncio
async def test_group_and_channel_messages_are_ignored(fake, polling):
    _, rasa = polling
    fake.push_update(fake.text_update(-100200300, "你好", chat_type="supergroup"))
    fake.push_update(fake.text_update(-400500, "/start", chat_type="group"))
    fake.push_update(fake.update(channel_post=fake.message(-100999, "channel", text="公告")))
    fake.push_update(fake.text_update(CHAT, "我是私聊"))
    await fake.until(lambda: fake.texts_to(CHAT), what="the private message's answer")
    assert rasa.texts() == ["我是私聊"]
    assert [int(c.params["chat_id"]) for c in fake.calls if "chat_id" in c.params] == [CHAT, CHAT]


@pytest.mark.asyncio
async def test_other_kinds_of_messages_get_a_hint(fake, polling):
    _, rasa = polling
    sticker = {"file_id": "stk", "file_unique_id": "stk-u", "width": 512, "height": 512,
               "is_animated": False, "is_video": False, "type": "regular"}
    fake.push_update(fake.update(message=fake.message(CHAT, sticker=sticker)))
    await fake.until(lambda: fake.texts_to(CHAT))
    assert fake.texts_to(CHAT) == [UNSUPPORTED_TEXT]
    assert rasa.messages == []


# -- buttons ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_buttons_become_an_inline_keyboard_one_per_row(fake, polling):
    channel, _ = polling
    buttons = [{"title": "忘记密码", "payload": "/forgot_password"},
               {"title": LONG_QUESTION, "payload": LONG_QUESTION}]
    await channel.output.send_text_with_buttons(f"telegram:{CHAT}", "请点选：", buttons)
    [sent] = fake.messages_to(CHAT)
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [[button["text"] for button in row] for row in rows] == [["忘记密码"], [LONG_QUESTION]]
    assert rows[0][0]["callback_data"] == "/forgot_password"
    assert rows[1][0]["callback_data"].startswith("#")


@pytest.mark.asyncio
async def test_a_pressed_button_is_answered_and_its_payload_goes_to_rasa(fake, polling):
    channel, rasa = polling
    await channel.output.send_text_with_buttons(
        f"telegram:{CHAT}", "请点选：", [{"title": "忘记密码", "payload": "/forgot_password"}])
    [shown] = fake.sent.values()
    update = fake.push_update(fake.callback_update(CHAT, "/forgot_password", message=shown))
    await fake.until(lambda: rasa.messages and fake.calls_of("answerCallbackQuery"))
    [message] = rasa.messages
    assert (message.text, message.metadata) == ("/forgot_password", {"display_text": "忘记密码", **CHAT_ADDRESS})
    [answer] = fake.calls_of("answerCallbackQuery")
    assert answer.params["callback_query_id"] == update["callback_query"]["id"]


@pytest.mark.asyncio
async def test_a_long_payload_is_resolved_from_the_pressed_message_even_after_a_restart(fake, polling):
    channel, rasa = polling
    await channel.output.send_text_with_buttons(
        f"telegram:{CHAT}", "您是想问：", [{"title": LONG_QUESTION, "payload": LONG_QUESTION}])
    [shown] = fake.sent.values()
    data = shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    channel.callbacks = CallbackData()  # what a restart forgets
    fake.push_update(fake.callback_update(CHAT, data, message=shown))
    await fake.until(lambda: rasa.messages)
    [message] = rasa.messages
    assert (message.text, message.metadata) == (LONG_QUESTION, {"display_text": LONG_QUESTION, **CHAT_ADDRESS})
    assert fake.calls_of("answerCallbackQuery", ok_only=True)


@pytest.mark.asyncio
async def test_a_long_payload_with_another_title_is_resolved_from_memory(fake, polling):
    channel, rasa = polling
    payload = '/inform{"topic": "' + LONG_QUESTION + '"}'
    await channel.output.send_text_with_buttons(
        f"telegram:{CHAT}", "您是想问：", [{"title": "单位信息不完整", "payload": payload}])
    [shown] = fake.sent.values()
    data = shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    fake.push_update(fake.callback_update(CHAT, data, message=shown))
    await fake.until(lambda: rasa.messages)
    assert (rasa.messages[0].text, rasa.messages[0].metadata) == (payload, {"display_text": "单位信息不完整",
                                                                          **CHAT_ADDRESS})


@pytest.mark.asyncio
async def test_an_unknown_hashed_button_is_answered_and_explained(fake, polling):
    _, rasa = polling
    fake.push_update(fake.callback_update(CHAT, "#0123456789abcdef0123"))
    await fake.until(lambda: fake.texts_to(CHAT) and fake.calls_of("answerCallbackQuery"))
    assert fake.texts_to(CHAT) == [EXPIRED_BUTTON_TEXT]
    assert rasa.messages == []


# -- photos and documents ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def account_store(services) -> Database:
    """A throw-away store (the ``services`` fixture): uploads, and the handoff
    state every message is checked against."""
    return services.database


def uploads(database: Database) -> List[Upload]:
    with database.session() as session:
        return session.query(Upload).all()


@pytest.mark.asyncio
async def test_a_photo_is_downloaded_stored_and_handed_on_as_send_file(fake, polling, account_store):
    _, rasa = polling
    photo = jpeg_bytes()
    fake.add_file("photo-big", photo, "photos/file_7.jpg")
    update = fake.push_update(fake.photo_update(CHAT, "photo-big", len(photo)))
    await fake.until(lambda: rasa.messages, what="the /send_file message")
    [message] = rasa.messages
    assert message.text == SEND_FILE_TEXT
    [upload] = uploads(account_store)
    assert upload.sender_id == f"telegram:{CHAT}" and upload.size == len(photo)
    name = f"photo_{update['message']['message_id']}.jpg"
    assert message.metadata == {"upload_id": upload.id, "display_text": f"[照片] {name}", **CHAT_ADDRESS}
    assert [call.params["file_id"] for call in fake.calls_of("getFile")] == ["photo-big"]
    assert [call.params["path"] for call in fake.calls_of("download")] == ["photos/file_7.jpg"]


@pytest.mark.asyncio
async def test_a_file_over_the_limit_is_refused_without_downloading(fake, polling, account_store):
    _, rasa = polling
    fake.push_update(fake.photo_update(CHAT, "huge", 3 * 1048576))
    await fake.until(lambda: fake.texts_to(CHAT))
    [reply] = fake.texts_to(CHAT)
    assert "3 MB" in reply and "1 MB" in reply
    assert fake.calls_of("getFile") == [] and fake.calls_of("download") == []
    assert rasa.messages == [] and uploads(account_store) == []


@pytest.mark.asyncio
async def test_a_file_over_the_limit_is_refused_in_the_clients_language(fake, polling, account_store):
    english = fake.photo_update(CHAT, "huge", 3 * 1048576)
    english["message"]["from"]["language_code"] = "en-GB"  # no stored conversation here: the client's language
    fake.push_update(english)
    await fake.until(lambda: fake.texts_to(CHAT))
    [reply] = fake.texts_to(CHAT)
    assert reply == photo_too_large(3 * 1048576, 1048576, "en") != photo_too_large(3 * 1048576, 1048576, "zh")


@pytest.mark.asyncio
async def test_a_pdf_named_jpg_is_refused_with_the_reason(fake, polling, account_store):
    _, rasa = polling
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    fake.add_file("doc-1", pdf)
    fake.push_update(fake.document_update(CHAT, "doc-1", "身份证正面.jpg", len(pdf)))
    await fake.until(lambda: fake.texts_to(CHAT))
    [reply] = fake.texts_to(CHAT)
    assert "PDF" in reply and "jpg" in reply
    assert fake.calls_of("download")  # it was looked at, by content
    assert rasa.messages == [] and uploads(account_store) == []


@pytest.mark.asyncio
async def test_an_english_clients_photo_shows_as_photo_and_its_refusal_is_english(fake, polling, account_store):
    _, rasa = polling
    photo = jpeg_bytes()
    fake.add_file("photo-en", photo, "photos/file_8.jpg")
    update = fake.photo_update(CHAT, "photo-en", len(photo))
    update["message"]["from"]["language_code"] = "en"  # no stored conversation here: the client's language
    fake.push_update(update)
    await fake.until(lambda: rasa.messages, what="the /send_file message")
    [message] = rasa.messages
    name = f"photo_{update['message']['message_id']}.jpg"
    assert message.metadata["display_text"] == f"[Photo] {name}" == tr("telegram.photo", "en", name=name)

    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    fake.add_file("doc-en", pdf)
    document = fake.document_update(CHAT, "doc-en", "passport.jpg", len(pdf))
    document["message"]["from"]["language_code"] = "en-US"
    fake.push_update(document)

    def refusals():  # besides the fake Rasa's answer to the photo
        return [text for text in fake.texts_to(CHAT) if not text.startswith("收到")]

    await fake.until(refusals)
    assert refusals()[0].startswith("This file is actually a PDF document."), refusals()
    assert len(rasa.messages) == 1 and len(uploads(account_store)) == 1


@pytest.mark.asyncio
async def test_the_photo_label_follows_the_conversations_language_over_the_client(fake, polling, account_store,
                                                                                  monkeypatch):
    async def english_conversation(_app, sender_id):
        assert sender_id == f"telegram:{CHAT}"
        return "en"

    monkeypatch.setattr(telegram_channel, "stored_language", english_conversation)
    _, rasa = polling
    photo = jpeg_bytes()
    fake.add_file("photo-zh-client", photo, "photos/file_9.jpg")
    update = fake.photo_update(CHAT, "photo-zh-client", len(photo))
    update["message"]["from"]["language_code"] = "zh-hans"  # the conversation speaks English all the same
    fake.push_update(update)
    await fake.until(lambda: rasa.messages, what="the /send_file message")
    assert rasa.messages[0].metadata["display_text"].startswith("[Photo] photo_")


@pytest.mark.asyncio
async def test_a_failed_download_is_reported_to_the_user(fake, polling, account_store):
    _, rasa = polling
    fake.push_update(fake.photo_update(CHAT, "never-registered", 1000))  # getFile: 400
    await fake.until(lambda: fake.texts_to(CHAT))
    assert "重新发送" in fake.texts_to(CHAT)[0]
    assert rasa.messages == []


# -- delivery --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_429_is_waited_out_and_the_message_delivered_once(fake, polling):
    channel, _ = polling
    fake.fail_next("sendMessage", 429, retry_after=1)
    assert await channel.output.send(f"telegram:{CHAT}", "手机短信验证码发出后 5 分钟内有效")
    first, second = fake.calls_of("sendMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert fake.texts_to(CHAT) == ["手机短信验证码发出后 5 分钟内有效"]


@pytest.mark.asyncio
async def test_a_refused_connection_is_retried_until_delivered_once(fake, polling):
    channel, _ = polling
    fake.go_offline(0.8)
    started = time.monotonic()
    assert await channel.output.send(f"telegram:{CHAT}", "连接恢复后送达")
    assert time.monotonic() - started >= 0.8
    assert fake.texts_to(CHAT) == ["连接恢复后送达"]


@pytest.mark.asyncio
async def test_a_gateway_error_is_retried(fake, polling):
    channel, _ = polling
    fake.fail_next("sendMessage", 502, times=2)
    assert await channel.output.send(f"telegram:{CHAT}", "重试后送达")
    assert [call.status for call in fake.calls_of("sendMessage")] == [502, 502, 200]
    assert fake.texts_to(CHAT) == ["重试后送达"]


@pytest.mark.asyncio
async def test_a_read_timeout_is_not_retried_because_it_may_have_arrived(fake):
    def impatient_bot(settings: TelegramSettings) -> Bot:
        return Bot(settings.token, base_url=f"{settings.api_url}/bot",
                   base_file_url=f"{settings.api_url}/file/bot", request=HTTPXRequest(read_timeout=0.3))

    async with running(TelegramInput(settings_for(fake), bot_factory=impatient_bot), FakeRasa()) as channel:
        fake.delay_next("sendMessage", 1.0)
        assert not await channel.output.send(f"telegram:{CHAT}", "可能已经送达")
        assert len(fake.calls_of("sendMessage")) == 1
        assert fake.texts_to(CHAT) == ["可能已经送达"]  # it did arrive: a retry would repeat it


@pytest.mark.asyncio
async def test_a_blocked_bot_is_not_retried(fake, polling):
    channel, _ = polling
    fake.fail_next("sendMessage", 403)
    assert not await channel.output.send(f"telegram:{CHAT}", "用户已屏蔽")
    assert len(fake.calls_of("sendMessage")) == 1


@pytest.mark.asyncio
async def test_a_9000_character_message_arrives_in_order_in_parts(fake, polling):
    channel, _ = polling
    text = "\n\n".join(f"第{i:02d}段。" + "请核对手机号后重新获取验证码。" * 20 for i in range(30))
    assert len(text) > 9000
    fake.fail_next("sendMessage", 429, retry_after=1)  # the first part waits; nothing repeats
    buttons = [{"title": "忘记密码", "payload": "/forgot_password"}]
    await channel.output.send_text_with_buttons(f"telegram:{CHAT}", text, buttons)
    sent = fake.messages_to(CHAT)
    assert len(sent) == 3 and all(len(params["text"]) <= 4096 for params in sent)
    assert "".join(params["text"] for params in sent).replace("\n", "") == text.replace("\n", "")
    assert ["reply_markup" in params for params in sent] == [False, False, True]


# -- webhook --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_webhook_checks_the_secret_and_handles_the_update(fake):
    rasa = FakeRasa()
    channel = TelegramInput(webhook_settings(fake))
    async with served(channel, rasa) as base:
        await asyncio.wait_for(channel.ready.wait(), 10)
        [hook] = fake.calls_of("setWebhook")
        assert hook.params == {"url": "https://example.invalid/webhooks/telegram/webhook",
                               "secret_token": SECRET,
                               "allowed_updates": ["message", "callback_query"]}
        async with httpx.AsyncClient() as client:
            async def post(secret: Optional[str] = SECRET, **body) -> int:
                headers = {SECRET_HEADER: secret} if secret is not None else {}
                return (await client.post(f"{base}/webhook", headers=headers, **body)).status_code

            assert await post(secret=None, json=fake.text_update(CHAT, "没密钥")) == 403
            assert await post(secret="", json=fake.text_update(CHAT, "空密钥")) == 403
            assert await post(secret="wrong", json=fake.text_update(CHAT, "错密钥")) == 403
            assert await post(content=b"{not json") == 400
            assert await post(json=[1, 2]) == 400
            assert await post(json={"no": "update_id"}) == 400
            assert await post(json=fake.text_update(CHAT, "你好")) == 200
        await fake.until(lambda: fake.texts_to(CHAT))
    assert rasa.texts() == ["你好"]
    assert fake.texts_to(CHAT) == ["收到：你好"]
    assert fake.calls_of("getUpdates") == []


@pytest.mark.asyncio
async def test_the_webhook_answers_at_once_and_ignores_a_redelivered_update(fake):
    rasa = FakeRasa(slow_texts={"慢": 1.0})
    channel = TelegramInput(webhook_settings(fake))
    async with served(channel, rasa) as base:
        await asyncio.wait_for(channel.ready.wait(), 10)
        update = fake.text_update(CHAT, "慢")
        async with httpx.AsyncClient() as client:
            started = time.monotonic()
            for _ in range(3):
                reply = await client.post(f"{base}/webhook", json=update, headers={SECRET_HEADER: SECRET})
                assert reply.status_code == 200
            assert time.monotonic() - started < 0.9  # not held until the answer is sent
        await fake.until(lambda: fake.texts_to(CHAT))
    assert rasa.texts() == ["慢"]
    assert fake.texts_to(CHAT) == ["收到：慢"]


@pytest.mark.asyncio
async def test_one_chat_in_order_different_chats_at_the_same_time(fake):
    rasa = FakeRasa(slow_texts={"第一条": 0.5})
    channel = TelegramInput(webhook_settings(fake))
    async with served(channel, rasa) as base:
        await asyncio.wait_for(channel.ready.wait(), 10)
        async with httpx.AsyncClient() as client:
            for chat, text in ((CHAT, "第一条"), (CHAT, "第二条"), (OTHER_CHAT, "别的对话")):
                reply = await client.post(f"{base}/webhook", json=fake.text_update(chat, text),
                                          headers={SECRET_HEADER: SECRET})
                assert reply.status_code == 200
        await fake.until(lambda: len(fake.texts_to(CHAT)) == 2 and fake.texts_to(OTHER_CHAT))
    assert fake.texts_to(CHAT) == ["收到：第一条", "收到：第二条"]
    events = [(event, text) for event, text, _ in rasa.log]
    assert events.index(("start", "第二条")) > events.index(("end", "第一条"))
    assert events.index(("end", "别的对话")) < events.index(("end", "第一条"))


def most_at_once(rasa: FakeRasa) -> int:
    """The most messages the fake Rasa was handling at the same time."""
    running = most = 0
    for event, _, _ in sorted(rasa.log, key=lambda entry: (entry[2], entry[0] == "start")):
        running += 1 if event == "start" else -1
        most = max(most, running)
    return most


@pytest.mark.asyncio
async def test_at_most_so_many_chats_are_handled_at_once_and_no_update_is_lost(fake):
    chats = [CHAT + number for number in range(6)]
    rasa = FakeRasa(slow_texts={f"慢{chat}": 0.3 for chat in chats})
    channel = TelegramInput(replace(webhook_settings(fake), max_concurrent_updates=2))
    async with served(channel, rasa) as base:
        await asyncio.wait_for(channel.ready.wait(), 10)
        async with httpx.AsyncClient() as client:
            for chat in chats:
                reply = await client.post(f"{base}/webhook", json=fake.text_update(chat, f"慢{chat}"),
                                          headers={SECRET_HEADER: SECRET})
                assert reply.status_code == 200  # accepted at once, handled in turn
        await fake.until(lambda: all(fake.texts_to(chat) for chat in chats))
    assert sorted(rasa.texts()) == sorted(f"慢{chat}" for chat in chats)
    assert most_at_once(rasa) == 2


@pytest.mark.asyncio
async def test_beyond_the_waiting_line_telegram_is_asked_to_send_again_and_nothing_is_lost(fake, monkeypatch):
    monkeypatch.setattr(telegram_channel, "MAX_WAITING_UPDATES", 3)
    rasa = FakeRasa(slow_texts={"慢": 0.4})
    channel = TelegramInput(replace(webhook_settings(fake), max_concurrent_updates=1))
    updates = [fake.text_update(CHAT + number, "慢") for number in range(4)]
    async with served(channel, rasa) as base:
        await asyncio.wait_for(channel.ready.wait(), 10)
        async with httpx.AsyncClient() as client:
            async def post(update: dict) -> httpx.Response:
                return await client.post(f"{base}/webhook", json=update, headers={SECRET_HEADER: SECRET})

            assert [(await post(update)).status_code for update in updates[:3]] == [200, 200, 200]
            busy = await post(updates[3])
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
            await fake.until(lambda: len(rasa.messages) == 3)
            await fake.until(lambda: channel._waiting == 0)
            assert (await post(updates[3])).status_code == 200  # Telegram's retry: handled now
        await fake.until(lambda: fake.texts_to(CHAT + 3))
    assert rasa.texts() == ["慢"] * 4
    assert most_at_once(rasa) == 1


def test_the_concurrency_limit_must_allow_one_update():
    with pytest.raises(TelegramSetupError, match="TELEGRAM_MAX_CONCURRENT_UPDATES"):
        TelegramInput(TelegramSettings.from_config({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MAX_CONCURRENT_UPDATES": "0"}))
    assert TelegramSettings.from_config({}).max_concurrent_updates == 16


# -- polling ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_polling_deletes_the_webhook_and_confirms_handled_updates(fake, polling):
    _, rasa = polling
    first = fake.push_update(fake.text_update(CHAT, "一"))
    await fake.until(lambda: rasa.messages)
    second = fake.push_update(fake.text_update(OTHER_CHAT, "二"))
    await fake.until(lambda: len(rasa.messages) == 2)
    await fake.until(lambda: any(call.params.get("offset") == str(second["update_id"] + 1)
                                 for call in fake.calls_of("getUpdates")), what="the offset")
    methods = [call.method for call in fake.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    polls = fake.calls_of("getUpdates")
    assert "offset" not in polls[0].params
    assert [call.params.get("offset") for call in polls[1:3]] == [str(first["update_id"] + 1),
                                                                  str(second["update_id"] + 1)]
    assert polls[0].params["timeout"] == "25"
    assert polls[0].params["allowed_updates"] == ["message", "callback_query"]
    assert rasa.texts() == ["一", "二"]


@pytest.mark.asyncio
async def test_polling_goes_on_after_bot_api_errors(fake):
    rasa = FakeRasa()
    fake.fail_next("getUpdates", 502)
    async with running(TelegramInput(settings_for(fake)), rasa):
        fake.push_update(fake.text_update(CHAT, "还在吗"))
        await fake.until(lambda: rasa.messages, timeout=5)
    assert [call.status for call in fake.calls_of("getUpdates")][:2] == [502, 200]
    assert rasa.texts() == ["还在吗"]


@pytest.mark.asyncio
async def test_stopping_ends_the_long_poll_at_once(fake):
    channel = TelegramInput(settings_for(fake))
    async with running(channel, FakeRasa()):
        await fake.until(lambda: fake.calls_of("getUpdates"))
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    assert channel.get_output_channel() is None


@pytest.mark.asyncio
async def test_a_rejected_token_is_reported_without_the_token_and_nothing_polls(fake, caplog):
    channel = TelegramInput(TelegramSettings(token="999:WRONG-token", api_url=fake.url))
    await channel.start(FakeRasa())
    try:
        await fake.until(lambda: fake.calls_of("getMe"))
        await asyncio.wait_for(asyncio.shield(channel._runner), 5)
    finally:
        await channel.stop()
    assert "rejected TELEGRAM_BOT_TOKEN" in caplog.text
    assert "WRONG-token" not in caplog.text
    assert [call.method for call in fake.calls] == ["getMe"]


def confirmations(fake: FakeTelegram, update: dict) -> list:
    """getUpdates calls that confirm ``update`` (offset past it)."""
    return [call for call in fake.calls_of("getUpdates")
            if int(call.params.get("offset", 0)) > update["update_id"]]


@pytest.mark.asyncio
async def test_polling_confirms_an_update_only_once_it_was_handled(fake):
    rasa = FakeRasa(slow_texts={"慢慢来": 0.5})
    async with running(TelegramInput(settings_for(fake)), rasa):
        update = fake.push_update(fake.text_update(CHAT, "慢慢来"))
        await fake.until(lambda: confirmations(fake, update), what="the confirming getUpdates")
    [handled] = [at for event, _, at in rasa.log if event == "end"]
    assert min(call.at for call in confirmations(fake, update)) >= handled


@pytest.mark.asyncio
async def test_stopping_survives_a_swallowed_cancellation():
    # What anyio does on Python 3.10 when the cancellation lands while httpx
    # opens a connection: the first cancel is lost and the poll goes on.
    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(10)

    task = asyncio.ensure_future(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(_cancel(task), 3)
    assert task.cancelled()
