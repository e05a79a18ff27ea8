import io
import json
from contextlib import asynccontextmanager
from typing import AsyncIterator, List

import httpx
import pytest
from PIL import Image
from rasa.core.channels.channel import UserMessage

from bot.accounts.checks import InvalidInput
from bot.channels.rest import (
    MAX_BODY_BYTES,
    BadRequest,
    RestAccess,
    RestSetupError,
    ValidatingRestInput,
    parse_request_body,
)
from tests.servers import free_port, serving_blueprint


def body(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_a_valid_request_is_parsed_into_a_rest_conversation():
    incoming = parse_request_body(body({"sender": "u-1", "message": "忘记密码", "metadata": {"a": 1}}))
    assert (incoming.sender_id, incoming.text, incoming.metadata) == ("rest:u-1", "忘记密码", {"a": 1})


def test_numeric_senders_are_accepted_as_text():
    assert parse_request_body(body({"sender": 42, "message": "hi"})).sender_id == "rest:42"


@pytest.mark.parametrize("sender", ["telegram:4242", "widget:" + "ab" * 16, "ab" * 16, "rest:x", "account:x"])
def test_a_sender_naming_another_channel_stays_a_rest_conversation(sender):
    assert parse_request_body(body({"sender": sender, "message": "hi"})).sender_id == f"rest:{sender}"


def test_the_longest_sender_still_fits_the_stores():
    longest = "a" * (128 - len("rest:"))
    assert len(parse_request_body(body({"sender": longest, "message": "hi"})).sender_id) == 128
    with pytest.raises(BadRequest, match="1-123"):
        parse_request_body(body({"sender": longest + "a", "message": "hi"}))


def test_an_empty_message_is_passed_on_for_the_assistant_to_answer():
    assert parse_request_body(body({"sender": "u", "message": ""})).text == ""


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe\x00garbage", "not valid UTF-8 JSON"),
        (b"", "not valid UTF-8 JSON"),
        (body(["sender", "message"]), "JSON object"),
        (body({"message": "hi"}), '"sender" is required'),
        (body({"sender": "", "message": "hi"}), '"sender" is required'),
        (body({"sender": "a b; drop table", "message": "hi"}), '"sender" is required'),
        (body({"sender": "u-1\n", "message": "hi"}), '"sender" is required'),
        (body({"sender": True, "message": "hi"}), '"sender" is required'),
        (body({"sender": "u"}), '"message" is required'),
        (body({"sender": "u", "message": 12}), '"message" must be a string'),
        (body({"sender": "u", "message": "hi", "metadata": "x"}), '"metadata" must be'),
        (b" " * (MAX_BODY_BYTES + 1), "larger than"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(raw, reason):
    with pytest.raises(BadRequest, match=reason):
        parse_request_body(raw)


# -- who may use the channel ---------------------------------------------------------

TOKEN = "rest-token-for-the-unit-tests-0123456789"


@pytest.mark.parametrize(
    "headers, peer, allowed",
    [
        ({"authorization": f"Bearer {TOKEN}"}, "203.0.113.7", True),
        ({"authorization": f"bearer {TOKEN}"}, "203.0.113.7", True),  # the scheme is case-insensitive
        ({"authorization": f"Bearer {TOKEN}x"}, "203.0.113.7", False),
        ({"authorization": f"Bearer {TOKEN[:-1]}"}, "203.0.113.7", False),
        ({"authorization": TOKEN}, "203.0.113.7", False),  # no scheme
        ({"authorization": f"Basic {TOKEN}"}, "203.0.113.7", False),
        ({"authorization": "Bearer "}, "203.0.113.7", False),
        ({}, "203.0.113.7", False),
        ({}, "127.0.0.1", False),  # a local program needs the token too, unless opened
    ],
)
def test_the_token_is_required(headers, peer, allowed):
    assert RestAccess(token=TOKEN).allows(headers, peer) is allowed


def test_without_a_token_nobody_gets_in():
    closed = RestAccess()
    assert not closed.allows({}, "127.0.0.1")
    assert not closed.allows({"authorization": "Bearer "}, "127.0.0.1")
    assert not closed.allows({"authorization": f"Bearer {TOKEN}"}, "127.0.0.1")
    assert "refuses every request" in closed.warnings()[0]


@pytest.mark.parametrize(
    "headers, peer, allowed",
    [
        ({}, "127.0.0.1", True),
        ({}, "::1", True),
        ({}, "::ffff:127.0.0.1", True),
        ({}, "192.168.1.20", False),  # another machine: the token is needed
        ({}, "", False),
        ({"x-forwarded-for": "198.51.100.1"}, "127.0.0.1", False),  # a proxy on this machine forwarded it
        ({"forwarded": "for=198.51.100.1"}, "127.0.0.1", False),
        ({"x-real-ip": "198.51.100.1"}, "127.0.0.1", False),
        ({"authorization": f"Bearer {TOKEN}"}, "192.168.1.20", True),
        ({"authorization": "Bearer wrong"}, "127.0.0.1", False),  # a wrong token is always refused
    ],
)
def test_opened_locally_only_this_machine_goes_without_the_token(headers, peer, allowed):
    assert RestAccess(token=TOKEN, open_locally=True).allows(headers, peer) is allowed


def test_settings_are_read_and_checked():
    access = RestAccess.from_config({"REST_API_TOKEN": f" {TOKEN} ", "REST_OPEN_LOCALLY": "TRUE"})
    assert access == RestAccess(token=TOKEN, open_locally=True)
    assert RestAccess.from_config({}) == RestAccess(token="", open_locally=False)
    with pytest.raises(RestSetupError, match="REST_OPEN_LOCALLY"):
        RestAccess.from_config({"REST_OPEN_LOCALLY": "sometimes"})
    for weak in ("short", "x" * 31, "with space " + "x" * 30, "密码" * 20):
        with pytest.raises(RestSetupError, match="at least 32"):
            RestAccess(token=weak).check()
    RestAccess(token=TOKEN).check()
    assert RestAccess(token=TOKEN).warnings() == []


def test_opening_locally_is_flagged_even_with_a_token():
    # The production check: REST_OPEN_LOCALLY=true is always reported, token or not.
    for access in (RestAccess(open_locally=True), RestAccess(token=TOKEN, open_locally=True)):
        [warning] = access.warnings()
        assert "REST_OPEN_LOCALLY=true" in warning and "production" in warning


def test_a_weak_token_stops_the_channel_at_startup(monkeypatch):
    monkeypatch.setenv("REST_API_TOKEN", "letmein")
    with pytest.raises(RestSetupError):
        ValidatingRestInput.from_credentials(None)
    monkeypatch.setenv("REST_API_TOKEN", TOKEN)
    assert ValidatingRestInput.from_credentials(None).access == RestAccess(token=TOKEN)


# -- the channel over HTTP, Rasa replaced by a recorder --------------------------------


class Recorder:
    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")


@pytest.fixture
def stores(services):
    """The process's services on a throw-away store (tests/conftest.py)."""
    return services


@asynccontextmanager
async def served(access: RestAccess, rasa: Recorder) -> AsyncIterator[str]:
    port = free_port()
    async with serving_blueprint(ValidatingRestInput(access).blueprint(rasa), "/webhooks/rest", "rest_test", port):
        yield f"http://127.0.0.1:{port}/webhooks/rest"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.asyncio
async def test_over_http_the_token_opens_the_channel_and_the_sender_is_prefixed(stores):
    rasa = Recorder()
    async with served(RestAccess(token=TOKEN), rasa) as base, httpx.AsyncClient() as client:
        message = {"sender": "telegram:4242", "message": "你好"}
        refused = await client.post(f"{base}/webhook", json=message)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert "REST_API_TOKEN" in refused.json()["error"]
        wrong = await client.post(f"{base}/webhook", json=message, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert rasa.messages == []  # nothing refused reached the assistant

        answered = await client.post(f"{base}/webhook", json=message, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answered.status_code == 200 and answered.json()[0]["text"] == "收到：你好"
        [received] = rasa.messages
        assert (received.sender_id, received.input_channel) == ("rest:telegram:4242", "rest")
        assert (await client.get(f"{base}/")).status_code == 200  # the health check stays open


@pytest.mark.asyncio
async def test_over_http_the_upload_needs_the_token_and_belongs_to_the_rest_conversation(stores):
    async with served(RestAccess(token=TOKEN), Recorder()) as base, httpx.AsyncClient() as client:
        form = {"sender": "telegram:4242"}
        files = {"file": ("front.png", png(), "image/png")}
        refused = await client.post(f"{base}/upload", data=form, files=files)
        assert refused.status_code == 401
        stored = await client.post(f"{base}/upload", data=form, files=files,
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert stored.status_code == 200, stored.text
        upload = stores.accounts.upload_of_sender(stored.json()["upload_id"], "rest:telegram:4242")
        assert upload.size == len(png())
        with pytest.raises(InvalidInput):
            stores.accounts.upload_of_sender(stored.json()["upload_id"], "telegram:4242")
        bad = await client.post(f"{base}/upload", data={"sender": "a b"}, files=files,
                                headers={"Authorization": f"Bearer {TOKEN}"})
        assert bad.status_code == 400 and '"sender"' in bad.json()["error"]


@pytest.mark.asyncio
async def test_over_http_opened_locally_a_local_program_needs_no_token_but_a_proxied_request_does(stores):
    rasa = Recorder()
    async with served(RestAccess(open_locally=True), rasa) as base, httpx.AsyncClient() as client:
        message = {"sender": "dev", "message": "你好"}
        assert (await client.post(f"{base}/webhook", json=message)).status_code == 200
        proxied = await client.post(f"{base}/webhook", json=message, headers={"X-Forwarded-For": "198.51.100.1"})
        assert proxied.status_code == 401
        assert [m.sender_id for m in rasa.messages] == ["rest:dev"]


@pytest.mark.asyncio
async def test_over_http_the_client_address_is_the_channels_to_say(stores, monkeypatch):
    """A client cannot pick the address its lookups and SMS count against (docs/security.md section 8)."""
    rasa = Recorder()
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "198.51.100.23"}
    message = {"sender": "u-1", "message": "你好", "metadata": {"client_address": "203.0.113.99", "a": 1}}
    async with served(RestAccess(token=TOKEN), rasa) as base, httpx.AsyncClient() as client:
        monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
        assert (await client.post(f"{base}/webhook", json=message, headers=headers)).status_code == 200
        monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
        assert (await client.post(f"{base}/webhook", json=message, headers=headers)).status_code == 200
    direct, proxied = rasa.messages
    assert direct.metadata == {"client_address": "127.0.0.1", "a": 1}  # the header of an untrusted peer is ignored
    assert proxied.metadata == {"client_address": "198.51.100.23", "a": 1}
