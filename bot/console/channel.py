"""The agent console as a Rasa input channel (``credentials.yml``:
``bot.console.channel.AgentConsoleInput``): its Sanic blueprint under
``/webhooks/console/`` and the background sweeps of every Rasa process:
every ``SWEEP_SECONDS`` the waiting handoffs are offered to online agents
(auto-assignment) and the unclaimed-handoff webhooks due are sent
(``bot.handoff.webhook``); once a minute waiting handoffs whose user left
are closed.  The sweeps run beside the server, never inside a user's turn.
The console never hands messages to Rasa: agents' replies reach users
through ``bot.channels.handoff_bridge``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from bot import config
from bot.channels.client_address import trusted_proxies
from bot.channels.common import in_thread
from bot.console.routes import ConsoleRoutes, announce_assigned
from bot.console.services import ConsoleServices, connect
from bot.console.views import CONSOLE_PATH
from bot.handoff.webhook import WebhookSender, send_due_webhooks, webhook_delay
from bot.services import Services

logger = logging.getLogger(__name__)

ABANDON_SWEEP_SECONDS = 60
SWEEP_SECONDS = 10.0  # auto-assignment and webhooks; the console's own actions assign at once


class AgentConsoleInput(InputChannel):
    """``services``: the console's services (default the process's,
    ``bot.services.services()``, looked up at each use so tests can swap them);
    ``sweep_seconds``: how often the background sweeps run (tests shorten it)."""

    @classmethod
    def name(cls) -> Text:
        return "console"

    def __init__(self, services: Optional[Services] = None, sweep_seconds: float = SWEEP_SECONDS) -> None:
        self._services = services
        self.sweep_seconds = sweep_seconds

    @property
    def services(self) -> ConsoleServices:
        return connect(self._services)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        trusted_proxies()  # a wrong TRUSTED_PROXIES stops the start, not the first login
        webhook_delay()  # so does a wrong HANDOFF_WEBHOOK_MINUTES or URL
        WebhookSender.from_settings()
        routes = Blueprint("agent_console", __name__)
        self._sweep_in_background(routes)
        ConsoleRoutes(lambda: self.services).register(routes)
        return routes

    async def sweep(self, app: Any, abandon: bool) -> None:
        """One round: auto-assign waiting handoffs (and tell their users), send the
        webhooks due, and (``abandon``) close the waiting handoffs whose user left.
        Every process may sweep: each step is a conditional update, so sweeps never clash."""
        services = self.services
        steps: List[Tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("assigning waiting handoffs", lambda: self._assign(app, services)),
            ("sending handoff webhooks", lambda: self._send_webhooks(services)),
        ]
        if abandon:
            steps.append(("sweeping abandoned handoffs", lambda: in_thread(services.handoffs.abandon_stale)))
        for what, step in steps:
            try:
                await step()
            except Exception:  # noqa: BLE001 - try again at the next sweep
                logger.exception("console: %s failed", what)

    @staticmethod
    async def _assign(app: Any, services: ConsoleServices) -> None:
        await announce_assigned(app, await in_thread(services.handoffs.assign_waiting))

    @staticmethod
    async def _send_webhooks(services: ConsoleServices) -> None:
        sender = WebhookSender.from_settings()
        if sender is not None:
            console_url = config.public_base_url() + CONSOLE_PATH
            await in_thread(send_due_webhooks, services.handoffs, sender, console_url)

    def _sweep_in_background(self, routes: Blueprint) -> None:
        sweeper: Dict[str, "asyncio.Task[None]"] = {}

        async def sweep_forever(app: Any) -> None:
            last_abandon = 0.0
            while True:
                await asyncio.sleep(self.sweep_seconds)
                now = time.monotonic()
                abandon = now - last_abandon >= ABANDON_SWEEP_SECONDS
                if abandon:
                    last_abandon = now
                await self.sweep(app, abandon)

        @routes.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            sweeper["task"] = asyncio.get_running_loop().create_task(sweep_forever(app))

        @routes.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if "task" in sweeper:
                sweeper["task"].cancel()
