"""The upload endpoints' refusals in the conversation's language (issue 15): the form's optional
``language`` field picks it; without it the refusal is the Chinese one, as before.  A body too
large to read (413) is refused in every language, Chinese first: its form is never read.
Both routes: ``/webhooks/rest/upload`` and the widget's ``/webhooks/account/upload``."""
import asyncio
import json
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from bot import config
from bot.accounts.uploads import megabytes
from bot.language import tr, tr_every
from bot.web.account import AccountWebInput
from tests.accounts.factories import photo
from tests.channels.test_rest_channel import TOKEN, Recorder, RestAccess, served, stores  # noqa: F401
from tests.servers import free_port, serving_blueprint

WIDGET_SESSION = "a" * 32


@pytest.mark.asyncio
async def test_a_refused_upload_says_why_in_the_language_of_the_form(stores):  # noqa: F811
    async with served(RestAccess(token=TOKEN), Recorder()) as base, httpx.AsyncClient() as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        files = {"file": ("front.jpg", b"%PDF-1.7 not a photo", "image/jpeg")}
        chinese = await client.post(f"{base}/upload", data={"sender": "me"}, files=files, headers=headers)
        english = await client.post(f"{base}/upload", data={"sender": "me", "language": "en"}, files=files,
                                    headers=headers)
        empty = await client.post(f"{base}/upload", data={"sender": "me", "language": "en-GB"},
                                  files={"file": ("front.jpg", b"", "image/jpeg")}, headers=headers)
    assert chinese.status_code == english.status_code == empty.status_code == 400
    assert chinese.json()["error"].startswith("这个文件实际上是PDF 文档，")
    assert english.json()["error"].startswith("This file is actually a PDF document.")
    assert empty.json()["error"] == tr("uploads.empty", "en")


@pytest.mark.asyncio
@pytest.mark.parametrize("forged", ["x" * 10_000, "en'; DROP TABLE uploads;--", "../../en"])
async def test_a_forged_language_field_gets_the_chinese_refusal_and_nothing_else(stores, forged):  # noqa: F811
    async with served(RestAccess(token=TOKEN), Recorder()) as base, httpx.AsyncClient() as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        files = {"file": ("front.jpg", b"%PDF-1.7 not a photo", "image/jpeg")}
        answer = await client.post(f"{base}/upload", data={"sender": "me", "language": forged}, files=files,
                                   headers=headers)
        unauthenticated = await client.post(f"{base}/upload", data={"sender": "me", "language": "en"}, files=files)
    assert answer.status_code == 400 and answer.json()["error"].startswith("这个文件实际上是PDF 文档，")
    assert unauthenticated.status_code == 401


async def announced_too_large(url: str, headers: dict = None) -> tuple:
    """Posts a multipart request whose Content-Length passes the server's limit, sending no body (as
    a browser's too-large upload starts); the status and JSON the server answers from the header."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             "Content-Type: multipart/form-data; boundary=x", f"Content-Length: {config.max_request_bytes() + 1}",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.asyncio
async def test_the_rest_upload_refusals_follow_the_form_and_a_body_too_large_speaks_every_language(stores):  # noqa: F811
    limit = megabytes(config.get_int("MAX_UPLOAD_BYTES"))
    async with served(RestAccess(token=TOKEN), Recorder()) as base, httpx.AsyncClient() as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        no_file = {
            language: await client.post(f"{base}/upload", data={"sender": "me", **fields}, headers=headers)
            for language, fields in (("zh", {}), ("en", {"language": "en"}))
        }
        status, large = await announced_too_large(f"{base}/upload", headers)
    assert no_file["zh"].status_code == no_file["en"].status_code == 400
    assert no_file["zh"].json()["error"] == "请选择要上传的照片（表单字段 file）。"
    assert no_file["en"].json()["error"] == tr("channels.upload_no_file", "en")
    assert status == 413
    chinese, english = large["error"].split("\n")
    assert chinese == f"文件太大，没有接收：照片最大 {limit} MB。请压缩后再上传。"  # as before, first
    assert english == tr("channels.upload_too_large", "en", limit=limit) and f"at most {limit} MB" in english


async def on_new_message(_message) -> None:
    raise AssertionError("the account channel hands nothing to Rasa")


@asynccontextmanager
async def widget_upload_route():
    port = free_port()
    async with serving_blueprint(AccountWebInput().blueprint(on_new_message), "/webhooks/account", "upload_lang",
                                 port):
        yield f"http://127.0.0.1:{port}/webhooks/account/upload"


@pytest.mark.asyncio
async def test_every_refusal_of_the_widget_upload_speaks_the_form_language(stores, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "https://fuwu.example.gov.cn")
    other_site = {"Origin": "https://elsewhere.example.com"}
    photo_file = {"file": ("front.jpg", photo(), "image/jpeg")}
    answers = {}
    async with widget_upload_route() as url, httpx.AsyncClient() as client:
        for language, fields in (("zh", {}), ("en", {"language": "en-GB"})):
            answers[language] = {
                "no_file": await client.post(url, data={"sender": WIDGET_SESSION, **fields}),
                "bad_sender": await client.post(url, data={"sender": "not a session", **fields}, files=photo_file),
                "other_site": await client.post(url, data={"sender": WIDGET_SESSION, **fields}, files=photo_file,
                                                headers=other_site),
                "not_a_photo": await client.post(url, data={"sender": WIDGET_SESSION, **fields},
                                                 files={"file": ("front.jpg", b"%PDF-1.7 x", "image/jpeg")}),
            }
        status, large = await announced_too_large(url)
        accepted = await client.post(url, data={"sender": WIDGET_SESSION, "language": "en"}, files=photo_file)
    keys = {"no_file": "channels.upload_no_file", "bad_sender": "channels.upload_widget_sender",
            "other_site": "channels.upload_site_not_allowed"}
    for language in ("zh", "en"):
        for name, key in keys.items():
            assert answers[language][name].json() == {"error": tr(key, language)}, (language, name)
        assert answers[language]["not_a_photo"].status_code == 400
    assert answers["zh"]["other_site"].status_code == answers["en"]["other_site"].status_code == 403
    assert answers["zh"]["bad_sender"].status_code == answers["en"]["no_file"].status_code == 400
    assert answers["zh"]["other_site"].json()["error"] == "此网站未获准使用账号助手。"  # the Chinese as before
    assert answers["en"]["not_a_photo"].json()["error"].startswith("This file is actually a PDF document.")
    assert status == 413
    assert large["error"] == tr_every("channels.upload_too_large",
                                             limit=megabytes(config.get_int("MAX_UPLOAD_BYTES")))
    assert accepted.status_code == 200 and accepted.json()["upload_id"]
