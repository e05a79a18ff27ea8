from pathlib import Path

import pytest

from bot import config

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    missing = [s.name for s in config.SETTINGS if f"`{s.name}`" not in README]
    assert not missing, f"README's Configuration table lacks {missing}"


def test_defaults_give_a_local_sqlite_store_and_in_memory_locks():
    values = config.rasa_environment({})
    assert values["DATABASE_URL"] == f"sqlite:///{config.PROJECT_ROOT}/var/assistant.db"
    assert values["LOCK_STORE_TYPE"] == "in_memory"
    assert values["ACTION_SERVER_URL"] == "http://127.0.0.1:5055/webhook"


def test_environment_selects_postgresql_and_redis():
    values = config.rasa_environment(
        {"DATABASE_URL": "postgresql://u:p@db:5432/a", "REDIS_HOST": "cache", "BIND_HOST": "0.0.0.0"}
    )
    assert values["DATABASE_URL"] == "postgresql://u:p@db:5432/a"
    assert values["LOCK_STORE_TYPE"] == "redis"
    assert values["ACTION_SERVER_URL"] == "http://127.0.0.1:5055/webhook"


def test_a_non_numeric_number_is_reported_by_name():
    with pytest.raises(ValueError, match="MAX_MESSAGE_CHARS"):
        config.get_int("MAX_MESSAGE_CHARS", {"MAX_MESSAGE_CHARS": "lots"})


def test_cli_prints_the_settings_as_shell_exports(capsys, monkeypatch):
    from bot.__main__ import main

    monkeypatch.setenv("REDIS_HOST", "cache.internal")
    assert main(["env"]) == 0
    exports = dict(
        line[len("export "):].split("=", 1) for line in capsys.readouterr().out.splitlines()
    )
    assert exports["REDIS_HOST"] == "cache.internal"
    assert exports["LOCK_STORE_TYPE"] == "redis"
    assert exports["RASA_TELEMETRY_ENABLED"] == "false"
