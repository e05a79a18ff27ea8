"""Is this configuration fit for production?  ``python -m bot env
--check-production`` prints :func:`production_problems` and fails (exit 1)
when there is any.

Contract: each problem is one sentence naming the setting and what to do; a
problem is something that, left as it is, lets an attacker in, loses users'
verifications or sends their data where it should not go.  Development
conveniences that ``make run`` sets (a random action-server token, a
per-process signing key, the REST channel open to this machine, the SMS
outbox) are problems here.  The check reads settings only (no server is
started, nothing is connected), so it can run in a deployment pipeline.
"""

from __future__ import annotations

from typing import Callable, List, Mapping, Optional, Tuple

from bot import config

GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

Environ = Optional[Mapping[str, str]]


def _flag(name: str, environ: Environ) -> bool:
    return config.get(name, environ).strip().lower() in ("true", "1", "yes", "on")


def _secrets(environ: Environ) -> List[str]:
    problems = list(config.secret_problems(environ))
    if not config.get("VERIFICATION_SIGNING_KEY", environ):
        problems.append(
            "VERIFICATION_SIGNING_KEY is empty: each action server would sign with its own random key, "
            f"so a restart or a second replica ends every verification. Set one value for all, e.g. from `{GENERATE}`."
        )
    if not config.get("SMS_CODE_SECRET", environ):
        problems.append(
            "SMS_CODE_SECRET is empty: each action server would keep codes under its own random key, so a "
            f"code sent by one replica fails on another. Set one value for all, e.g. from `{GENERATE}`."
        )
    rest_token = config.get("REST_API_TOKEN", environ).strip()
    if rest_token and len(rest_token) < config.MIN_SECRET_LENGTH:
        problems.append(
            f"REST_API_TOKEN has {len(rest_token)} characters; it needs at least {config.MIN_SECRET_LENGTH}."
        )
    return problems


def _channels(environ: Environ) -> List[str]:
    problems = []
    if _flag("REST_OPEN_LOCALLY", environ):
        problems.append(
            "REST_OPEN_LOCALLY is true: any program on this machine (and a proxy that adds no "
            "forwarding header) uses the REST channel without a token. Set it to false."
        )
    if config.get("TELEGRAM_WEBHOOK_URL", environ) and not config.get("TELEGRAM_SECRET_TOKEN", environ):
        problems.append(
            "TELEGRAM_WEBHOOK_URL is set without TELEGRAM_SECRET_TOKEN: anyone could post forged updates. Set it."
        )
    return problems


def _addresses(environ: Environ) -> List[str]:
    problems = []
    public = config.get("PUBLIC_BASE_URL", environ).strip()
    if not public.startswith("https://"):
        problems.append(
            f"PUBLIC_BASE_URL is {repr(public) if public else 'empty'}: reset links and the console's cookies need the "
            "assistant's public https:// address."
        )
    if config.get("BIND_HOST", environ) in ("0.0.0.0", "::", ""):
        problems.append(
            "BIND_HOST listens on every interface: bind to a private address behind the proxy "
            "(the action server must never be reachable from outside)."
        )
    return problems


def _data(environ: Environ) -> List[str]:
    problems = []
    if config.get("SMS_BACKEND", environ) != "http":
        problems.append(
            "SMS_BACKEND is not http: codes would be kept in the local outbox instead of reaching "
            "users' phones. Set SMS_BACKEND=http with SMS_HTTP_URL."
        )
    elif not config.get("SMS_HTTP_URL", environ).startswith("https://"):
        problems.append("SMS_HTTP_URL is not an https:// address: codes would travel in the clear. Set the provider's.")
    webhook = config.get("HANDOFF_WEBHOOK_URL", environ).strip()
    if webhook and not webhook.startswith("https://"):
        problems.append(
            "HANDOFF_WEBHOOK_URL is not an https:// address: the robot's key in it would travel in the clear. "
            "Use the robot's https address."
        )
    if config.get("DATABASE_URL", environ).startswith("sqlite"):
        problems.append("DATABASE_URL is SQLite: replicas cannot share it. Use PostgreSQL (postgresql+psycopg2://...).")
    return problems


# Each group of checks, in the order they are printed.
CHECKS: Tuple[Callable[[Environ], List[str]], ...] = (_secrets, _channels, _addresses, _data)


def production_problems(environ: Environ = None) -> List[str]:
    """Every reason this configuration is not fit for production; empty when it is."""
    return [problem for check in CHECKS for problem in check(environ)]
