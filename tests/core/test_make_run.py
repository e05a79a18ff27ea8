"""`make run`'s command: it prints where to reach the assistant, serves, keeps
the Rasa server up when the action server dies, and stops both servers on Ctrl-C."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.chat import send
from bot.channels.busy import BUSY_TEXT
from tests.servers import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _child_running(parent: int, command_part: str) -> int:
    """The pid of ``parent``'s child whose command line contains ``command_part``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == parent and command_part in command:
            return int(stat.parent.name)
    raise AssertionError(f"no child of {parent} runs {command_part}")


def test_run_prints_the_addresses_serves_and_stops_on_ctrl_c(tmp_path):
    environ = dict(
        os.environ,
        TELEGRAM_BOT_TOKEN="",
        RASA_PORT=str(free_port()),
        ACTIONS_PORT=str(free_port()),
        DATABASE_URL=f"sqlite:///{tmp_path / 'tracker.db'}",
        PYTHONUNBUFFERED="1",
        REST_API_TOKEN="",
        REST_OPEN_LOCALLY="true",  # what the Makefile's `run` target sets unless told otherwise
    )
    assert "REST_OPEN_LOCALLY=$${REST_OPEN_LOCALLY:-true} $(PY) -m bot run" in (ROOT / "Makefile").read_text()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        # As in a terminal: a suite started in the background of a shell without job
        # control inherits an ignored SIGINT, and Python then never raises KeyboardInterrupt.
        preexec_fn=_default_interrupt,
    )
    try:
        printed = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            printed.append(line)
            if "按 Ctrl-C 停止" in line or process.poll() is not None:
                break
        output = "".join(printed)
        webhook = re.search(r"POST (http://\S+/webhooks/rest/webhook)", output).group(1)
        assert f":{environ['RASA_PORT']}/" in webhook
        demo = re.search(r"(http://\S+/webhooks/widget/demo)", output).group(1)
        with urllib.request.urlopen(demo, timeout=10) as page:
            assert '/webhooks/widget/widget.js' in page.read().decode("utf-8")
        assert "Telegram" in output and "TELEGRAM_BOT_TOKEN" in output  # not configured: says how
        assert "REST_OPEN_LOCALLY=true" in output and "仅供本地开发" in output  # flagged, not silent
        assert send(webhook, "make-run", "你好")[0]["buttons"]  # from this machine: no token needed
        # The action server dies: the Rasa server keeps serving (docs/operations.md).
        os.kill(_child_running(process.pid, "bot.action_server"), signal.SIGKILL)
        time.sleep(2)
        assert process.poll() is None
        assert send(webhook, "make-run", "忘记密码")[-1]["text"] == BUSY_TEXT
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    # Both servers are gone: nothing accepts connections on either port any more.
    for port in (environ["RASA_PORT"], environ["ACTIONS_PORT"]):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
