"""The custom action server: rasa-sdk's app, private and authenticated.

``python -m bot.action_server`` (what ``bot.launcher`` starts) builds
rasa-sdk's Sanic app from the ``actions`` package and serves it on
``BIND_HOST:ACTIONS_PORT`` only, never on all interfaces.  Every request but
``GET /health`` (rasa-sdk's liveness) and ``GET /health/ready`` (readiness:
200 ``{"status": "ready", "checks": {"database": "ok"}}`` when the
database answers, else 503; 503 too once SIGTERM arrived, while Sanic lets
the calls in flight finish) must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``
(endpoints.yml makes Rasa send it); anything else is answered 401 before an
action runs.  The server refuses to start without the token, or with a
secret shorter than ``config.MIN_SECRET_LENGTH``.  Without a
``VERIFICATION_SIGNING_KEY`` it makes a random one for this start (see
``bot.accounts.flows.verification``).  It reads no request body larger than
``MAX_REQUEST_BYTES`` (413 before reading it).  docs/security.md has the threats.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import sys
from typing import Any, Dict, Optional

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import config
from bot.services import services

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"
# Rasa posts one session's tracker with every action call (sessions end after
# two idle hours: domain/core.yml); at a few KB a turn, 16 MB is thousands of
# turns.  Sanic reads the body before any middleware, so without a bound an
# unauthenticated client could make the server read 100 MB (Sanic's default)
# before the token is checked; larger requests get 413 from their Content-Length.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# Paths served without the token: liveness and readiness (orchestrators, the
# launcher, the Rasa server's readiness); they tell nothing about users.
OPEN_PATHS = frozenset({"/health", "/health/ready"})
# The database check of readiness gets this long; slower counts as unreachable.
READY_CHECK_SECONDS = 3.0


def authorised(path: str, authorization: Optional[str], token: str) -> bool:
    """True for an open path, or an ``Authorization: Bearer`` header with the token (compared in constant time)."""
    if path in OPEN_PATHS:
        return True
    scheme, _, supplied = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(supplied.strip().encode("utf-8"), token.encode("utf-8"))


def require_token(app: Sanic, token: str) -> None:
    """Answers 401 to every request without the token, before any route runs."""

    @app.middleware("request")
    async def check_token(request: Request) -> Optional[HTTPResponse]:
        if authorised(request.path, request.headers.get("Authorization"), token):
            return None
        logger.warning("refused a request to %s from %s: no valid token", request.path, request.ip)
        return response.json(
            {"error": "unauthorised: the action server needs its token"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="actions"'},
        )


def refuse_large_bodies(app: Sanic) -> None:
    """413, not the 500 of rasa-sdk's catch-all exception handler."""

    @app.exception(PayloadTooLarge)
    async def too_large(_request: Request, _error: Exception) -> HTTPResponse:
        return response.json({"error": f"request body larger than {MAX_REQUEST_BYTES} bytes"}, status=413)


async def database_check() -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(services().database.ping), timeout=READY_CHECK_SECONDS)
    except asyncio.TimeoutError:
        logger.warning("readiness: the database did not answer within %.0f s", READY_CHECK_SECONDS)
        return "timeout"
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"; the reason goes to the log
        logger.warning("readiness: the database is unreachable: %r", error)
        return "unreachable"
    return "ok"


def add_readiness(app: Sanic) -> None:
    """``GET /health/ready``: the database, and whether the server is stopping."""
    state: Dict[str, bool] = {"stopping": False}

    async def stopping(_app: Sanic, _loop: Any) -> None:
        state["stopping"] = True

    app.register_listener(stopping, "before_server_stop")

    @app.route("/health/ready", methods=["GET"])
    async def ready(_request: Request) -> HTTPResponse:
        checks = {"database": await database_check(), "stopping": "yes" if state["stopping"] else "no"}
        is_ready = checks["database"] == "ok" and not state["stopping"]
        return response.json(
            {"status": "ready" if is_ready else "not ready", "checks": checks}, status=200 if is_ready else 503
        )


def build_app(token: str) -> Sanic:
    # No CORS origins: browsers have no business here.
    app = create_app(ACTIONS_PACKAGE, cors_origins="")
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    add_readiness(app)
    refuse_large_bodies(app)
    require_token(app, token)
    return app


def main() -> int:
    problems = config.secret_problems()
    if problems:
        for problem in problems:
            print(f"action server not started: {problem}", file=sys.stderr)
        return 2
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    if not config.get("VERIFICATION_SIGNING_KEY"):
        # Set before the app (and any worker process) exists, so all share it.
        os.environ["VERIFICATION_SIGNING_KEY"] = secrets.token_urlsafe(32)
        logger.info("VERIFICATION_SIGNING_KEY is empty: verifications last until this action server stops")
    host, port = config.get("BIND_HOST"), config.get_int("ACTIONS_PORT")
    app = build_app(config.get("ACTION_SERVER_TOKEN"))
    logger.info("action server on http://%s:%s (token required)", host, port)
    app.run(host, port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
