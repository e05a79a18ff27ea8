"""The action server's entry point (bot/action_server.py) and the secrets it
needs (bot/config.py); the real server is attacked in tests/security/."""
import pytest

from bot import action_server, config, launcher

TOKEN = "t" * 43


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"  Bearer {TOKEN} "])
def test_the_token_in_a_bearer_header_is_let_through(authorization):
    assert action_server.authorised("/webhook", authorization, TOKEN)


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", TOKEN,
    "Bearer 令牌",
])
def test_anything_else_is_refused(authorization):
    assert not action_server.authorised("/webhook", authorization, TOKEN)
    assert not action_server.authorised("/actions", authorization, TOKEN)


def test_an_empty_token_lets_nobody_in():
    assert not action_server.authorised("/webhook", "Bearer ", "")
    assert not action_server.authorised("/webhook", "Bearer", "")


def test_only_health_and_readiness_are_open():
    assert action_server.OPEN_PATHS == {"/health", "/health/ready"}
    assert action_server.authorised("/health", None, TOKEN)
    assert action_server.authorised("/health/ready", None, TOKEN)
    assert not action_server.authorised("/health/", None, TOKEN)
    assert not action_server.authorised("/health/ready/", None, TOKEN)


def test_the_action_server_refuses_to_start_without_a_token(monkeypatch, capsys):
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "")
    assert action_server.main() == 2
    assert "ACTION_SERVER_TOKEN is empty" in capsys.readouterr().err


def test_secrets_must_be_long_enough():
    assert config.secret_problems({"ACTION_SERVER_TOKEN": TOKEN}) == []
    problems = config.secret_problems({
        "ACTION_SERVER_TOKEN": "short", "VERIFICATION_SIGNING_KEY": "k" * 31, "IDENTITY_TOKEN_SECRET": "s" * 8,
    })
    assert [problem.split()[0] for problem in problems] == [
        "ACTION_SERVER_TOKEN", "VERIFICATION_SIGNING_KEY", "IDENTITY_TOKEN_SECRET"]
    assert all("at least 32" in problem for problem in problems)


def test_the_launcher_makes_a_token_for_each_start_unless_one_is_set(monkeypatch):
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    first = launcher._prepare_environment({})["ACTION_SERVER_TOKEN"]
    second = launcher._prepare_environment({})["ACTION_SERVER_TOKEN"]
    assert len(first) >= config.MIN_SECRET_LENGTH and first != second
    assert launcher._prepare_environment({"ACTION_SERVER_TOKEN": TOKEN})["ACTION_SERVER_TOKEN"] == TOKEN


def test_the_launcher_refuses_short_secrets(monkeypatch, tmp_path):
    with pytest.raises(launcher.StartupError, match="IDENTITY_TOKEN_SECRET has 6 characters"):
        launcher.start_assistant({"IDENTITY_TOKEN_SECRET": "secret", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})


def test_rasa_sends_the_token_in_a_header():
    """endpoints.yml as Rasa reads it, with the settings the launcher exports."""
    from rasa.utils.endpoints import read_endpoint_config

    monkeypatch = pytest.MonkeyPatch()
    try:
        for name, value in config.rasa_environment({"ACTION_SERVER_TOKEN": TOKEN}).items():
            monkeypatch.setenv(name, value)
        endpoint = read_endpoint_config(str(config.PROJECT_ROOT / "endpoints.yml"), "action_endpoint")
    finally:
        monkeypatch.undo()
    assert endpoint.headers == {"Authorization": f"Bearer {TOKEN}"}
    assert endpoint.url == "http://127.0.0.1:5055/webhook" and not endpoint.token


def test_the_launcher_points_rasa_at_the_action_server_it_starts(monkeypatch):
    # `make` exports the settings of the default ports; a start on other ports must not
    # send the Rasa server's action calls to whatever listens on the default one.
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    environ = launcher._prepare_environment({"ACTIONS_PORT": "6123", "BIND_HOST": "127.0.0.1"})
    assert environ["ACTION_SERVER_URL"] == "http://127.0.0.1:6123/webhook"
