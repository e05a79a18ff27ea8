"""The real action and Rasa servers (``bot.launcher``, as ``make run`` starts them)
for the integration tests of every folder: ``AssistantProcess`` (restartable on the
same stores) and ``assistant_on_sqlite``.  The session-wide ``assistant`` fixture
built on them is in tests/conftest.py (one pair of servers per run, shared by every
folder; tests/security/conftest.py has its own with the secrets set).  A test
module that uses them is marked ``integration`` (tests/core/test_test_layout.py)."""
import json
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

from bot.launcher import RunningAssistant, start_assistant
from tests.servers import free_port

RESULTS = Path(__file__).resolve().parents[1] / "results"
# The test servers' REST channel is closed as in production: clients send this token.
REST_TOKEN = "integration-tests-rest-token-0123456789abcdef"


class AssistantProcess:
    """The real action and Rasa servers, restartable on the same stores; the
    REST channel wants ``rest_token`` unless the settings say otherwise."""

    def __init__(self, log_path: Path, **settings: str) -> None:
        self.overrides: Dict[str, str] = {
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "REST_API_TOKEN": REST_TOKEN,
            "REST_OPEN_LOCALLY": "false",
            **settings,
        }
        self.rest_token = self.overrides["REST_API_TOKEN"]
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


@contextmanager
def assistant_on_sqlite(tmp_path_factory, log_name: str, **settings: str) -> Iterator[AssistantProcess]:
    """Both servers on a fresh SQLite store, their output in results/<log_name>; stopped on exit."""
    RESULTS.mkdir(exist_ok=True)
    database = tmp_path_factory.mktemp("stores") / "tracker.db"
    process = AssistantProcess(RESULTS / log_name, DATABASE_URL=f"sqlite:///{database}", **settings)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def post_rest_message(webhook: str, token: str, sender: str, message: str, timeout: float = 60) -> Tuple[int, Any]:
    """One message to the REST channel with its bearer token: (status, the JSON body), 503s included."""
    request = urllib.request.Request(
        webhook,
        data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def reply_texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [reply.get("text") or "" for reply in replies]
