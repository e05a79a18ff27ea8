"""Every setting of the assistant, read from environment variables.

This module is the one place where settings and their local defaults live;
the README's "Configuration" table lists the same names (a test keeps them in
step).  ``python -m bot env`` prints the effective values as shell exports,
which is how the Makefile hands them to Rasa's ``${VAR}`` placeholders in
``endpoints.yml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS = (
    Setting("BIND_HOST", "127.0.0.1", "Address the Rasa and action servers listen on."),
    Setting("RASA_PORT", "5005", "Port of the Rasa server (REST and socket.io channels)."),
    Setting("ACTIONS_PORT", "5055", "Port of the custom action server."),
    Setting(
        "ACTION_SERVER_TOKEN",
        "",
        "Shared secret (at least 32 characters) the Rasa server sends to the action server "
        "('Authorization: Bearer <token>', endpoints.yml); the action server answers every "
        "other request with 401 (only /health is open). Empty: python -m bot run (make run) "
        "makes a random one for each start; an action server started on its own refuses to run "
        "without it.",
    ),
    Setting(
        "ACTION_SERVER_URL",
        "",
        "Where the Rasa server reaches the action servers (endpoints.yml), e.g. "
        "http://assistant-actions:5055/webhook in a container deployment (deploy/); empty: "
        "http://<BIND_HOST>:<ACTIONS_PORT>/webhook on this machine. python -m bot run (make run) "
        "always uses the action server it starts beside the Rasa server.",
    ),
    Setting(
        "VERIFICATION_SIGNING_KEY",
        "",
        "Key (at least 32 characters) of the HMAC with which the action server signs the "
        "verified account it keeps in a conversation, for that conversation only; the action "
        "server needs it, Rasa does not. Empty: a random key for each start of the action "
        "server (a restart then ends every verification). Set one value on every action server "
        "that serves the same conversations.",
    ),
    Setting(
        "DATABASE_URL",
        "sqlite:///var/assistant.db",
        "SQLAlchemy URL of the account store and the conversation (tracker) store, e.g. "
        "postgresql://user:pass@host:5432/assistant. Relative SQLite paths are "
        "relative to the project root.",
    ),
    Setting(
        "REDIS_HOST",
        "",
        "Redis host for the conversation lock store and the widget's socket.io rooms (any Rasa "
        "process reaches any widget); empty keeps both in memory (fine for one Rasa process).",
    ),
    Setting("REDIS_PORT", "6379", "Redis port (with REDIS_HOST)."),
    Setting("REDIS_DB", "1", "Redis database number (with REDIS_HOST)."),
    Setting(
        "MAX_MESSAGE_CHARS",
        "1000",
        "Longest message the assistant reads; longer ones are answered with a " "request to shorten them.",
    ),
    Setting(
        "PUBLIC_BASE_URL",
        "",
        "Address users reach the Rasa server at, for the password-reset links "
        "the assistant sends (e.g. https://assistant.example.gov.cn); empty: "
        "http://<host>:<RASA_PORT>.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "",
        "Reverse proxies whose X-Forwarded-For is believed (comma- or space-separated IP "
        "addresses or CIDR networks, e.g. '127.0.0.1, 10.0.0.0/8'); the client's address is "
        "then the right-most X-Forwarded-For entry that is not one of them.  Empty: the "
        "peer's address, headers ignored.",
    ),
    Setting(
        "UPLOAD_DIR",
        "var/uploads",
        "Where uploaded document photos are stored (outside any web root); "
        "relative paths are relative to the project root.",
    ),
    Setting("MAX_UPLOAD_BYTES", "1048576", "Largest photo accepted (the platform's 1 MB)."),
    Setting(
        "UPLOADS_PER_CONVERSATION_PER_HOUR",
        "10",
        "Most photos one conversation may upload within an hour (an appeal or a review needs "
        "two); further photos are refused with a request to wait.",
    ),
    Setting(
        "UPLOAD_BYTES_PER_HOUR",
        "268435456",
        "Most bytes of photos all conversations together may upload within an hour (default "
        "256 MB); beyond it every upload is refused until the hour has passed.",
    ),
    Setting(
        "UPLOAD_UNATTACHED_HOURS",
        "24",
        "Photos not attached to a review or an appeal this many hours after their upload are "
        "deleted, file and row (the Rasa server sweeps hourly; python -m bot uploads purge).",
    ),
    Setting(
        "IDENTITY_TOKEN_SECRET",
        "",
        "Shared secret (at least 32 characters) of the signed identity tokens the platform "
        "passes for logged-in users (bot/accounts/identity.py); empty disables them.",
    ),
    Setting(
        "IDENTITY_TOKEN_AUDIENCE",
        "most-account-assistant",
        "The 'aud' an identity token must name: tokens the platform signed for another "
        "service (or another deployment of this one) verify nobody here.",
    ),
    Setting(
        "IDENTITY_TOKEN_MAX_AGE",
        "600",
        "Seconds after its 'iat' (issue time) an identity token is still accepted, whatever "
        "its 'exp'; an older token verifies nobody (the SMS code runs instead).",
    ),
    Setting(
        "SMS_BACKEND",
        "outbox",
        "outbox: SMS are only stored in the database, the stand-in for a phone in development and "
        "tests (python -m bot sms outbox shows them); http: POSTed to SMS_HTTP_URL, and the text is "
        "kept nowhere once sent. Logs never carry an SMS text.",
    ),
    Setting(
        "SMS_HTTP_URL",
        "",
        "With SMS_BACKEND=http: the provider endpoint; receives JSON "
        '{"phone": ..., "text": ...} and must answer 2xx.',
    ),
    Setting("SMS_HTTP_TOKEN", "", "With SMS_BACKEND=http: sent as 'Authorization: Bearer <token>'."),
    Setting(
        "SMS_CODE_SECRET",
        "",
        "Key (at least 32 characters) of the HMAC under which SMS codes are stored (never the "
        "code itself). Empty: a random key for each start of the action server (a restart ends "
        "the codes in flight). Set one value on every action server of a deployment.",
    ),
    Setting(
        "SMS_LIMIT_PER_PHONE",
        "5",
        "Verification codes one phone number receives per hour (and at most one a minute). "
        "Before verification a refusal is not shown (it would tell that the account exists).",
    ),
    Setting(
        "SMS_LIMIT_PER_CONVERSATION",
        "5",
        "SMS (codes and grant requests) one conversation may ask for per hour, to any numbers.",
    ),
    Setting(
        "SMS_LIMIT_PER_ADDRESS",
        "20",
        "SMS one client address (see TRUSTED_PROXIES; a Telegram chat counts as one) may ask "
        "for per hour, over all its conversations.",
    ),
    Setting(
        "SMS_HOURLY_BUDGET",
        "1000",
        "SMS the assistant sends per hour in all, for everyone (codes and grant requests; the "
        "back office's review and appeal results are not counted).",
    ),
    Setting(
        "GRANT_REQUEST_LIMIT_PER_ADMIN",
        "3",
        "Grant-request SMS one unit admin's phone receives per day (on top of the SMS limits above).",
    ),
    Setting(
        "LOOKUP_LIMIT_PER_CONVERSATION",
        "10",
        "Lookups of a login name, document, unit, phone or appeal one conversation may make per hour.",
    ),
    Setting(
        "LOOKUP_LIMIT_PER_ADDRESS",
        "30",
        "Lookups one client address may make per hour, over all its conversations.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "",
        "Comma- or space-separated IP addresses or CIDR ranges of the reverse proxies in front "
        "of the assistant. Only a request from one of them has its X-Forwarded-For read (the "
        "right-most address that is not a trusted proxy is the client); empty: the client is "
        "the peer address and X-Forwarded-For is ignored.",
    ),
    Setting(
        "WIDGET_ALLOWED_ORIGINS",
        "",
        "Space-separated origins of the pages that embed the web chat widget "
        "(e.g. https://fuwu.most.gov.cn); empty: only pages served by the "
        "assistant itself (the demo page).",
    ),
    Setting(
        "REST_API_TOKEN",
        "",
        "Bearer token of the REST channel (at least 32 characters): integrations send "
        "'Authorization: Bearer <token>' to /webhooks/rest/; other requests get HTTP 401. "
        "Empty: the REST channel refuses everything, unless REST_OPEN_LOCALLY is true.",
    ),
    Setting(
        "REST_OPEN_LOCALLY",
        "false",
        "true: the REST channel also answers, without a token, requests from this machine "
        "(a loopback address, no proxy headers); for local development only (make run sets "
        "it; the Rasa server logs a warning). Never in production.",
    ),
    Setting(
        "TELEGRAM_BOT_TOKEN",
        "",
        "Token of the Telegram bot from @BotFather; empty disables the Telegram channel.",
    ),
    Setting(
        "TELEGRAM_WEBHOOK_URL",
        "",
        "Public HTTPS address Telegram posts updates to, ending in "
        "/webhooks/telegram/webhook; empty: the assistant long-polls Telegram instead.",
    ),
    Setting(
        "TELEGRAM_SECRET_TOKEN",
        "",
        "Secret Telegram sends in the X-Telegram-Bot-Api-Secret-Token header of "
        "webhook calls (1-256 of A-Z a-z 0-9 _ -); required with TELEGRAM_WEBHOOK_URL.",
    ),
    Setting(
        "TELEGRAM_API_URL",
        "https://api.telegram.org",
        "Bot API server (a local Bot API server, or the tests' fake one).",
    ),
    Setting(
        "TELEGRAM_MAX_CONCURRENT_UPDATES",
        "16",
        "Most Telegram updates (of different chats) handled at the same time; further updates "
        "wait their turn, none is dropped.",
    ),
    Setting(
        "SUPPORT_HOURS",
        "mon-fri 08:30-17:30",
        "When human agents answer (bot/handoff/hours.py): '; '-separated parts of days "
        "(mon..sun, ranges and commas: mon-fri, sat,sun) and times (HH:MM-HH:MM, several "
        "comma-separated; 24:00 ends a day), e.g. 'mon-fri 08:30-12:00,13:30-17:30; sat "
        "09:00-12:00'; 'always' for round the clock.",
    ),
    Setting(
        "SUPPORT_TIMEZONE",
        "Asia/Shanghai",
        "Time zone (IANA name) of SUPPORT_HOURS and of the days in handoff reports.",
    ),
    Setting(
        "HANDOFF_ABANDON_MINUTES",
        "30",
        "A waiting handoff whose user sent nothing and showed no sign of presence for "
        "this many minutes is closed as abandoned.",
    ),
    Setting(
        "HANDOFF_MAX_OPEN_PER_AGENT",
        "3",
        "Auto-assignment gives an online agent a waiting conversation of her team only while she "
        "holds fewer open conversations than this (she may still claim more herself).",
    ),
    Setting(
        "HANDOFF_WEBHOOK_URL",
        "",
        "Where a JSON POST goes when a handoff has waited HANDOFF_WEBHOOK_MINUTES without an agent "
        "(once per handoff, from one Rasa process), e.g. a WeCom or DingTalk group robot's address "
        "with its key or access_token (docs/agent-console.md); empty: no webhook.",
    ),
    Setting(
        "HANDOFF_WEBHOOK_MINUTES",
        "5",
        "Minutes a handoff waits unclaimed before the webhook is sent (0: at the next sweep).",
    ),
    Setting(
        "HANDOFF_WEBHOOK_SECRET",
        "",
        "Optional signing secret of the webhook: each POST then carries X-Handoff-Timestamp and "
        "X-Handoff-Signature (hex HMAC-SHA256 of '<timestamp>.<body>') and DingTalk's timestamp "
        "and sign query parameters; empty: unsigned (the URL's token alone).",
    ),
    Setting(
        "RETENTION_DAYS",
        "30",
        "Days conversations are kept: python -m bot privacy purge deletes conversations (tracker "
        "events) whose last message is older, and older uploads (files and rows), SMS outbox rows "
        "and handoff transcripts; users are told this figure before they are first asked for an "
        "identity number or a photo.",
    ),
    Setting(
        "SHUTDOWN_GRACE_SECONDS",
        "20",
        "On SIGTERM the Rasa server takes no new messages (readiness answers 503, new messages get "
        "the busy message) and waits this long for the turns in flight before it stops; Telegram "
        "updates being handled get as long. python -m bot run waits this long plus 15 s (Sanic's "
        "own grace for open connections) before it kills a server.",
    ),
    Setting(
        "MAX_TURNS_IN_FLIGHT",
        "60",
        "Load shedding: a Rasa server with this many user turns in flight answers a new turn at once "
        "with the busy message and stores nothing of it (REST: 503), instead of queueing it; turns of a "
        "conversation already in flight and handoff traffic are always taken.  At ~150 ms of CPU per turn "
        "on one event loop, 60 means the last admitted turn is answered within about 10 s.  The cluster's nginx "
        "passes at most this many REST messages per Rasa server at once and answers the next busy itself.  "
        "0: no shedding.",
    ),
    Setting(
        "MAX_TURN_WAIT_SECONDS",
        "10",
        "Load shedding by age: a REST message whose request waited longer than this between nginx (its "
        "X-Request-Start stamp, believed only from TRUSTED_PROXIES) and the channel is answered at once "
        "with the busy message (503, nothing stored): the client hears within seconds instead of nginx's "
        "504 after minutes.  0: no age rule.",
    ),
    Setting(
        "CLUSTER_RASA_REPLICAS",
        "2",
        "python -m bot cluster start (make cluster): how many Rasa servers run behind nginx, on "
        "127.0.0.1, ports RASA_PORT+1 onwards (nginx takes RASA_PORT).",
    ),
    Setting(
        "CLUSTER_ACTION_SERVERS",
        "2",
        "make cluster: how many action servers run behind nginx's internal upstream, on "
        "127.0.0.1, ports ACTIONS_PORT+1 onwards (nginx takes ACTIONS_PORT, for the Rasa servers only).",
    ),
    Setting(
        "CLUSTER_POSTGRES_PORT",
        "5433",
        "make cluster: port (127.0.0.1) of the cluster's own PostgreSQL server, which holds "
        "conversations, accounts and handoffs; the cluster's Redis takes REDIS_PORT.",
    ),
    Setting(
        "CLUSTER_DIR",
        "var/cluster",
        "make cluster: where the cluster keeps its rendered nginx and supervisord configurations, "
        "generated secrets (secrets.env, mode 0600), PostgreSQL data and logs; relative paths are "
        "relative to the project root.",
    ),
    Setting(
        "MODEL_PATH",
        "models/assistant.tar.gz",
        "Trained model the server loads (make train writes it).",
    ),
)

_BY_NAME: Dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def get(name: str, environ: Optional[Mapping[str, str]] = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, _BY_NAME[name].default)


def get_int(name: str, environ: Optional[Mapping[str, str]] = None) -> int:
    value = get(name, environ)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"setting {name} must be a whole number, got {value!r}") from None


# Room for what a multipart upload carries besides the photo: the boundaries,
# the parts' headers, the ``sender`` field (a few hundred bytes in practice).
REQUEST_OVERHEAD_BYTES = 64 * 1024


def max_request_bytes(environ: Optional[Mapping[str, str]] = None) -> int:
    """The largest request body the Rasa server reads: the largest photo plus
    the multipart overhead.  Anything larger is answered 413 from its
    Content-Length, before its body is read (Sanic's REQUEST_MAX_SIZE)."""
    return get_int("MAX_UPLOAD_BYTES", environ) + REQUEST_OVERHEAD_BYTES


# Secrets shorter than this are refused: guessable, or a placeholder left in.
MIN_SECRET_LENGTH = 32
# Secrets that may be empty (a feature off, or a random key per start) but never short.
OPTIONAL_SECRETS = ("VERIFICATION_SIGNING_KEY", "IDENTITY_TOKEN_SECRET", "SMS_CODE_SECRET")


def secret_problems(environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """What is wrong with the secrets the action server needs, one sentence each; empty when nothing is."""
    problems = []
    if not get("ACTION_SERVER_TOKEN", environ):
        problems.append(
            "ACTION_SERVER_TOKEN is empty: the action server would serve anyone. Set it (the same "
            'value for the Rasa server), e.g. from `python -c "import secrets; print(secrets.token_urlsafe(32))"`.'
        )
    for name in ("ACTION_SERVER_TOKEN",) + OPTIONAL_SECRETS:
        value = get(name, environ)
        if value and len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{name} has {len(value)} characters; it needs at least {MIN_SECRET_LENGTH}.")
    return problems


def rasa_environment(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Values for the ``${VAR}`` placeholders of endpoints.yml, plus every setting."""
    values = {setting.name: get(setting.name, environ) for setting in SETTINGS}
    values["DATABASE_URL"] = _absolute_sqlite_url(values["DATABASE_URL"])
    values["LOCK_STORE_TYPE"] = "redis" if values["REDIS_HOST"] else "in_memory"
    # Rasa would otherwise try to send usage telemetry; these machines have no
    # network beyond package registries.
    values["RASA_TELEMETRY_ENABLED"] = "false"
    values["SQLALCHEMY_SILENCE_UBER_WARNING"] = "1"
    if not values["ACTION_SERVER_URL"]:
        values["ACTION_SERVER_URL"] = f"http://{client_host(values['BIND_HOST'])}:{values['ACTIONS_PORT']}/webhook"
    return values


def _absolute_sqlite_url(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    return prefix + str(PROJECT_ROOT / url[len(prefix) :])


def project_path(name: str, environ: Optional[Mapping[str, str]] = None) -> Path:
    """A path setting, relative paths taken from the project root."""
    path = Path(get(name, environ))
    return path if path.is_absolute() else PROJECT_ROOT / path


def public_base_url(environ: Optional[Mapping[str, str]] = None) -> str:
    configured = get("PUBLIC_BASE_URL", environ).rstrip("/")
    if configured:
        return configured
    return f"http://{client_host(get('BIND_HOST', environ))}:{get('RASA_PORT', environ)}"


def client_host(bind_host: str) -> str:
    """Where a client on this machine reaches a server bound to ``bind_host``."""
    return "127.0.0.1" if bind_host in ("0.0.0.0", "") else bind_host
