"""The widget's socket.io protocol against the real servers, with python-socketio
as the client (the browser tests drive the widget itself)."""
import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest
import pytest_asyncio
import socketio

from tests.widget_client import WidgetClient

pytestmark = pytest.mark.integration

ALLOWED_SITE = "https://fuwu.example.gov.cn"  # the fixture's WIDGET_ALLOWED_ORIGINS


@pytest_asyncio.fixture
async def client(assistant):
    widget = WidgetClient(assistant.running.rasa_url)
    await widget.connect()
    yield widget
    await widget.close()


@pytest.mark.asyncio
async def test_the_server_issues_the_session_id(client):
    session_id, history = await client.start_session(None)
    assert len(session_id) == 32 and int(session_id, 16) >= 0
    assert history["messages"] == [] and history["max_upload_bytes"] == 1048576


@pytest.mark.asyncio
async def test_a_chosen_or_malformed_id_is_replaced(client):
    for requested in ("alice", "default", "../../etc", "A" * 32, "telegram:4242", "rest:it-1",
                      "widget:" + "0" * 32, "0" * 32 + "\n"):
        session_id, _ = await client.start_session(requested)
        assert session_id != requested and len(session_id) == 32


@pytest.mark.asyncio
async def test_replies_and_history_after_a_reconnect(assistant, client):
    session_id, _ = await client.start_session()
    await client.say("你好")
    greeting = (await client.replies_until_quiet())[0]
    assert "账号助手" in greeting["text"]
    button = greeting["quick_replies"][0]
    await client.say(button["payload"], {"display_text": button["title"]})
    await client.replies_until_quiet()
    await client.close()

    again = WidgetClient(assistant.running.rasa_url)
    await again.connect()
    try:
        resumed, history = await again.start_session(session_id)
        assert resumed == session_id
        shown = [(message["sender"], message["text"]) for message in history["messages"]]
        assert shown[0] == ("user", "你好")
        assert shown[1][0] == "bot" and "账号助手" in shown[1][1]
        assert ("user", button["title"]) in shown  # the button's title, not its payload
        assert not any(text.startswith("/") for _, text in shown)
    finally:
        await again.close()


@pytest.mark.asyncio
async def test_two_tabs_of_one_conversation_both_see_the_reply(assistant, client):
    session_id, _ = await client.start_session()
    second_tab = WidgetClient(assistant.running.rasa_url)
    await second_tab.connect()
    try:
        await second_tab.start_session(session_id)
        await client.say("验证码多久有效")
        mine, theirs = await asyncio.gather(client.next("bot_uttered"), second_tab.next("bot_uttered"))
        assert mine == theirs and mine["text"]
    finally:
        await second_tab.close()


@pytest.mark.asyncio
async def test_a_socket_cannot_write_into_another_conversation(assistant, client):
    victim = WidgetClient(assistant.running.rasa_url)
    await victim.connect()
    try:
        victim_session, _ = await victim.start_session()
        await client.start_session()
        await client.say("你好", session_id=victim_session)
        refusal = await client.next("widget_error")
        assert "刷新页面" in refusal["message"]
        with pytest.raises(asyncio.TimeoutError):
            await victim.next("bot_uttered", timeout=2)
    finally:
        await victim.close()


@pytest.mark.asyncio
async def test_malformed_messages_get_a_reason_and_the_server_keeps_serving(client):
    await client.start_session()
    bad_format = "消息格式不对"
    for payload, reason in (
        ("just a string", bad_format),
        ({"session_id": client.session_id}, bad_format),  # no message
        ({"message": 5}, bad_format),  # not text
        ({"message": "你好"}, "会话已失效"),  # well formed, but no session id
    ):
        await client.sio.emit("user_uttered", payload)
        refusal = (await client.next("widget_error"))["message"]
        assert reason in refusal and "请刷新页面后重试" in refusal, (payload, refusal)
    # A normal message is answered, with the greeting: nothing refused reached the assistant.
    await client.say("你好")
    assert "账号助手" in (await client.next("bot_uttered"))["text"]
    assert client.received["widget_error"].empty()


@pytest.mark.asyncio
async def test_only_listed_sites_may_connect(assistant):
    allowed = WidgetClient(assistant.running.rasa_url)
    await allowed.connect(origin=ALLOWED_SITE)
    await allowed.close()
    stranger = WidgetClient(assistant.running.rasa_url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stranger.connect(origin="https://evil.example.com")


def _post_upload(url: str, origin: str) -> urllib.request.Request:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sender\"\r\n\r\n{uuid.uuid4().hex}\r\n"
            f"--{boundary}--\r\n").encode()
    return urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": origin})


def test_uploads_from_other_sites_are_refused_and_listed_sites_may_read_the_answer(assistant):
    url = f"{assistant.running.rasa_url}/webhooks/account/upload"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(_post_upload(url, "https://evil.example.com"), timeout=10)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as no_file:  # allowed site, but no file in the form
        urllib.request.urlopen(_post_upload(url, ALLOWED_SITE), timeout=10)
    assert no_file.value.code == 400
    assert no_file.value.headers["Access-Control-Allow-Origin"] == ALLOWED_SITE
    assert "照片" in json.loads(no_file.value.read())["error"]


def test_the_widget_files_are_served(assistant):
    base = f"{assistant.running.rasa_url}/webhooks/widget"
    for name, kind in (("widget.js", "javascript"), ("widget.css", "css"),
                       ("socket.io.min.js", "javascript"), ("demo", "html")):
        with urllib.request.urlopen(f"{base}/{name}", timeout=10) as reply:
            assert kind in reply.headers["Content-Type"] and reply.read()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{base}/package.json", timeout=10)
    assert missing.value.code == 404
