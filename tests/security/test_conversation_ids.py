"""Attacks on conversation ids, against the real Rasa and action servers
(issue 12, item 2: "Conversation ids belong to their channel").

A user verifies in the web widget or on Telegram (a code from the SMS outbox),
which lets that conversation get a fresh password-reset link for 30 minutes.
A REST client then names that conversation as its ``sender`` — the Telegram
chat id, the widget's session id, with or without the channel's prefix — and
asks for a reset link, the user's appeals, or a person.  Each attempt must land
in a REST conversation of its own: no link, no appeal, the user's conversation
untouched.  Each test first shows that the user's own conversation does hold
what the attacker is after, so a shared conversation would fail it.  The REST
channel itself must refuse requests without its bearer token (HTTP 401).
"""
import asyncio
import io
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from itertools import count

import pytest
from PIL import Image

from bot.store import Database
from bot.accounts.flows.verification import HIDDEN_PHONE
from bot.accounts.models import AccountKind, Upload
from bot.accounts.service import AccountService, AppealDraft
from bot.accounts.uploads import UploadStore
from bot.chat import send
from bot.config import PROJECT_ROOT
from bot.handoff.service import HandoffService
from tests.fake_telegram import FakeTelegram
from tests.assistants import REST_TOKEN
from tests.channels.test_telegram_e2e import SECRET, TOKEN, WEBHOOK_URL, post_update, start_assistant
from tests.widget_client import WidgetClient

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")]

RESET_LINK = re.compile(r"http\S+/webhooks/account/reset\?token=\S+")
APPEAL_NUMBER = re.compile(r"SS\d{16}")
CHATS = count(910001)
ACCOUNTS = textwrap.dedent("""\
    accounts:
      - login_name: sec_widget_user
        kind: natural
        password: "Old@2026pass"
        phone: "13012345631"
        name: 安全甲
      - login_name: sec_telegram_user
        kind: natural
        password: "Old@2026pass"
        phone: "13012345632"
        name: 安全乙
      - login_name: sec_other_user
        kind: natural
        password: "Old@2026pass"
        phone: "13012345633"
        name: 安全丁
    """)


@pytest.fixture(scope="module")
def telegram():
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(telegram, tmp_path_factory):
    """The assistant as deployed: REST closed but for REST_API_TOKEN, the widget, Telegram (webhook)."""
    tmp_path = tmp_path_factory.mktemp("conversation-ids")
    process = start_assistant(telegram, tmp_path, "security-conversation-ids.log", SUPPORT_HOURS="always",
                              TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_SECRET_TOKEN=SECRET)
    assert process.rest_token == REST_TOKEN and process.overrides["REST_OPEN_LOCALLY"] == "false"
    process.tmp_path = tmp_path
    yield process
    process.stop()


@pytest.fixture(scope="module")
def accounts(server):
    url = server.overrides["DATABASE_URL"]
    path = server.tmp_path / "accounts.yml"
    path.write_text(ACCOUNTS, encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "bot", "accounts", "import", str(path), "--database-url", url],
                              cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    database = Database(url)
    yield AccountService(database, uploads=UploadStore(server.tmp_path / "uploads", 1048576))
    database.dispose()


# -- the three kinds of client --------------------------------------------------------


def rest(server, sender, text, token=REST_TOKEN):
    """The REST client's replies as one text."""
    replies = send(server.running.rest_webhook, sender, text, token=token)
    return "\n".join(reply.get("text") or "" for reply in replies)


def post(url, body: bytes, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def telegram_say(server, telegram, chat, text, expected, timeout=30.0):
    """Posts the chat's message as Telegram would; the bot's answers once one contains ``expected``."""
    before = len(telegram.texts_to(chat))
    assert post_update(server, telegram.text_update(chat, text)) == 200
    telegram.wait_for(lambda: any(expected in t for t in telegram.texts_to(chat)[before:]), timeout, expected)
    return "\n".join(telegram.texts_to(chat)[before:])


async def widget_say(widget, text):
    """Sends ``text`` from the widget; the bot's answers as one text."""
    await widget.say(text)
    return "\n".join(reply.get("text") or "" for reply in await widget.replies_until_quiet(quiet=1.5))


def stored_senders(server):
    """Every conversation id in the tracker store."""
    with sqlite3.connect(server.overrides["DATABASE_URL"][len("sqlite:///"):]) as database:
        return {row[0] for row in database.execute("SELECT DISTINCT sender_id FROM events")}


def latest_code(accounts, phone):
    return re.search(r"\d{6}", accounts.outbox(phone=phone)[0].text).group(0)


def assert_no_reset_link(answer):
    assert not RESET_LINK.search(answer), f"a reset link leaked into another conversation: {answer}"


# -- the REST channel is closed without its token ------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Bearer wrong-token", f"Basic {REST_TOKEN}",
                                           REST_TOKEN, f"Bearer {REST_TOKEN}x", f"Bearer {REST_TOKEN[:-1]}"])
