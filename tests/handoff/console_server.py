"""The agent console's blueprint on a small real Sanic app, served from a
background thread (its own event loop), so that plain HTTP clients and
Playwright's sync API can talk to it from the test's thread."""
from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Optional

from sanic import Sanic

from bot.channels.console import AgentConsoleInput
from tests.servers import free_port


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
        app = self.app = Sanic(f"console_test_{uuid.uuid4().hex[:10]}", configure_logging=False)
        app.blueprint(self.channel.blueprint(_no_messages), url_prefix="/webhooks/console")
        server = await app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True)
        # Sanic 21.12 rewrites its own methods at the first start ("touchup"); a
        # second app in the same process fails unless test mode keeps the originals.
        test_mode, Sanic.test_mode = Sanic.test_mode, True
        try:
            await server.startup()
        finally:
            Sanic.test_mode = test_mode
        await server.after_start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.before_stop()
            server.close()
            await server.wait_closed()
            for connection in list(server.connections):  # keep-alive clients: end them too
                connection.close_if_idle()
            for _ in range(20):
                if not server.connections:
                    break
                await asyncio.sleep(0.05)
            for connection in list(server.connections):
                connection.abort()
            await server.after_stop()
            await asyncio.sleep(0)
