import socket
from pathlib import Path

import pytest

from bot.launcher import RunningAssistant, start_assistant

RESULTS = Path(__file__).resolve().parents[2] / "results"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AssistantProcess:
    """The real action and Rasa servers, restartable on the same stores."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.overrides = {
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "DATABASE_URL": database_url,
        }
        self.log_path = log_path
        self.running: RunningAssistant = None  # type: ignore[assignment]

    def start(self) -> RunningAssistant:
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.running = start_assistant(self.overrides, log=log)
        return self.running

    def stop(self) -> None:
        if self.running:
            self.running.stop()

    def restart(self) -> RunningAssistant:
        self.stop()
        return self.start()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    RESULTS.mkdir(exist_ok=True)
    database = tmp_path_factory.mktemp("stores") / "tracker.db"
    process = AssistantProcess(f"sqlite:///{database}", RESULTS / "integration-servers.log")
    process.start()
    yield process
    process.stop()