def test_rest_without_the_token_gets_401_and_reaches_no_conversation(server, authorization):
    sender = f"sec-{uuid.uuid4().hex[:8]}"
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps({"sender": sender, "message": "你好"}).encode("utf-8")
    status, answer = post(server.running.rest_webhook, body, headers)
    assert status == 401 and "REST_API_TOKEN" in answer["error"]
    assert not {f"rest:{sender}", sender} & stored_senders(server)  # it reached no conversation


def test_a_local_program_needs_the_token_too_when_rest_is_not_opened_locally(server):
    # This test runs on the server's machine, from 127.0.0.1: without REST_OPEN_LOCALLY that is no pass.
    with pytest.raises(urllib.error.HTTPError) as refused:
        send(server.running.rest_webhook, "local-dev", "你好")
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert rest(server, "local-dev", "你好")  # with the token: answered


def test_the_rest_upload_needs_the_token_and_the_widget_upload_takes_only_widget_sessions(server, accounts):
    chat = next(CHATS)
    boundary = uuid.uuid4().hex

    def form(sender):
        return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sender\"\r\n\r\n{sender}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode() + PNG + f"\r\n--{boundary}--\r\n".encode()

    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    base = server.running.rasa_url
    status, _ = post(f"{base}/webhooks/rest/upload", form(f"telegram:{chat}"), multipart)
    assert status == 401
    for sender in (f"telegram:{chat}", str(chat), "rest:x", "widget:" + "0" * 32):
        status, answer = post(f"{base}/webhooks/account/upload", form(sender), multipart)
        assert status == 400 and "会话 id" in answer["error"], sender  # no language field: Chinese
    status, answer = post(f"{base}/webhooks/rest/upload", form(f"telegram:{chat}"),
                          {**multipart, "Authorization": f"Bearer {REST_TOKEN}"})
    assert status == 200, answer
    with accounts.db.session() as session:
        upload = session.get(Upload, answer["upload_id"])
        assert upload.sender_id == f"rest:telegram:{chat}"  # the REST client's own conversation


def png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = png_bytes()


# -- a verified Telegram chat ---------------------------------------------------------------


def test_a_rest_client_cannot_inherit_a_telegram_chats_verification(server, telegram, accounts):
    chat = next(CHATS)
    assert "登录名" in telegram_say(server, telegram, chat, "忘记密码了", "登录名")
    assert HIDDEN_PHONE in telegram_say(server, telegram, chat, "sec_telegram_user", HIDDEN_PHONE)
    code = latest_code(accounts, "13012345632")
    assert RESET_LINK.search(telegram_say(server, telegram, chat, code, "/webhooks/account/reset"))
    # The chat is verified for 30 minutes: asking again gives a fresh link at once.
    assert RESET_LINK.search(telegram_say(server, telegram, chat, "忘记密码了", "/webhooks/account/reset"))
    sent_to_chat = len(telegram.texts_to(chat))

    for sender in (f"telegram:{chat}", str(chat), f"rest:telegram:{chat}"):
        answer = rest(server, sender, "忘记密码了")
        assert_no_reset_link(answer)
        assert "登录名" in answer  # a new conversation: who is asking?
        answer = rest(server, sender, "sec_telegram_user")
        assert_no_reset_link(answer)
        assert HIDDEN_PHONE in answer or "验证码刚刚发过" in answer  # a code to the phone, never a link
    assert len(telegram.texts_to(chat)) == sent_to_chat  # nothing was said to the Telegram chat
    owners = stored_senders(server)
    assert {f"telegram:{chat}", f"rest:telegram:{chat}", f"rest:{chat}"} <= owners and str(chat) not in owners


