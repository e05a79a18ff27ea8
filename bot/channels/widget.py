"""The web chat widget's channel: socket.io plus the widget's own files.

Built on Rasa's socket.io channel, with what the widget needs and Rasa's
version lacks:

* session ids are issued by the server (128 random bits); a client may resume
  only a well-formed id, and may send only into the session its socket holds;
  the conversation is ``widget:<session id>`` (bot/channels/conversation_ids.py),
  a namespace no other channel produces, and its socket.io room has the same
  name, so agents' replies (bot/channels/handoff_bridge.py) reach it by that id;
* ``session_end`` (the widget's ``logout()``) forgets the socket's session
  and restarts its conversation (empty history, no slots, no verification);
* after ``session_confirm`` the server sends ``session_history`` (the
  conversation so far, from the tracker store), so a reloaded or reconnected
  page shows everything, including replies that came while it was away; it is
  read and sent under the conversation's lock, so no message stored meanwhile
  arrives before it and is wiped by it;
* rooms are joined with ``await`` (python-socketio 5.10+ made ``enter_room`` a
  coroutine; Rasa 3.6 calls it without one, so its replies never arrive);
* bot messages go out whole (newlines kept) rather than split at blank lines,
  so the live view and the history look the same;
* each message carries the client address of the request that opened the
  socket (bot/channels/client_address.py; a client cannot set it), for the
  limits per client address;
* a message the assistant could not handle (an action call failed, a store
  is down, the server is shutting down or saturated: bot/channels/turns.py,
  bot/channels/load_shedding.py) is answered with the busy message, never
  with silence;
* a turn's messages are sent once Rasa has stored the turn (``TurnOutput``),
  so what the user saw is always what the history shows after a reconnect:
  a turn cut short shows nothing but the busy message, or nothing at all when
  its server died, and the user's message is not in the history either; the
  save that stores the turn sends them, under the conversation's lock, so an
  agent's notice stored after them (sent by another Rasa server) cannot
  overtake them in the widget;
* only the origins in ``WIDGET_ALLOWED_ORIGINS`` (and the assistant's own)
  may connect; with ``REDIS_HOST`` set, socket.io rooms are shared through
  Redis, so any Rasa process can reach any widget, and a Redis restart loses
  no message (bot/channels/socket_rooms.py).

* the widget is told the conversation's language (the tracker's ``language``
  slot: bot/channels/conversation_language.py) for its own texts: as
  ``language`` of ``session_history`` and of each bot message of a turn (as
  the store saved the turn: ``noting_turn_language``, no extra read) and of an
  agent's or the handoff's messages
  (bot/channels/handoff_bridge.py); absent while the slot is unset (the
  widget then follows the browser's language).  The socket's refusals and the
  busy message, whose language may be unknowable, are in both languages.

Files under ``/webhooks/widget/``: ``widget.js``, ``widget.css``,
``socket.io.min.js`` (npm, installed by the Makefile) and ``demo`` (a page
imitating the platform's home page with the widget on it).
"""

from __future__ import annotations

import logging
import uuid
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterable, List, Optional, Set, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.shared.core.events import BotUttered, Restarted, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot import config
from bot.accounts.uploads import upload_refusals
from bot.channels.busy import BUSY_TEXT
from bot.channels.client_address import CLIENT_ADDRESS_METADATA, client_address
from bot.channels.common import origin_allowed, own_origins
from bot.channels.conversation_ids import WIDGET_SESSION_ID, widget_conversation
from bot.channels.conversation_language import chosen_language, noting_turn_language, slot_language, stored_language
from bot.channels.socket_rooms import DurableRedisManager
from bot.channels.turns import Intake, Outcome, RepliesHeldUntilStored, intake
from bot.language import LANGUAGE_HINT_METADATA, tr_every

logger = logging.getLogger(__name__)

