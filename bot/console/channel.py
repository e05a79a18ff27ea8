"""The agent console as a Rasa input channel (``credentials.yml``:
``bot.console.channel.AgentConsoleInput``): its Sanic blueprint under
``/webhooks/console/`` and a once-a-minute sweep of waiting handoffs whose
user left.  The console never hands messages to Rasa: agents' replies reach
users through ``bot.channels.handoff_bridge``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from bot.channels.client_address import trusted_proxies
from bot.channels.common import in_thread
from bot.console.routes import ConsoleRoutes
from bot.console.services import ConsoleServices, connect
from bot.services import Services

logger = logging.getLogger(__name__)

ABANDON_SWEEP_SECONDS = 60


class AgentConsoleInput(InputChannel):
    """``services``: the console's services (default the process's,
    ``bot.services.services()``, looked up at each use so tests can swap them)."""

    @classmethod
    def name(cls) -> Text:
        return "console"

    def __init__(self, services: Optional[Services] = None) -> None:
        self._services = services

    @property
    def services(self) -> ConsoleServices:
        return connect(self._services)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        trusted_proxies()  # a wrong TRUSTED_PROXIES stops the start, not the first login
        routes = Blueprint("agent_console", __name__)
        self._sweep_abandoned_handoffs(routes)
        ConsoleRoutes(lambda: self.services).register(routes)
        return routes

    def _sweep_abandoned_handoffs(self, routes: Blueprint) -> None:
        """Waiting users who left are marked abandoned; every process may sweep
        (the transitions are conditional updates, so sweeps never clash)."""
        sweeper: Dict[str, "asyncio.Task[None]"] = {}

        async def sweep_forever() -> None:
            while True:
                await asyncio.sleep(ABANDON_SWEEP_SECONDS)
                try:
                    await in_thread(self.services.handoffs.abandon_stale)
                except Exception:  # noqa: BLE001 - try again at the next sweep
                    logger.exception("console: sweeping abandoned handoffs failed")

        @routes.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            sweeper["task"] = asyncio.get_running_loop().create_task(sweep_forever())

        @routes.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if "task" in sweeper:
                sweeper["task"].cancel()