def test_a_rest_client_cannot_read_a_telegram_chats_appeals_or_pause_the_chat(server, telegram, accounts):
    chat = next(CHATS)
    conversation = f"telegram:{chat}"
    number = file_appeal(accounts, conversation)
    # The chat's own appeals are shown to it at once.
    assert number in telegram_say(server, telegram, chat, "我的申诉进度", number)

    for sender in (conversation, str(chat)):
        answer = rest(server, sender, "我的申诉进度")
        assert not APPEAL_NUMBER.search(answer), answer
        assert "手机号" in answer or "证件号码" in answer  # asked who they are instead

    # A person requested "in" the chat's conversation over REST queues the REST conversation only.
    rest(server, conversation, "/request_human")
    handoffs = HandoffService(Database(server.overrides["DATABASE_URL"]))
    assert handoffs.open_handoff(conversation) is None
    assert handoffs.open_handoff(f"rest:{conversation}").channel == "rest"
    # ... so the Telegram user still talks to the assistant, not to an empty queue.
    assert "账号助手" in telegram_say(server, telegram, chat, "你好", "账号助手")


def file_appeal(accounts, conversation):
    """An appeal filed in ``conversation`` (its two photos uploaded there), as the appeal flow files it."""
    front, back = (accounts.save_upload(conversation, PNG, name) for name in ("front.png", "back.png"))
    draft = AppealDraft(kind=AccountKind.NATURAL, phone="13012345699", front_upload_id=front.id,
                        back_upload_id=back.id, person_name="安全丙", doc_type="境外护照", doc_number="E99887711")
    return accounts.create_appeal(draft, conversation).number


# -- a verified widget session -------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_rest_client_cannot_inherit_a_widget_sessions_verification(server, accounts):
    widget = WidgetClient(server.running.rasa_url)
    await widget.connect()
    try:
        session_id, _ = await widget.start_session()
        assert "登录名" in await widget_say(widget, "忘记密码了")
        assert HIDDEN_PHONE in await widget_say(widget, "sec_widget_user")
        assert RESET_LINK.search(await widget_say(widget, latest_code(accounts, "13012345631")))
        assert RESET_LINK.search(await widget_say(widget, "忘记密码了"))  # verified for 30 minutes

        for sender in (session_id, f"widget:{session_id}"):
            answer = rest(server, sender, "忘记密码了")
            assert_no_reset_link(answer)
            assert "登录名" in answer
            answer = rest(server, sender, "sec_widget_user")
            assert_no_reset_link(answer)
        with pytest.raises(asyncio.TimeoutError):  # the widget hears nothing of the REST client's turns
            await widget.next("bot_uttered", timeout=2)
        assert {f"rest:{session_id}", f"rest:widget:{session_id}"} <= stored_senders(server)
        assert session_id not in stored_senders(server)

        # Nor can the REST client read the widget's appeals.
        number = file_appeal(accounts, f"widget:{session_id}")
        assert number in await widget_say(widget, "我的申诉进度")
        for sender in (session_id, f"widget:{session_id}"):
            assert not APPEAL_NUMBER.search(rest(server, sender, "我的申诉进度"))
    finally:
        await widget.close()


@pytest.mark.asyncio
async def test_a_widget_client_cannot_choose_another_channels_conversation(server, telegram, accounts):
    chat = next(CHATS)
    assert "登录名" in telegram_say(server, telegram, chat, "忘记密码了", "登录名")
    rest(server, "it-1", "你好")
    widget = WidgetClient(server.running.rasa_url)
    await widget.connect()
    try:
        for requested in (f"telegram:{chat}", str(chat), "rest:it-1", "it-1"):
            session_id, history = await widget.start_session(requested)
            assert session_id != requested and history["messages"] == []  # a fresh session, not theirs
        # The Telegram chat waits for a login name; had the widget joined it, this would send a code.
        assert HIDDEN_PHONE not in await widget_say(widget, "sec_other_user")
        assert not accounts.outbox(phone="13012345633")
        assert f"widget:{session_id}" in stored_senders(server)
    finally:
        await widget.close()