WIDGET_DIR = config.PROJECT_ROOT / "bot" / "widget"
SESSION_ID = WIDGET_SESSION_ID
HISTORY_LIMIT = 200
# How often a history waiting for a turn in flight asks for the conversation's lock again.
HISTORY_LOCK_POLL_SECONDS = 0.1
# Metadata a browser may attach to a message; anything else is dropped.  The
# language hint is the browser's navigator.language (actions/session.py).
CLIENT_METADATA_KEYS = ("identity_token", "upload_id", "display_text", LANGUAGE_HINT_METADATA)
# The socket's refusals: its conversation's language is not known then, so both languages.
BAD_MESSAGE_TEXT = tr_every("widget.bad_message")
SESSION_EXPIRED_TEXT = tr_every("widget.session_expired")

STATIC_FILES: Dict[str, tuple] = {
    "widget.js": (WIDGET_DIR / "widget.js", "application/javascript; charset=utf-8"),
    "widget.css": (WIDGET_DIR / "widget.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (
        WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js",
        "application/javascript; charset=utf-8",
    ),
    "demo": (WIDGET_DIR / "demo.html", "text/html; charset=utf-8"),
}
DEMO_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self' ws: wss:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


def new_session_id() -> str:
    return uuid.uuid4().hex


def resumable_session_id(requested: Any) -> Optional[str]:
    return requested if isinstance(requested, str) and SESSION_ID.fullmatch(requested) else None


def client_metadata(raw: Any) -> Dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in CLIENT_METADATA_KEYS if isinstance(raw.get(key), str)}


def socket_client_address(environ: Optional[Dict[str, Any]]) -> str:
    """The client address of a socket.io connection: that of the HTTP request that opened it."""
    request = (environ or {}).get("sanic.request")
    return client_address(request) if request is not None else ""


def transcript(events: Iterable[Any], limit: int = HISTORY_LIMIT) -> List[Dict[str, Any]]:
    """What the user saw: their own words (or a button's title) and the bot's messages."""
    messages: List[Dict[str, Any]] = []
    for event in events:
        if isinstance(event, Restarted):
            messages = []
        elif isinstance(event, UserUttered):
            shown = (event.metadata or {}).get("display_text") or event.text or ""
            if shown and not shown.startswith("/"):
                messages.append({"sender": "user", "text": shown})
        elif isinstance(event, BotUttered) and (event.text or (event.data or {}).get("buttons")):
            messages.append({"sender": "bot", **bot_message(event.text or "", (event.data or {}).get("buttons"))})
    return messages[-limit:]


def bot_message(
    text: str, buttons: Optional[List[Dict[str, Any]]] = None, language: Optional[str] = None
) -> Dict[str, Any]:
    """A bot message as the widget receives it (``bot_uttered``); ``language``: the
    conversation's, for the widget's own texts (left out when unknown)."""
    message: Dict[str, Any] = {"text": text}
    if buttons:
        message["quick_replies"] = [
            {"title": button.get("title", ""), "payload": button.get("payload", "")} for button in buttons
        ]
    if language:
        message["language"] = language
    return message


class WidgetOutput(OutputChannel):
    """Sends to every socket of the conversation (its room, named by the conversation id)."""

    @classmethod
    def name(cls) -> Text:
        return "widget"

    def __init__(self, sio: AsyncServer) -> None:
        self.sio = sio

    async def _emit(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        await self.sio.emit("bot_uttered", message, room=recipient_id)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._emit(recipient_id, bot_message(text, language=kwargs.get("language")))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, bot_message(text, buttons, kwargs.get("language")))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._emit(recipient_id, {"text": image})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[str, Any], **kwargs: Any) -> None:
        logger.debug("custom JSON not shown in the widget: %s", json_message)


