"""The upload endpoint's refusal in the conversation's language (issue 15): the form's optional
``language`` field picks it; without it the refusal is the Chinese one, as before."""
import httpx
import pytest

from bot.language import tr
from tests.channels.test_rest_channel import TOKEN, Recorder, RestAccess, served, stores  # noqa: F401


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
