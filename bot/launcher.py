"""Starts the action server and the Rasa server, and stops them together.

``make run`` and the integration tests both start the assistant through
``start_assistant``, so the tests exercise exactly what users run.

The Rasa server outlives its action server: when the action server exits,
the Rasa server keeps serving (users get the busy message,
bot/channels/turns.py) and :meth:`RunningAssistant.wait` keeps waiting;
:meth:`RunningAssistant.restart_action_server` starts it again (restarting
is left to a supervisor: docs/operations.md).  :meth:`RunningAssistant.stop`
stops the Rasa server first (SIGTERM: it drains its turns in flight, which
may still call actions), then the action server.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, List, Mapping, Optional, Sequence, Set

from bot import config
from bot.store import upgrade as upgrade_store

STARTUP_TIMEOUT_SECONDS = 180.0
# Sanic's GRACEFUL_SHUTDOWN_TIMEOUT (its default): after the drain, how long
# it lets open connections (widgets' websockets) finish before closing them.
SANIC_GRACE_SECONDS = 15.0


class StartupError(RuntimeError):
    pass


@dataclass
class RunningAssistant:
    rasa_url: str
    actions_url: str
    processes: List[subprocess.Popen[bytes]] = field(default_factory=list)  # [action server, Rasa server]
    environ: Dict[str, str] = field(default_factory=dict)

    @property
    def rest_webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    @property
    def action_server(self) -> subprocess.Popen[bytes]:
        return self.processes[0]

    @property
    def rasa_server(self) -> subprocess.Popen[bytes]:
        return self.processes[-1]

    def stop(self) -> None:
        """The Rasa server first (it may still call actions while draining), then the rest."""
        grace = float(self.environ.get("SHUTDOWN_GRACE_SECONDS") or config.get_int("SHUTDOWN_GRACE_SECONDS"))
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace + SANIC_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def wait(self, on_action_server_exit: Optional[Callable[[int], None]] = None) -> int:
        """Blocks until the Rasa server exits; returns its exit code.  An exit of
        the action server is reported to ``on_action_server_exit`` (once)."""
        reported = False
        while True:
            code = self.rasa_server.poll()
            if code is not None:
                return code
            action_code = self.action_server.poll()
            if action_code is not None and not reported:
                reported = True
                if on_action_server_exit is not None:
                    on_action_server_exit(action_code)
            time.sleep(0.5)

    def restart_action_server(self, log: Optional[IO] = None, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Starts the action server again (after it exited or was stopped), on the same port and
        token; its output goes to ``log`` (default: this process's)."""
        if self.action_server.poll() is None:
            self.action_server.send_signal(signal.SIGTERM)
            self.action_server.wait(timeout=SANIC_GRACE_SECONDS + 5)
        self.processes[0] = _spawn([sys.executable, "-m", "bot.action_server"], self.environ, log)
        _wait_for(self, {f"{self.actions_url}/health"}, timeout)


def _spawn(args: Sequence[str], environ: Dict[str, str], log: Optional[IO]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=config.PROJECT_ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT if log else None
    )


def _venv_executable(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _prepare_environment(overrides: Optional[Mapping[str, str]]) -> Dict[str, str]:
    environ = dict(os.environ)
    environ.update(overrides or {})
    if not environ.get("ACTION_SERVER_TOKEN"):
        # Both servers are started here, so a token for this start is enough.
        environ["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(32)
    # The Rasa server calls the action server started beside it, on this start's
    # ACTIONS_PORT, whatever ACTION_SERVER_URL the environment carries (`make`
    # exports the one of the default port).
    environ["ACTION_SERVER_URL"] = ""
    environ.update(config.rasa_environment(environ))
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(config.PROJECT_ROOT), environ.get("PYTHONPATH", "")]))
    sqlite_prefix = "sqlite:///"
    if environ["DATABASE_URL"].startswith(sqlite_prefix):
        Path(environ["DATABASE_URL"][len(sqlite_prefix) :]).parent.mkdir(parents=True, exist_ok=True)
    return environ


def start_assistant(
    overrides: Optional[Mapping[str, str]] = None,
    log: Optional[IO] = None,
    timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> RunningAssistant:
    """Starts both servers and returns once both answer over HTTP."""
    environ = _prepare_environment(overrides)
    problems = config.secret_problems(environ)
    if problems:
        raise StartupError(" ".join(problems))
    host = environ["BIND_HOST"]
    reachable_host = config.client_host(host)
    model_path = config.PROJECT_ROOT / environ["MODEL_PATH"]
    if not model_path.exists():
        raise StartupError(f"no trained model at {model_path}; run `make train` first")
    upgrade_store(environ["DATABASE_URL"])  # the schema of every table (bot/store/migrations)
    assistant = RunningAssistant(
        rasa_url=f"http://{reachable_host}:{environ['RASA_PORT']}",
        actions_url=f"http://{reachable_host}:{environ['ACTIONS_PORT']}",
        environ=environ,
    )

    # On BIND_HOST:ACTIONS_PORT, with the token (bot/action_server.py).
    assistant.processes.append(_spawn([sys.executable, "-m", "bot.action_server"], environ, log))
    assistant.processes.append(
        _spawn(
            [
                _venv_executable("rasa"),
                "run",
                "--model",
                str(model_path),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--interface",
                host,
                "--port",
                environ["RASA_PORT"],
            ],
            environ,
            log,
        )
    )
    try:
        _wait_until_ready(assistant, timeout)
    except BaseException:
        assistant.stop()
        raise
    return assistant


def _wait_until_ready(assistant: RunningAssistant, timeout: float) -> None:
    _wait_for(assistant, {f"{assistant.actions_url}/health", f"{assistant.rasa_url}/webhooks/health/live"}, timeout)


def _wait_for(assistant: RunningAssistant, urls: Set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(urls)
    while pending:
        for process in assistant.processes:
            if process.poll() is not None:
                raise StartupError(f"{_shown_command(process)} exited with code {process.returncode}")
        for url in list(pending):
            if answers(url):
                pending.discard(url)
        if time.monotonic() > deadline:
            raise StartupError(f"not ready after {timeout:.0f} s: {', '.join(sorted(pending))}")
        time.sleep(0.5)


def _shown_command(process: subprocess.Popen[bytes]) -> str:
    """The program and its first two arguments (``start_assistant`` passes a list)."""
    args = process.args
    if isinstance(args, (list, tuple)):
        return " ".join(str(arg) for arg in args[:3])
    return str(args)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False