class TurnOutput(WidgetOutput, RepliesHeldUntilStored):
    """The messages of one user turn, held until Rasa has stored the turn, then sent to the
    conversation's room.  Sent as they were made, a turn cut short (its Rasa server killed,
    the conversation store down at the save) would have shown the user replies that the
    conversation never kept: gone from the history at the next reconnect, and the message
    they answered with them (the load test's chaos found both).

    Released by the save that stores the turn (``turns.RepliesHeldUntilStored``), so under the
    conversation's lock: an agent's notice stored after them cannot overtake them.  A turn whose
    message is never stored by Rasa (the rating, the cancel button) is sent by the channel after
    the turn (:meth:`send`); each message is sent once."""

    def __init__(self, sio: AsyncServer) -> None:
        super().__init__(sio)
        self.messages: List[Dict[str, Any]] = []
        self.released = False
        self.undelivered = False  # Redis gone for longer than a restart: the history has them

    async def _emit(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        if self.released:
            await super()._emit(recipient_id, message)
        else:
            self.messages.append(message)

    async def release(self, tracker: Any) -> None:
        await self.send(tracker.sender_id, slot_language(tracker))

    async def send(self, conversation: str, language: Optional[str] = None) -> None:
        if self.released:
            return
        self.released = True
        try:
            for message in self.messages:
                if language and "language" not in message:
                    message = {**message, "language": language}
                await self.sio.emit("bot_uttered", message, room=conversation)
        except ConnectionError:
            logger.exception("the replies to %s could not be sent", conversation)
            self.undelivered = True


class WidgetBlueprint(SocketBlueprint):
    """Remembers the app it is registered on: the history needs its tracker store."""

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        self.ctx.app = app
        super().register(app, options)


class WidgetInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "widget"

    def __init__(self) -> None:
        self.sio: Optional[AsyncServer] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WidgetOutput(self.sio) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = self.sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=lambda origin, environ: origin_allowed(origin, _own_origins(environ)),
            client_manager=_room_manager(),
        )
        routes = WidgetBlueprint(sio, "/socket.io", "widget", __name__)
        self._add_file_routes(routes)
        self._add_socket_handlers(sio, routes, intake(on_new_message))
        return routes

    @staticmethod
    def _add_file_routes(routes: Blueprint) -> None:
        @routes.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @routes.route("/<name>", methods=["GET"])
        async def widget_file(_: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                return response.text("not found", status=404)
            path, content_type = STATIC_FILES[name]
            headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
            if name == "demo":
                headers.update(DEMO_PAGE_HEADERS)
            return await response.file(Path(path), mime_type=content_type, headers=headers)

    def _add_socket_handlers(
        self,
        sio: AsyncServer,
        routes: WidgetBlueprint,
        receive_message: Intake,
    ) -> None:
        @sio.on("session_request")
        async def session_request(sid: Text, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = resumable_session_id(requested) or new_session_id()
            async with sio.session(sid) as socket_session:
                previous = socket_session.get("session_id")
                socket_session["session_id"] = session_id
            conversation = widget_conversation(session_id)
            if previous and previous != session_id:
                await sio.leave_room(sid, widget_conversation(previous))
            await sio.enter_room(sid, conversation)
            await sio.emit("session_confirm", session_id, room=sid)
            app = getattr(routes.ctx, "app", None)
            async with _nothing_stored_meanwhile(app, conversation):
                try:
                    history = await self._history(app, conversation)
                except Exception:  # noqa: BLE001 - the conversation store is down: say so, keep the session
                    logger.exception("the history of %s could not be read", conversation)
                    await tell_busy(sio, sid)
                    return
                await sio.emit("session_history", history, room=sid)

        @sio.on("session_end")
        async def session_end(sid: Text, data: Any) -> bool:
            """The platform's user logged out (the widget's ``logout()``): the socket forgets its
            session and the conversation is restarted, so the session id, should it be read from
            the browser later, resumes an empty, unverified conversation."""
            async with sio.session(sid) as socket_session:
                session_id = socket_session.pop("session_id", None)
            if not session_id:
                return True
            conversation = widget_conversation(session_id)
            await sio.leave_room(sid, conversation)
            await self._restart(getattr(routes.ctx, "app", None), conversation)
            return True

        @sio.on("user_uttered")
        async def user_uttered(sid: Text, data: Any) -> None:
            session_id = (await sio.get_session(sid)).get("session_id")
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                await _refuse(sio, sid, BAD_MESSAGE_TEXT)
                return
            if not session_id or data.get("session_id") != session_id:
                await _refuse(sio, sid, SESSION_EXPIRED_TEXT)
                return
            metadata = client_metadata(data.get("metadata"))
            metadata[CLIENT_ADDRESS_METADATA] = socket_client_address(sio.get_environ(sid))
            conversation = widget_conversation(session_id)
            turn = TurnOutput(sio)
            message = UserMessage(data["message"], turn, conversation, input_channel=self.name(), metadata=metadata)
            with noting_turn_language(conversation) as left:
                outcome = await receive_message(message)
            if outcome is not Outcome.REFUSED:  # the turn is stored: what it said may be shown
                # The language the turn left (it may have just switched), for the widget's own texts:
                # noted as the turn was stored; read back only from a store nobody watches.
                language = left.language
                if turn.messages and not left.stored:
                    language = await stored_language(getattr(routes.ctx, "app", None), conversation)
                await turn.send(conversation, language)  # nothing left to send if the save released it
                if turn.undelivered:
                    outcome = Outcome.DEGRADED
            if outcome is not Outcome.ANSWERED:
                await tell_busy(sio, sid)

    @staticmethod
    async def _restart(app: Optional[Sanic], conversation: str) -> None:
        """Ends the conversation in the tracker store: history, slots and verification."""
        agent = getattr(app.ctx, "agent", None) if app else None
        if agent is None:
            return
        async with agent.lock_store.lock(conversation):
            tracker = await agent.tracker_store.retrieve(conversation)
            if tracker is None:
                return
            tracker.update(Restarted())
            await agent.tracker_store.save(tracker)

    async def _history(self, app: Optional[Sanic], conversation: str) -> Dict[str, Any]:
        tracker = None
        agent = getattr(app.ctx, "agent", None) if app else None
        if agent is not None:
            tracker = await agent.tracker_store.retrieve(conversation)
        return {
            "messages": transcript(tracker.events) if tracker else [],
            "language": slot_language(tracker),
            "max_upload_bytes": config.get_int("MAX_UPLOAD_BYTES"),
            "accepted_types": ["image/jpeg", "image/png"],
            "upload_refusals": upload_refusals(config.get_int("MAX_UPLOAD_BYTES"), chosen_language(tracker)),
        }


@asynccontextmanager
async def _nothing_stored_meanwhile(app: Optional[Sanic], conversation: str) -> AsyncIterator[None]:
    """Holds the conversation's lock while its history is read and sent.

    The widget replaces what it shows with ``session_history``; a bot message that reached
    the socket (it joined the room first) before the history but was stored after the read
    would vanish from the screen (the load test: an agent's reply stored while a reconnecting
    widget's history was read, never shown).  Every bot message is stored and sent under
    this lock (a turn's by its save, an agent's by bot/channels/handoff_bridge.py), so under
    it the history holds everything sent before it and everything sent after it comes after.
    A lock store that cannot be reached (Redis restarting) does not keep the history back."""
    agent = getattr(app.ctx, "agent", None) if app else None
    async with AsyncExitStack() as held:
        if agent is not None:
            try:
                await held.enter_async_context(
                    agent.lock_store.lock(conversation, wait_time_in_seconds=HISTORY_LOCK_POLL_SECONDS)
                )
            except Exception:  # noqa: BLE001 - the history without the lock beats no history
                logger.warning("the history of %s is read without its lock", conversation, exc_info=True)
        yield


async def tell_busy(sio: AsyncServer, sid: str) -> None:
    """The busy message as a bot message, to the socket that sent: straight to
    it, not through Redis (``ignore_queue``), which may be what is down."""
    await sio.emit("bot_uttered", bot_message(BUSY_TEXT), room=sid, ignore_queue=True)


async def _refuse(sio: AsyncServer, sid: str, reason: str) -> None:
    await sio.emit("widget_error", {"message": reason}, room=sid)


def _own_origins(environ: Dict[str, Any]) -> Set[str]:
    """``request_origins`` from engineio's WSGI-style environ."""
    host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST", "")).split(",")[0].strip()
    return own_origins(environ.get("wsgi.url_scheme", "http"), host, environ.get("HTTP_X_FORWARDED_PROTO", ""))


def _room_manager() -> Optional[DurableRedisManager]:
    host = config.get("REDIS_HOST")
    if not host:
        return None
    return DurableRedisManager(f"redis://{host}:{config.get('REDIS_PORT')}/{config.get('REDIS_DB')}")
