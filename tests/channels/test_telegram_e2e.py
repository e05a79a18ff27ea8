"""The Telegram channel in the real assistant (Rasa and action servers)
against the fake Bot API server: first in webhook mode, then in polling mode
(one assistant at a time, each test class starts its own)."""
import io
import json
import sqlite3
import urllib.error
import urllib.request
from itertools import count

import pytest
from PIL import Image

from tests.fake_telegram import FakeTelegram
from tests.assistants import RESULTS, AssistantProcess
from tests.project_data import answers as chinese_answers

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")]

TOKEN = "123:TEST"
SECRET = "e2e-webhook-secret_0123456789"
WEBHOOK_URL = "https://example.invalid/webhooks/telegram/webhook"
ANSWERS = chinese_answers()
CHATS = count(700001)
# An FAQ question the REST tests also ask; its answer has a distinctive phrase.
QUESTION, ANSWER, PHRASE = "申诉找回一般要等多久", ANSWERS["utter_faq/appeal_duration"], "1–2 个工作日"


def start_assistant(fake, tmp_path, log_name, **settings):
    process = AssistantProcess(
        RESULTS / log_name,
        DATABASE_URL=f"sqlite:///{tmp_path}/t.db",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=fake.url,
        **settings,
    )
    RESULTS.mkdir(exist_ok=True)
    process.start()
    return process


def post_update(process, update, secret=SECRET):
    url = f"{process.running.rasa_url}/webhooks/telegram/webhook"
    request = urllib.request.Request(url, data=json.dumps(update).encode("utf-8"), headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def texts_containing(fake, chat, phrase):
    return [text for text in fake.texts_to(chat) if phrase in text]


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 90, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


class TestWebhookMode:
    @pytest.fixture(scope="class")
    def fake(self):
        with FakeTelegram(TOKEN) as server:
            yield server

    @pytest.fixture(scope="class")
    def assistant(self, fake, tmp_path_factory):
        tmp_path = tmp_path_factory.mktemp("telegram-webhook")
        process = start_assistant(fake, tmp_path, "integration-telegram-webhook.log",
                                  TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_SECRET_TOKEN=SECRET)
        process.tmp_path = tmp_path
        yield process
        process.stop()

    def test_the_webhook_is_registered_with_the_secret(self, fake, assistant):
        [call] = fake.wait_for(lambda: fake.calls_of("setWebhook", ok_only=True), what="setWebhook")
        assert call.params == {"url": WEBHOOK_URL, "secret_token": SECRET,
                               "allowed_updates": ["message", "callback_query"]}
        assert fake.calls_of("getUpdates") == []

    def test_an_faq_question_is_answered(self, fake, assistant):
        chat = next(CHATS)
        assert post_update(assistant, fake.text_update(chat, QUESTION)) == 200
        [answer] = fake.wait_for(lambda: texts_containing(fake, chat, PHRASE), 30, "the answer")
        assert answer == ANSWER
        assert fake.messages_to(chat)[0]["link_preview_options"] == {"is_disabled": True}

    def test_the_greeting_has_buttons_and_a_press_is_answered(self, fake, assistant):
        chat = next(CHATS)
        assert post_update(assistant, fake.text_update(chat, "你好")) == 200
        [greeting] = fake.wait_for(lambda: [m for m in fake.messages_to(chat) if m.get("reply_markup")],
                                   30, "the greeting")
        assert greeting["text"] == ANSWERS["utter_greet"]
        keyboard = greeting["reply_markup"]["inline_keyboard"]
        assert ["忘记密码", "/forgot_password"] in [[row[0]["text"], row[0]["callback_data"]]
                                                  for row in keyboard]
        shown = next(message for message in fake.sent.values()
                     if message["chat"]["id"] == chat and message.get("reply_markup"))
        press = fake.callback_update(chat, "/forgot_password", message=shown)
        assert post_update(assistant, press) == 200
        fake.wait_for(lambda: fake.texts_to(chat)[-1:] != [ANSWERS["utter_greet"]], 30, "the topic")
        answers = fake.texts_to(chat)[1:]
        assert answers[0] == ANSWERS["utter_forgot_password"]
        query_id = press["callback_query"]["id"]
        assert [c for c in fake.calls_of("answerCallbackQuery") if c.params["callback_query_id"] == query_id]

    def test_a_photo_is_stored_for_the_conversation(self, fake, assistant):
        chat = next(CHATS)
        photo = jpeg_bytes()
        fake.add_file(f"e2e-photo-{chat}", photo, f"photos/e2e_{chat}.jpg")
        assert post_update(assistant, fake.photo_update(chat, f"e2e-photo-{chat}", len(photo))) == 200
        fake.wait_for(lambda: [c for c in fake.calls_of("download") if c.params["path"] == f"photos/e2e_{chat}.jpg"],
                      30, "the download")
        assert [c.params["file_id"] for c in fake.calls_of("getFile")][-1] == f"e2e-photo-{chat}"

        def stored():
            with sqlite3.connect(assistant.tmp_path / "t.db") as database:
                return database.execute("SELECT sender_id, size FROM uploads WHERE sender_id = ?",
                                        (f"telegram:{chat}",)).fetchall()

        assert fake.wait_for(stored, 30, "the upload row") == [(f"telegram:{chat}", len(photo))]
        fake.wait_for(lambda: fake.texts_to(chat), 30, "an answer to the photo")

    def test_a_429_is_waited_out_and_the_answer_sent_once(self, fake, assistant):
        chat = next(CHATS)
        fake.fail_next("sendMessage", 429, retry_after=1, chat_id=chat)
        assert post_update(assistant, fake.text_update(chat, QUESTION)) == 200
        fake.wait_for(lambda: texts_containing(fake, chat, PHRASE), 30, "the answer")
        attempts = [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == str(chat)]
        assert [c.status for c in attempts[:2]] == [429, 200]
        assert attempts[1].at - attempts[0].at >= 1.0
        assert texts_containing(fake, chat, PHRASE) == [ANSWER]

    def test_a_wrong_secret_is_refused(self, fake, assistant):
        chat = next(CHATS)
        assert post_update(assistant, fake.text_update(chat, "你好"), secret="not-the-secret") == 403
        assert post_update(assistant, fake.text_update(chat, "你好"), secret="") == 403


class TestPollingMode:
    @pytest.fixture(scope="class")
    def fake(self):
        with FakeTelegram(TOKEN) as server:
            yield server

    @pytest.fixture(scope="class")
    def assistant(self, fake, tmp_path_factory):
        process = start_assistant(fake, tmp_path_factory.mktemp("telegram-polling"),
                                  "integration-telegram-polling.log")
        yield process
        process.stop()

    def test_updates_are_polled_and_answered(self, fake, assistant):
        fake.wait_for(lambda: fake.calls_of("getUpdates"), 30, "the first getUpdates")
        methods = [call.method for call in fake.calls]
        assert methods.index("deleteWebhook") < methods.index("getUpdates")
        chat = next(CHATS)
        update = fake.push_update(fake.text_update(chat, QUESTION))
        [answer] = fake.wait_for(lambda: texts_containing(fake, chat, PHRASE), 30, "the answer")
        assert answer == ANSWER
        fake.wait_for(lambda: [c for c in fake.calls_of("getUpdates")
                               if c.params.get("offset") == str(update["update_id"] + 1)], 30, "the offset")
