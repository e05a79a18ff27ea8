"""A fake Telegram Bot API server for the Telegram channel's tests.

An aiohttp app on a free port, run by a background thread with its own event
loop, so the code under test talks real HTTP to it (python-telegram-bot's
``Bot`` with ``base_url=<fake.url>/bot``), whether it runs in the test's event
loop or in a separate Rasa process.

What it does, as Telegram does it:

* ``/bot<token>/<method>``: parameters as form data (what PTB sends; nested
  objects JSON-encoded) or as JSON; answers ``{"ok": true, "result": ...}``.
  getMe, setWebhook, deleteWebhook, getUpdates (long poll; honours
  ``offset`` and ``timeout``; 409 while a webhook is set), sendMessage (checks
  the 4096-character and 64-byte callback_data limits; returns a Message with
  increasing message_id), sendChatAction, answerCallbackQuery,
  editMessageReplyMarkup, getFile; ``/file/bot<token>/<path>`` serves files.
* Every call is recorded (:attr:`calls`) with its parameters, time and
  status; a test waits for records with :meth:`wait_for` (a deadline, not a
  fixed sleep).
* Failures are programmed per method: :meth:`fail_next` (e.g. a 429 with
  ``retry_after``), :meth:`delay_next` (carried out, answered late: a read
  timeout), :meth:`go_offline` (connections refused for a while).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from aiohttp import web

from tests.servers import free_port

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "政务服务账号助手",
            "username": "most_account_test_bot"}
NESTED_PARAMETERS = ("commands", "reply_markup", "allowed_updates", "link_preview_options", "reply_parameters",
                     "entities")


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200
    result: Any = None


@dataclass
class _Failure:
    status: int = 0
    body: Dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0  # > 0: carry the call out, answer after this many seconds
    chat_id: Optional[int] = None  # only for calls to this chat

    def applies_to(self, params: Dict[str, Any]) -> bool:
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


def _user(chat_id: int) -> Dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "测试用户", "language_code": "zh-hans"}


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """Context manager: ``with FakeTelegram() as fake: ... fake.url ...``"""

    def __init__(self, token: str = "123:TEST") -> None:
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: List[Call] = []
        self.webhook: Dict[str, Any] = {}
        self.command_menus: Dict[str, List[Dict[str, Any]]] = {}  # setMyCommands: language_code ("" all) → menu
        self.sent: Dict[int, Dict[str, Any]] = {}  # message_id -> Message the bot sent
        self._lock = threading.Lock()
        self._pending: List[Dict[str, Any]] = []  # updates not confirmed by an offset yet
        self._files: Dict[str, Tuple[str, bytes]] = {}
        self._failures: Dict[str, Deque[_Failure]] = defaultdict(deque)
        self._update_ids = itertools.count(100001)
        self._message_ids = itertools.count(1)
        self._incoming_ids = itertools.count(5001)
        self._loop = asyncio.new_event_loop()
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        self._site: Optional[web.TCPSite] = None
        self._changed: Optional[asyncio.Event] = None

    # -- life cycle ----------------------------------------------------------

    def __enter__(self) -> "FakeTelegram":
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def start(self) -> None:
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True,
                                        name="fake-telegram")
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake Bot API server did not start")

    def stop(self) -> None:
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._thread = None

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(self._open())
        started.set()
        self._loop.run_forever()

    async def _open(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()

    async def _close(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Handlers still waiting (a delayed answer, a long poll) end here.
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # -- what tests program --------------------------------------------------

    def push_update(self, update: Dict[str, Any]) -> Dict[str, Any]:
        """Queues an update for getUpdates."""
        with self._lock:
            self._pending.append(update)
        self._loop.call_soon_threadsafe(self._wake_pollers)
        return update

    def add_file(self, file_id: str, data: bytes, file_path: Optional[str] = None) -> None:
        self._files[file_id] = (file_path or f"documents/{file_id}", data)

    def fail_next(self, method: str, status: int = 429, description: str = "",
                  retry_after: Optional[int] = None, times: int = 1,
                  chat_id: Optional[int] = None) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` if given) get
        this error and are not carried out."""
        body: Dict[str, Any] = {"ok": False, "error_code": status,
                                "description": description or _DESCRIPTIONS.get(status, "Error")}
        if retry_after is not None:
            body["description"] = description or f"Too Many Requests: retry after {retry_after}"
            body["parameters"] = {"retry_after": retry_after}
        with self._lock:
            for _ in range(times):
                self._failures[method].append(_Failure(status=status, body=body, chat_id=chat_id))

    def delay_next(self, method: str, seconds: float, chat_id: Optional[int] = None) -> None:
        """The next call of ``method`` is carried out, but answered only after ``seconds``."""
        with self._lock:
            self._failures[method].append(_Failure(delay=seconds, chat_id=chat_id))

    def go_offline(self, seconds: float) -> None:
        """Refuses connections from now on for ``seconds`` (returns at once)."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)

        def reopen() -> None:
            asyncio.ensure_future(self._open())

        self._loop.call_soon_threadsafe(self._loop.call_later, seconds, reopen)

    # -- what tests read -----------------------------------------------------

    def calls_of(self, method: str, ok_only: bool = False) -> List[Call]:
        with self._lock:
            return [call for call in self.calls
                    if call.method == method and (call.status == 200 or not ok_only)]

    def messages_to(self, chat_id: int) -> List[Dict[str, Any]]:
        """Parameters of the sendMessage calls to ``chat_id`` that were carried out."""
        return [call.params for call in self.calls_of("sendMessage", ok_only=True)
                if int(call.params.get("chat_id", 0)) == chat_id]

    def texts_to(self, chat_id: int) -> List[str]:
        return [params["text"] for params in self.messages_to(chat_id)]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Blocks until ``condition()`` is truthy and returns it; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(self._timed_out(timeout, what or str(condition)))
            time.sleep(0.02)

    async def until(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        """:meth:`wait_for` for async tests: lets the test's event loop run meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(self._timed_out(timeout, what or str(condition)))
            await asyncio.sleep(0.02)

    def _timed_out(self, timeout: float, what: str) -> str:
        sent = [(call.params.get("chat_id"), str(call.params.get("text", ""))[:80])
                for call in self.calls_of("sendMessage")[-5:]]
        return (f"timed out after {timeout} s waiting for {what}; calls: "
                f"{[call.method for call in self.calls]}; last messages sent: {sent}")

    # -- updates as Telegram sends them ---------------------------------------

    def message(self, chat_id: int, chat_type: str = "private", **content: Any) -> Dict[str, Any]:
        chat: Dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "测试用户"
        else:
            chat["title"] = "测试群"
        return {"message_id": next(self._incoming_ids), "date": int(time.time()), "chat": chat,
                "from": _user(abs(chat_id)), **content}

    def update(self, **content: Any) -> Dict[str, Any]:
        return {"update_id": next(self._update_ids), **content}

    def text_update(self, chat_id: int, text: str, chat_type: str = "private") -> Dict[str, Any]:
        return self.update(message=self.message(chat_id, chat_type, text=text))

    def photo_update(self, chat_id: int, file_id: str, file_size: int) -> Dict[str, Any]:
        """A photo as Telegram sends it: several sizes, the largest last."""
        sizes = [
            {"file_id": f"{file_id}-thumb", "file_unique_id": f"{file_id}-t", "width": 90,
             "height": 60, "file_size": max(1, file_size // 20)},
            {"file_id": file_id, "file_unique_id": f"{file_id}-u", "width": 1280, "height": 853,
             "file_size": file_size},
        ]
        return self.update(message=self.message(chat_id, photo=sizes))

    def document_update(self, chat_id: int, file_id: str, file_name: str, file_size: int,
                        mime_type: str = "image/jpeg") -> Dict[str, Any]:
        document = {"file_id": file_id, "file_unique_id": f"{file_id}-u", "file_name": file_name,
                    "mime_type": mime_type, "file_size": file_size}
        return self.update(message=self.message(chat_id, document=document))

    def callback_update(self, chat_id: int, data: str,
                        message: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """A button press; ``message`` is the bot's message the button was on."""
        query = {"id": f"cbq-{next(self._incoming_ids)}", "from": _user(chat_id),
                 "chat_instance": f"ci-{chat_id}", "data": data}
        query["message"] = message or {"message_id": next(self._incoming_ids),
                                       "date": int(time.time()), "from": BOT_USER,
                                       "chat": {"id": chat_id, "type": "private"}, "text": "…"}
        return self.update(callback_query=query)

    # -- the server ----------------------------------------------------------

    def _wake_pollers(self) -> None:
        assert self._changed is not None
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await _parameters(request)
        except ConnectionResetError:  # the client gave up (e.g. a cancelled long poll)
            return web.Response(status=499)
        call = Call(method, params, time.monotonic())
        with self._lock:
            self.calls.append(call)
            failure = next((f for f in self._failures[method] if f.applies_to(params)), None)
            if failure is not None:
                self._failures[method].remove(failure)
        if token != self.token:
            return _answer(call, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if failure is not None and failure.status:
            return _answer(call, failure.status, failure.body)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _answer(call, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        status, result = await handler(params)
        if failure is not None and failure.delay:
            await asyncio.sleep(failure.delay)
        if status != 200:
            return _answer(call, status, {"ok": False, "error_code": status, "description": result})
        call.result = result
        return _answer(call, 200, {"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        with self._lock:
            self.calls.append(Call("download", {"path": path}, time.monotonic()))
        for stored_path, data in self._files.values():
            if stored_path == path and request.match_info["token"] == self.token:
                response = web.Response(body=data, content_type="application/octet-stream")
                response.force_close()
                return response
        return web.Response(status=404)

    async def _api_getMe(self, _: Dict[str, Any]) -> Tuple[int, Any]:
        return 200, BOT_USER

    async def _api_setWebhook(self, params: Dict[str, Any]) -> Tuple[int, Any]:
        self.webhook = dict(params)
        return 200, True

    async def _api_setMyCommands(self, params: Dict[str, Any]) -> Tuple[int, Any]:
        self.command_menus[str(params.get("language_code") or "")] = list(params.get("commands") or [])
        return 200, True

    async def _api_deleteWebhook(self, _: Dict[str, Any]) -> Tuple[int, Any]:
        self.webhook = {}
        return 200, True

    async def _api_getUpdates(self, params: Dict[str, Any]) -> Tuple[int, Any]:
        if self.webhook.get("url"):
            return 409, ("Conflict: can't use getUpdates method while webhook is active; "
                         "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        assert self._changed is not None
        while True:
            self._changed.clear()
            with self._lock:
                if offset:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
                ready = self._pending[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return 200, ready
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def _api_sendMessage(self, params: Dict[str, Any]) -> Tuple[int, Any]:
        text = str(params.get("text") or "")
        if not text.strip():
            return 400, "Bad Request: message text is empty"
        if _utf16_length(text) > 4096:
            return 400, "Bad Request: message is too long"
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode("utf-8")) > 64:
                    return 400, "Bad Request: BUTTON_DATA_INVALID"
        chat_id = int(params["chat_id"])
        message: Dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "from": BOT_USER, "chat": {"id": chat_id, "type": "private",
                                                              "first_name": "测试用户"},
                                   "text": text}
        if markup:
            message["reply_markup"] = markup
        self.sent[message["message_id"]] = message
        return 200, message

    async def _api_sendChatAction(self, _: Dict[str, Any]) -> Tuple[int, Any]:
        return 200, True

    async def _api_answerCallbackQuery(self, _: Dict[str, Any]) -> Tuple[int, Any]:
        return 200, True

    async def _api_editMessageReplyMarkup(self, params: Dict[str, Any]) -> Tuple[int, Any]:
        message = self.sent.get(int(params.get("message_id") or 0))
        if message is None:
            return 400, "Bad Request: message to edit not found"
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return 200, message

    async def _api_getFile(self, params: Dict[str, Any]) -> Tuple[int, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            return 400, "Bad Request: invalid file_id"
        path, data = self._files[file_id]
        return 200, {"file_id": file_id, "file_unique_id": f"{file_id}-u", "file_size": len(data),
                     "file_path": path}


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after 1",
    502: "Bad Gateway",
}


async def _parameters(request: web.Request) -> Dict[str, Any]:
    """PTB posts form data (multipart with files); other clients may post JSON."""
    params: Dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.method == "POST" and request.can_read_body:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    for key in NESTED_PARAMETERS:
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass
    return params


def _answer(call: Call, status: int, body: Dict[str, Any]) -> web.Response:
    call.status = status
    response = web.json_response(body, status=status)
    # A new connection per request, as after a real network change: lets
    # go_offline() refuse the very next request.
    response.force_close()
    return response
