"""Starts the action server and the Rasa server, and stops them together.

``make run`` and the integration tests both start the assistant through
``start_assistant``, so the tests exercise exactly what users run.
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
from typing import IO, Dict, List, Mapping, Optional, Sequence

from bot import config
from bot.store import upgrade as upgrade_store

STARTUP_TIMEOUT_SECONDS = 180.0


class StartupError(RuntimeError):
    pass


@dataclass
class RunningAssistant:
    rasa_url: str
    actions_url: str
    processes: List[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def rest_webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def wait(self) -> int:
        """Blocks until one server exits; returns its exit code."""
        while True:
            for process in self.processes:
                code = process.poll()
                if code is not None:
                    return code
            time.sleep(0.5)


def _venv_executable(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _prepare_environment(overrides: Optional[Mapping[str, str]]) -> Dict[str, str]:
    environ = dict(os.environ)
    environ.update(overrides or {})
    if not environ.get("ACTION_SERVER_TOKEN"):
        # Both servers are started here, so a token for this start is enough.
        environ["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(32)
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
    )

    def spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            args, cwd=config.PROJECT_ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT if log else None
        )

    # On BIND_HOST:ACTIONS_PORT, with the token (bot/action_server.py).
    assistant.processes.append(spawn([sys.executable, "-m", "bot.action_server"]))
    assistant.processes.append(
        spawn(
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
            ]
        )
    )
    try:
        _wait_until_ready(assistant, timeout)
    except BaseException:
        assistant.stop()
        raise
    return assistant


def _wait_until_ready(assistant: RunningAssistant, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {f"{assistant.actions_url}/health", f"{assistant.rasa_url}/webhooks/rest/"}
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
