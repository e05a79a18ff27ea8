"""Screenshots of the web chat widget on the demo page, mid-conversation, at
desktop (1280×800) and phone (375×667) sizes.

    python -m tests.channels.widget_screenshots OUTDIR [--url http://127.0.0.1:5005]

Without ``--url`` it starts its own assistant (action + Rasa servers) on a
throw-away SQLite store with the demo accounts. Writes
``OUTDIR/widget-desktop.png`` and ``OUTDIR/widget-phone.png``; the copies in
``docs/screenshots/`` are made with ``OUTDIR=docs/screenshots``.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from playwright.sync_api import expect

from bot.accounts.service import AccountService
from bot.config import PROJECT_ROOT
from bot.launcher import start_assistant
from bot.store import Database
from tests.browser import DESKTOP, PHONE, REPLY_TIMEOUT_MS, Widget, chromium, demo_url
from tests.servers import free_port
from tests.widget_images import write_test_files

# bot/accounts/demo_accounts.yml: 实名认证失败, photos for a manual review
DEMO_LOGIN = "wangfang88"
DEMO_PHONE = "13700137002"


@contextlib.contextmanager
def own_assistant(workdir: Path) -> Iterator[tuple]:
    database_url = f"sqlite:///{workdir / 'screenshots.db'}"
    subprocess.run([sys.executable, "-m", "bot", "db", "seed-demo", "--database-url", database_url],
                   cwd=PROJECT_ROOT, check=True, capture_output=True)
    overrides = {"RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()), "DATABASE_URL": database_url}
    with open(workdir / "servers.log", "w", encoding="utf-8") as log:
        running = start_assistant(overrides, log=log)
    try:
        yield running.rasa_url, database_url
    finally:
        running.stop()


def desktop(browser, rasa_url: str, database_url: str, files: dict, out: Path) -> Path:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", device_scale_factor=1)
    page = context.new_page()
    widget = Widget(page).goto(demo_url(rasa_url)).open()
    service = AccountService(Database(database_url))
    widget.say("实名认证一直失败怎么办")
    widget.expect_bot("登录名")
    widget.say(DEMO_LOGIN)
    widget.expect_bot("验证码已发到")
    code = re.search(r"\d{6}", service.outbox(phone=DEMO_PHONE)[0].text).group(0)
    widget.say(code)
    widget.expect_bot("正面")
    widget.choose_file(files["front"])
    widget.expect_bot("反面")
    expect(widget.typing).to_be_hidden()
    widget.input.fill("反面照片马上传")
    path = out / "widget-desktop.png"
    page.screenshot(path=str(path))
    service.db.dispose()
    context.close()
    return path


def phone(browser, rasa_url: str, out: Path) -> Path:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()
    widget = Widget(page).goto(demo_url(rasa_url)).open()
    widget.say("手机验证码多久有效")
    widget.expect_bot("5 分钟内有效")
    widget.say("你好")
    expect(widget.quick_replies.first).to_be_visible()
    expect(widget.typing).to_be_hidden()
    widget.input.blur()
    path = out / "widget-phone.png"
    page.screenshot(path=str(path))
    context.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--url", help="a running assistant (its demo accounts must be loaded)")
    parser.add_argument("--database-url", help="its account store, to read the SMS code (with --url)")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=REPLY_TIMEOUT_MS)
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        workdir = Path(scratch)
        if args.url:
            rasa_url, database_url = args.url.rstrip("/"), args.database_url
            if not database_url:
                parser.error("--url needs --database-url")
        else:
            rasa_url, database_url = stack.enter_context(own_assistant(workdir))
        files = write_test_files(workdir / "files")
        with chromium() as browser:
            for path in (desktop(browser, rasa_url, database_url, files, args.outdir),
                         phone(browser, rasa_url, args.outdir)):
                print(path)


if __name__ == "__main__":
    main()
