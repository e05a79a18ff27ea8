"""The Telegram channel in the real assistant (Rasa and action servers)
against the fake Bot API server: first in webhook mode, then in polling mode
(one assistant at a time, each test class starts its own).  In webhook mode
also a whole English conversation (issue 15): a user writing only English from
an English Telegram client resets the password, has the real-name failure
diagnosed, sends the photos and asks for a person, and hears English throughout."""
import io
import json
import re
import sqlite3
import textwrap
import urllib.error
import urllib.parse
import urllib.request
from itertools import count

import pytest
from PIL import Image

from bot.accounts.models import RealnameState
from bot.language import tr
from bot.store.passwords import check_password
from tests.channels.conftest import imported_accounts
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


def jpeg_bytes(color=(30, 90, 200)):
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), color).save(buffer, format="JPEG")
    return buffer.getvalue()


# The English user's account: a foreign passport (never verified online), verification failed.
ENGLISH_LOGIN, ENGLISH_PHONE = "annaklein", "13012345671"
ENGLISH_ACCOUNTS = textwrap.dedent(f"""\
    accounts:
      - login_name: {ENGLISH_LOGIN}
        kind: natural
        password: "Old@2026pass"
        phone: "{ENGLISH_PHONE}"
        name: Anna Klein
        document: {{type: 境外护照, number: "C7RT2J9KM"}}
        realname: {{state: failed}}
    """)
CJK = re.compile(r"[\u4e00-\u9fff]")


def english(text):
    """An English text: Latin letters, Chinese only in the platform's own labels beside their gloss
    (no Chinese sentence punctuation; twice the Latin letters, as tests/core/test_domain_languages.py)."""
    latin = len(re.findall(r"[A-Za-z]", text))
    return latin > 0 and not re.search(r"[。，？！]", text) and len(CJK.findall(text)) * 2 < latin


class EnglishClient:
    """A Telegram user whose app is set to English (``language_code`` en), on one chat."""

    def __init__(self, fake, assistant):
        self.fake, self.assistant, self.chat = fake, assistant, next(CHATS)

    def _send(self, update, expect, what):
        update["message"]["from"]["language_code"] = "en"
        before = len(self.fake.texts_to(self.chat))
        assert post_update(self.assistant, update) == 200

        def answered():
            new = self.fake.texts_to(self.chat)[before:]
            return new if any(expect in text for text in new) else None

        return "\n".join(self.fake.wait_for(answered, 30, f"{expect!r} after {what}"))

    def say(self, text, expect):
        """Sends ``text``; the assistant's messages up to the one with ``expect``."""
        return self._send(self.fake.text_update(self.chat, text), expect, repr(text))

    def send_photo(self, data, expect):
        file_id = f"en-photo-{self.chat}-{len(self.fake.calls_of('getFile'))}"
        self.fake.add_file(file_id, data, f"photos/{file_id}.jpg")
        return self._send(self.fake.photo_update(self.chat, file_id, len(data)), expect, "a photo")


def latest_code(service, phone):
    return re.search(r"\d{6}", service.outbox(phone=phone)[0].text).group(0)


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

    @pytest.fixture(scope="class")
    def english_accounts(self, assistant):
        path = assistant.tmp_path / "english_accounts.yml"
        with imported_accounts(assistant.overrides["DATABASE_URL"], path, ENGLISH_ACCOUNTS) as service:
            yield service

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

    def test_an_english_user_resets_the_password_gets_the_realname_diagnosis_and_asks_for_a_person(
            self, fake, assistant, english_accounts):
        user = EnglishClient(fake, assistant)
        replies = []

        # The password reset: the login name in the first message (an English label, letters only)
        # is not asked for again; the code is read from the SMS outbox.
        answer = user.say(f"I forgot my password, my login name is {ENGLISH_LOGIN}", "6-digit code")
        assert "If the account exists, a 6-digit code has been sent" in answer and "the SMS is in Chinese" in answer
        replies.append(answer)
        answer = user.say(latest_code(english_accounts, ENGLISH_PHONE), "Please open the link below")
        replies.append(answer)
        link = re.search(r"http\S+/webhooks/account/reset\?token=\S+", answer).group(0)
        with urllib.request.urlopen(link, timeout=10) as page:
            assert "设置新密码" in page.read().decode()  # the reset page stays Chinese (the chat said so)
        token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
        form = urllib.parse.urlencode({"token": token, "password": "New@2026pass", "repeated": "New@2026pass"})
        with urllib.request.urlopen(urllib.request.Request(link.split("?")[0], data=form.encode()),
                                    timeout=10) as page:
            assert "新密码已生效" in page.read().decode()
        assert check_password("New@2026pass", english_accounts.account_by_login(ENGLISH_LOGIN).password_hash)

        # The real-name diagnosis of the account the code just confirmed (not asked for again): a
        # foreign passport goes to manual review with two photos.
        answer = user.say("My real-name verification failed, what should I do?", "front of your document")
        assert "Your account's current status: 实名认证失败 (real-name verification failed)." in answer
        assert "not verified online but go straight to manual review" in answer
        assert "About your personal data" in answer  # the privacy notice before the photos
        replies.append(answer)
        replies.append(user.send_photo(jpeg_bytes((240, 240, 240)), "back of your document"))
        answer = user.send_photo(jpeg_bytes((90, 90, 90)), "manual review")
        assert "I've submitted your photos for manual review" in answer
        replies.append(answer)
        assert english_accounts.account_by_login(ENGLISH_LOGIN).state == RealnameState.IN_REVIEW

        def photo_labels():  # as the conversation keeps them (the turn is stored after its answer went out)
            with sqlite3.connect(assistant.tmp_path / "t.db") as database:
                events = [json.loads(data) for (data,) in database.execute(
                    "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (f"telegram:{user.chat}",))]
            labels = [event["metadata"]["display_text"] for event in events if event["metadata"].get("upload_id")]
            return labels if len(labels) == 2 else None

        labels = fake.wait_for(photo_labels, 30, "both photos in the conversation")
        assert all(label.startswith("[Photo] photo_") for label in labels), labels

        # A person: the handoff's message and its button in English.
        answer = user.say("I want to talk to a real person", "support")
        assert "OK, your request has gone to our support staff" in answer or "connecting you to a support agent" in answer
        replies.append(answer)
        keyboard = [message["reply_markup"]["inline_keyboard"] for message in fake.messages_to(user.chat)
                    if message.get("reply_markup")][-1]
        assert [row[0]["text"] for row in keyboard] == [tr("handoff.cancel_button", "en")]
        assert all(english(reply) for reply in replies), [reply for reply in replies if not english(reply)]

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
