"""A socket.io client speaking the widget's protocol, for tests and the bench."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

import socketio

EVENTS = ("session_confirm", "session_history", "bot_uttered", "widget_error")


class WidgetClient:
    def __init__(self, server_url: str, transports: Optional[List[str]] = None) -> None:
        self.server_url = server_url
        # WebSocket only unless told: the widget's own fallback, long polling, needs sticky routing.
        self.transports = transports or ["websocket"]
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: Dict[str, "asyncio.Queue[Any]"] = {name: asyncio.Queue() for name in EVENTS}
        for name in EVENTS:
            self.sio.on(name, self.received[name].put_nowait)
        self.session_id: Optional[str] = None

    async def connect(self, origin: Optional[str] = None) -> None:
        headers = {"Origin": origin} if origin else {}
        await self.sio.connect(self.server_url, headers=headers, socketio_path="/socket.io",
                               transports=self.transports, wait_timeout=10)

    async def start_session(self, requested: Optional[str] = None) -> Tuple[str, Dict[str, Any]]:
        await self.sio.emit("session_request", {"session_id": requested})
        self.session_id = await self.next("session_confirm")
        return self.session_id, await self.next("session_history")

    async def say(self, text: str, metadata: Optional[Dict[str, Any]] = None,
                  session_id: Optional[str] = None) -> None:
        await self.sio.emit("user_uttered", {"session_id": session_id or self.session_id,
                                             "message": text, "metadata": metadata or {}})

    async def next(self, event: str, timeout: float = 30) -> Any:
        return await asyncio.wait_for(self.received[event].get(), timeout)

    async def replies_until_quiet(self, quiet: float = 1.5, timeout: float = 30) -> List[Dict[str, Any]]:
        """The bot's messages to the last utterance: the first one, then any within ``quiet`` s."""
        replies = [await self.next("bot_uttered", timeout)]
        while True:
            try:
                replies.append(await self.next("bot_uttered", quiet))
            except asyncio.TimeoutError:
                return replies

    async def close(self) -> None:
        await self.sio.disconnect()
