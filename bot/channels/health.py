"""Liveness and readiness of the Rasa server, and its graceful shutdown.

Channel ``HealthInput`` (credentials.yml), under ``/webhooks/health/``:

* ``GET /webhooks/health/live``: 200 ``{"status": "alive"}`` while the
  process serves HTTP at all (an orchestrator restarts it otherwise).
* ``GET /webhooks/health/ready``: 200 ``{"status": "ready", "checks":
  {...}}`` when every check passes, else 503 ``{"status": "not ready", ...}``:
  ``model`` (the agent is loaded), ``tracker_store`` (a read of the
  conversation store), ``lock_store`` (a Redis PING when the locks are in
  Redis; ``in_memory`` otherwise), ``action_server`` (its ``/health``), and
  ``draining`` (the process is shutting down).  Each check answers ``ok``
  or a one-word reason; the error itself goes to the log only.  Open, like
  ``/webhooks/rest/``: it tells nothing about users.

On start (``after_server_start``) the agent's action endpoint and
conversation store are watched, so a failed action call or store is told to
the user (bot/channels/turns.py).  On
SIGTERM Sanic runs ``before_server_stop`` while still listening: this
channel starts draining there (readiness 503, new messages refused with the
busy message) and waits for the turns in flight, at most
``SHUTDOWN_GRACE_SECONDS``; then Sanic closes the socket and stops.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import aiohttp
from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.lock_store import RedisLockStore
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import config
from bot.channels.turns import TURNS, TurnGate, watch_action_endpoint, watch_stores

logger = logging.getLogger(__name__)

# Each check gets this long; a slower part counts as unreachable.
CHECK_TIMEOUT_SECONDS = 3.0
# A conversation id no channel produces (bot/channels/conversation_ids.py): reading it reads nothing.
PROBE_CONVERSATION = "health:probe"
OK = "ok"


async def check_tracker_store(agent: Agent) -> str:
    # Raises when the store fails (``watch_stores``).  Rasa's SQL store queries
    # synchronously: run on a loop of its own in a thread, so an unreachable
    # database cannot hold up this server's loop.
    await asyncio.to_thread(asyncio.run, agent.tracker_store.retrieve(PROBE_CONVERSATION))
    return OK


async def check_lock_store(agent: Agent) -> str:
    lock_store = agent.lock_store
    if isinstance(lock_store, RedisLockStore):
        await asyncio.to_thread(lock_store.red.ping)
        return OK
    return "in_memory"


def action_server_health_url(action_url: str) -> str:
    """``http://host:port/webhook`` (endpoints.yml) -> ``http://host:port/health`` (rasa-sdk's)."""
    base, _, _ = action_url.rstrip("/").rpartition("/")
    return f"{base}/health"


async def check_action_server(agent: Agent) -> str:
    if agent.action_endpoint is None or not agent.action_endpoint.url:
        return "not_configured"
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(action_server_health_url(agent.action_endpoint.url)) as reply:
            return OK if reply.status == 200 else f"status_{reply.status}"


Check = Callable[[Agent], Awaitable[str]]
# The checks of readiness besides the model, by name (the JSON keys).
CHECKS: Dict[str, Check] = {
    "tracker_store": check_tracker_store,
    "lock_store": check_lock_store,
    "action_server": check_action_server,
}
# Answers that mean the part works.
PASSING = frozenset({OK, "in_memory"})


async def _run_check(name: str, check: Check, agent: Agent) -> str:
    try:
        return await asyncio.wait_for(check(agent), timeout=CHECK_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        logger.warning("readiness: %s did not answer within %.0f s", name, CHECK_TIMEOUT_SECONDS)
        return "timeout"
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"; the reason goes to the log
        logger.warning("readiness: %s unreachable: %r", name, error)
        return "unreachable"


async def readiness(agent: Optional[Agent], gate: TurnGate = TURNS) -> Dict[str, Any]:
    """Every check's answer, and ``ready``: whether all passed and the process takes turns."""
    checks: Dict[str, str] = {"draining": "yes" if gate.draining else "no"}
    if agent is None or not agent.is_ready():
        checks["model"] = "not_loaded"
    else:
        checks["model"] = OK
        answers = await asyncio.gather(*(_run_check(name, check, agent) for name, check in CHECKS.items()))
        checks.update(zip(CHECKS, answers, strict=True))
    ready = not gate.draining and all(value in PASSING for name, value in checks.items() if name != "draining")
    return {"ready": ready, "checks": checks}


class HealthInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("health", __name__)

        @routes.listener("after_server_start")
        async def watch_actions(app: Sanic, _loop: Any) -> None:
            agent = getattr(app.ctx, "agent", None)  # Rasa's listener put it there before the start
            if agent is not None:
                watch_action_endpoint(agent)
                watch_stores(agent)

        @routes.listener("before_server_stop")
        async def drain(_app: Sanic, _loop: Any) -> None:
            await TURNS.drain(float(config.get_int("SHUTDOWN_GRACE_SECONDS")))

        @routes.route("/live", methods=["GET"])
        async def live(_: Request) -> HTTPResponse:
            return response.json({"status": "alive"})

        @routes.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            state = await readiness(getattr(request.app.ctx, "agent", None))
            body = {"status": "ready" if state["ready"] else "not ready", "checks": state["checks"]}
            return response.json(body, status=200 if state["ready"] else 503)

        return routes
