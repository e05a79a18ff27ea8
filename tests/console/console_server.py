"""The agent console's blueprint on a small real Sanic app, served from a
background thread (its own event loop), so that plain HTTP clients and
Playwright's sync API can talk to it from the test's thread."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Optional

from sanic import Sanic

from bot.console.channel import AgentConsoleInput
from tests.servers import free_port, serving_blueprint


async def _no_messages(_message: Any) -> None:  # the console never hands messages to Rasa
    raise AssertionError("the console sent a message to Rasa")


class ConsoleServer:
    def __init__(self, channel: AgentConsoleInput) -> None:
        self.channel = channel
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/webhooks/console/"
        self.app: Optional[Sanic] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="console-server", daemon=True)

    def __enter__(self) -> "ConsoleServer":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the console server did not start")
        if self._error is not None:
            raise RuntimeError("the console server failed to start") from self._error
        return self

    def __exit__(self, *_: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # noqa: BLE001 - reported to the test's thread
            self._error = error
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serving_blueprint(self.channel.blueprint(_no_messages), "/webhooks/console",
                                     "console_test", self.port) as server:
            self.app = server.app
            self._ready.set()
            await self._stop.wait()
        await asyncio.sleep(0)
