"""One message per refusal: a photo over MAX_UPLOAD_BYTES, an empty file and a
file that is no photo are refused in the same words by the account service,
the Telegram channel and the widget's own check before uploading (which gets
the words from the server), and the sizes in them come from the setting."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.accounts.checks import InvalidInput
from bot.accounts.uploads import (
    EMPTY_FILE,
    check_image,
    megabytes,
    not_a_photo,
    photo_too_large,
    upload_refusals,
)

ROOT = Path(__file__).resolve().parents[2]
MB = 1048576
SOURCES = [path for path in sorted((ROOT / "bot").rglob("*")) + sorted((ROOT / "actions").glob("*.py"))
           if path.suffix in (".py", ".js", ".mako", ".html") and "node_modules" not in path.parts]


@pytest.mark.parametrize("size, shown", [(MB, "1"), (3 * MB, "3"), (MB * 3 // 2, "1.5"), (5 * MB + 300, "5.0")])
def test_sizes_are_shown_whole_when_whole_else_with_one_decimal(size, shown):
    assert megabytes(size) == shown


def test_the_too_large_refusal_is_formatted_from_the_limit():
    assert photo_too_large(5 * MB + 300, MB) == "照片太大：5.0 MB，最大 1 MB。请压缩后重新选择。"
    assert photo_too_large(2 * MB, MB * 3 // 2) == "照片太大：2 MB，最大 1.5 MB。请压缩后重新选择。"


def test_the_service_refuses_in_those_words():
    with pytest.raises(InvalidInput) as too_large:
        check_image(b"\xff\xd8\xff" + b"\0" * (2 * MB), MB)
    assert str(too_large.value) == photo_too_large(2 * MB + 3, MB)
    with pytest.raises(InvalidInput) as empty:
        check_image(b"", MB)
    assert str(empty.value) == EMPTY_FILE
    with pytest.raises(InvalidInput) as text:
        check_image(b"hello", MB)
    assert str(text.value) == not_a_photo()


def test_the_widget_gets_the_servers_words():
    refusals = upload_refusals(MB * 3 // 2)
    assert refusals["too_large"].replace("{size}", "2") == photo_too_large(2 * MB, MB * 3 // 2)
    assert refusals["empty"] == EMPTY_FILE and refusals["not_a_photo"] == not_a_photo()


@pytest.mark.parametrize("words", ["照片太大", "MB 的上限", "文件是空的", "JPG 或 PNG 格式"])
def test_each_refusal_is_written_once(words):
    holders = [str(path.relative_to(ROOT)) for path in SOURCES if words in path.read_text(encoding="utf-8")]
    assert holders in ([], ["bot/accounts/uploads.py"]), holders


def test_the_widget_script_writes_no_size_limit_of_its_own():
    script = (ROOT / "bot" / "widget" / "widget.js").read_text(encoding="utf-8")
    assert re.findall(r'"[^"\n]*\d\s*MB[^"\n]*"', script) == []
