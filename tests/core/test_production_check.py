"""``python -m bot env --check-production``: a configuration fit for production
passes; each missing or weak secret and each development setting is named,
and the command fails on it."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict

import pytest

from bot.production import production_problems
from tests.project_data import ROOT

SECRET = "s" * 40

FIT: Dict[str, str] = {
    "ACTION_SERVER_TOKEN": SECRET,
    "VERIFICATION_SIGNING_KEY": "v" * 40,
    "SMS_CODE_SECRET": "c" * 40,
    "REST_API_TOKEN": "r" * 40,
    "REST_OPEN_LOCALLY": "false",
    "PUBLIC_BASE_URL": "https://assistant.example.gov.cn",
    "BIND_HOST": "10.0.0.5",
    "SMS_BACKEND": "http",
    "SMS_HTTP_URL": "https://sms.example.gov.cn/send",
    "DATABASE_URL": "postgresql+psycopg2://bot@db/bot",
}


def test_a_production_configuration_has_no_problem():
    assert production_problems(FIT) == []


@pytest.mark.parametrize("changes, named", [
    ({"ACTION_SERVER_TOKEN": ""}, "ACTION_SERVER_TOKEN"),
    ({"ACTION_SERVER_TOKEN": "short"}, "ACTION_SERVER_TOKEN"),
    ({"VERIFICATION_SIGNING_KEY": ""}, "VERIFICATION_SIGNING_KEY"),
    ({"VERIFICATION_SIGNING_KEY": "k" * 31}, "VERIFICATION_SIGNING_KEY"),
    ({"IDENTITY_TOKEN_SECRET": "i" * 10}, "IDENTITY_TOKEN_SECRET"),
    ({"SMS_CODE_SECRET": ""}, "SMS_CODE_SECRET"),
    ({"REST_API_TOKEN": "r" * 31}, "REST_API_TOKEN"),
    ({"REST_OPEN_LOCALLY": "true"}, "REST_OPEN_LOCALLY"),
    ({"TELEGRAM_WEBHOOK_URL": "https://a.example/webhooks/telegram/webhook"}, "TELEGRAM_WEBHOOK_URL"),
    ({"PUBLIC_BASE_URL": "http://assistant.example.gov.cn"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
    ({"BIND_HOST": "0.0.0.0"}, "BIND_HOST"),
    ({"SMS_BACKEND": "outbox"}, "SMS_BACKEND"),
    ({"SMS_HTTP_URL": "http://sms.example.gov.cn/send"}, "SMS_HTTP_URL"),
    ({"DATABASE_URL": "sqlite:///var/assistant.db"}, "DATABASE_URL"),
    ({"HANDOFF_WEBHOOK_URL": "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}, "HANDOFF_WEBHOOK_URL"),
])
def test_each_unfit_setting_is_named(changes, named):
    problems = production_problems({**FIT, **changes})
    assert len(problems) == 1 and problems[0].startswith(named), problems


def check(environ: Dict[str, str]) -> subprocess.CompletedProcess:
    settings = {name: value for name, value in os.environ.items() if name not in FIT}
    return subprocess.run([sys.executable, "-m", "bot", "env", "--check-production"], cwd=ROOT,
                          env={**settings, **environ}, capture_output=True, text=True, timeout=120)


def test_the_command_passes_a_production_configuration_and_fails_a_development_one():
    fit = check(FIT)
    assert fit.returncode == 0, fit.stderr
    unfit = check({**FIT, "ACTION_SERVER_TOKEN": "", "REST_OPEN_LOCALLY": "true"})
    assert unfit.returncode == 1
    assert "ACTION_SERVER_TOKEN" in unfit.stderr and "REST_OPEN_LOCALLY" in unfit.stderr
