"""The Telegram channel (python-telegram-bot's ``Bot``, no ``telegram.ext``).

Settings come from ``bot/config.py``, not from credentials.yml:
``TELEGRAM_BOT_TOKEN`` (empty: the channel is off), ``TELEGRAM_WEBHOOK_URL``
(empty: long polling), ``TELEGRAM_SECRET_TOKEN`` (required with a webhook),
``TELEGRAM_API_URL`` and ``MAX_UPLOAD_BYTES``.  docs/telegram.md explains the
set-up.

* Webhook mode: Telegram posts updates to ``/webhooks/telegram/webhook``; the
  secret header is checked, the update is queued and the request answered at
  once, so a slow reply (a 429 wait) never makes Telegram send it again.
* Polling mode: a background task long-polls ``getUpdates`` and confirms
  updates (the offset) only after they were handled.

Each private chat is one conversation, ``telegram:<chat_id>`` (a namespace no
other channel produces: bot/channels/conversation_ids.py); its updates are
handled one after another, different chats at the same time, at most
``TELEGRAM_MAX_CONCURRENT_UPDATES`` of them: the others wait their turn.  In
webhook mode at most ``MAX_WAITING_UPDATES`` wait; beyond that the webhook
answers 503 with Retry-After, and Telegram delivers the update again later
(nothing is lost; polling fetches the next batch only when one is handled).  Commands are
mapped to intents here, because Rasa would read any ``/word`` as an intent.
Every message to Rasa carries the sender's app language (``language_code``)
as the metadata ``language_hint``: the session start takes it for the
conversation's language (actions/session.py).
Sending, with its retry rules, is in ``telegram_delivery.py``.

Languages (bot/language.py): at start-up the command menu is registered
(``setMyCommands``) in Chinese for every client and in English for clients set
to English (``language_code``); one try each, a failure is only logged (the
commands work without the menu).  What the channel says itself (an unknown
command, an unsupported message, a failed download, an expired button, a
refused photo) and the label a photo shows in the conversation ("[照片] …" /
"[Photo] …", the ``display_text`` of its ``/send_file``) are in the
conversation's language: the tracker's ``language`` slot, else the Telegram
client's language.  A message of buttons only gets a line in both languages
(it comes from Rasa's output, where the conversation is not at hand).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Text, Tuple, Union

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    PhotoSize,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot import config
from bot.accounts.checks import InvalidInput
from bot.accounts.uploads import photo_too_large
from bot.channels.busy import BUSY_TEXT
from bot.channels.client_address import CLIENT_ADDRESS_METADATA
from bot.channels.common import SEND_FILE_TEXT, store_upload, upload_metadata
from bot.channels.conversation_ids import TELEGRAM, local_id, telegram_conversation
from bot.channels.conversation_language import current_app, stored_language
from bot.channels.telegram_delivery import Undelivered, deliver, retry_after_seconds, split_text
from bot.channels.turns import TURNS, Intake, Outcome, intake
from bot.language import DEFAULT_LANGUAGE, LANGUAGE_HINT_METADATA, language_of, tr, tr_every

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT_SECONDS = 25
MAX_BACKOFF_SECONDS = 30.0
REMEMBERED_UPDATES = 2000
REMEMBERED_CALLBACKS = 10000
MAX_CALLBACK_DATA_BYTES = 64
# Updates waiting or being handled, at most: each stays remembered (for
# redeliveries) while it waits.  Beyond it the webhook asks Telegram to retry.
MAX_WAITING_UPDATES = REMEMBERED_UPDATES // 2
WEBHOOK_RETRY_AFTER_SECONDS = 5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_PATTERN = re.compile(r"^/([A-Za-z0-9_]+)(?:@[A-Za-z0-9_]+)?(?:\s|$)")

COMMANDS = {"start": "/greet", "help": "/greet", "restart": "/restart", "human": "/request_human"}

# The command menu: each command's description (catalogue key), in the menu's order.
COMMAND_DESCRIPTIONS = {
    "start": "telegram.command_start",
    "help": "telegram.command_help",
    "restart": "telegram.command_restart",
    "human": "telegram.command_human",
}
# The menu of each language: the default language's for every client (no language_code),
# the others' for clients set to that language.
MENU_LANGUAGE_CODES: Dict[str, Optional[str]] = {DEFAULT_LANGUAGE: None, "en": "en"}

UNKNOWN_COMMAND = "telegram.unknown_command"
UNSUPPORTED = "telegram.unsupported"
DOWNLOAD_FAILED = "telegram.download_failed"
EXPIRED_BUTTON = "telegram.expired_button"
# How a photo the user sent shows in the conversation ("[照片] photo_12.jpg", "[Photo] photo_12.jpg").
PHOTO_LABEL = "telegram.photo"
# The texts in the default language (tests read them).
UNKNOWN_COMMAND_TEXT = tr(UNKNOWN_COMMAND)
UNSUPPORTED_TEXT = tr(UNSUPPORTED)
DOWNLOAD_FAILED_TEXT = tr(DOWNLOAD_FAILED)
EXPIRED_BUTTON_TEXT = tr(EXPIRED_BUTTON)
BUTTONS_ONLY_TEXT = tr_every("telegram.buttons_only", " / ")


class TelegramSetupError(ValueError):
    """The Telegram settings cannot work; the message says what to change."""


@dataclass(frozen=True)
class TelegramSettings:
    token: str = ""
    webhook_url: str = ""
    secret_token: str = ""
    api_url: str = "https://api.telegram.org"
    max_upload_bytes: int = 1048576
    max_concurrent_updates: int = 16

    @classmethod
    def from_config(cls, environ: Optional[Mapping[str, str]] = None) -> "TelegramSettings":
        return cls(
            token=config.get("TELEGRAM_BOT_TOKEN", environ).strip(),
            webhook_url=config.get("TELEGRAM_WEBHOOK_URL", environ).strip(),
            secret_token=config.get("TELEGRAM_SECRET_TOKEN", environ).strip(),
            api_url=config.get("TELEGRAM_API_URL", environ).strip().rstrip("/"),
            max_upload_bytes=config.get_int("MAX_UPLOAD_BYTES", environ),
            max_concurrent_updates=config.get_int("TELEGRAM_MAX_CONCURRENT_UPDATES", environ),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def uses_webhook(self) -> bool:
        return self.enabled and bool(self.webhook_url)

    def check(self) -> None:
        """Refuses, at start-up, settings that would only fail later."""
        if self.max_concurrent_updates < 1:
            raise TelegramSetupError(
                f"TELEGRAM_MAX_CONCURRENT_UPDATES must be at least 1, got {self.max_concurrent_updates}"
            )
        if not self.uses_webhook:
            return
        if not self.webhook_url.startswith("https://"):
            raise TelegramSetupError(
                f"TELEGRAM_WEBHOOK_URL must be an https:// address (Telegram only calls "
                f"HTTPS webhooks), got {self.webhook_url!r}"
            )
        if not _SECRET_PATTERN.match(self.secret_token):
            raise TelegramSetupError(
                "TELEGRAM_WEBHOOK_URL is set, so TELEGRAM_SECRET_TOKEN is required: 1-256 "
                'characters of A-Z a-z 0-9 _ - (e.g. from `python -c "import secrets; '
                'print(secrets.token_urlsafe(32))"`). Without it anyone could post fake updates.'
            )
        if not self.webhook_url.rstrip("/").endswith("/webhooks/telegram/webhook"):
            logger.warning(
                "TELEGRAM_WEBHOOK_URL %s does not end in /webhooks/telegram/webhook; "
                "fine only if a proxy rewrites the path",
                self.webhook_url,
            )


def make_bot(settings: TelegramSettings) -> Bot:
    return Bot(settings.token, base_url=f"{settings.api_url}/bot", base_file_url=f"{settings.api_url}/file/bot")


def sender_id_of(chat_id: int) -> str:
    return telegram_conversation(chat_id)


def chat_id_of(recipient_id: str) -> int:
    """``telegram:<chat_id>`` to the chat id; ValueError for a conversation of any other channel."""
    return int(local_id(recipient_id, TELEGRAM))


def client_metadata(update: Update) -> Dict[str, Any]:
    """What the update tells of the sender's client: the app's language as the session's hint (actions/session.py)."""
    code = getattr(update.effective_user, "language_code", None)
    return {LANGUAGE_HINT_METADATA: code} if isinstance(code, str) and code else {}


def command_of(text: str) -> Optional[str]:
    """``/start``, ``/start@SomeBot`` or ``/start payload`` -> ``start``."""
    match = _COMMAND_PATTERN.match(text.strip())
    return match.group(1).lower() if match else None


class CallbackData:
    """Button payloads as ``callback_data``, which Telegram limits to 64 bytes.

    A longer payload (an FAQ question) travels as ``#`` + 20 hex digits of its
    SHA-256.  When pressed, it is looked up among the payloads this process
    sent, else read from the pressed message itself: the button whose data
    matches carries the title, and FAQ buttons' titles are their payloads.
    """

    def __init__(self, remembered: int = REMEMBERED_CALLBACKS) -> None:
        self._payloads: "OrderedDict[str, str]" = OrderedDict()
        self._remembered = remembered

    def encode(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES and not payload.startswith("#"):
            return payload
        data = "#" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
        self._payloads[data] = payload
        self._payloads.move_to_end(data)
        while len(self._payloads) > self._remembered:
            self._payloads.popitem(last=False)
        return data

    def decode(self, data: Optional[str], message: Any) -> Optional[Tuple[str, str]]:
        """(payload, button title) of a press, or None if it cannot be told."""
        if not data:
            return None
        title = _button_title(message, data)
        if data.startswith("#"):
            payload = self._payloads.get(data) or title
            if payload is None:
                return None
        else:
            payload = data
        return payload, title or payload

    def keyboard(self, buttons: List[Dict[str, Any]]) -> InlineKeyboardMarkup:
        """One button per row: Chinese titles are long."""
        rows = []
        for button in buttons:
            payload = str(button.get("payload") or button.get("title") or "")
            title = str(button.get("title") or payload)
            rows.append([InlineKeyboardButton(title, callback_data=self.encode(payload))])
        return InlineKeyboardMarkup(rows)


def _button_title(message: Any, data: str) -> Optional[str]:
    markup = getattr(message, "reply_markup", None) if isinstance(message, Message) else None
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


class TelegramOutput(OutputChannel):
    """Bot messages to a Telegram chat: plain text (never parsed as markup),
    link previews off (Telegram's crawler must not open the one-time reset
    link), long texts in parts, buttons as an inline keyboard."""

    def __init__(self, bot: Bot, callbacks: CallbackData) -> None:
        self.bot = bot
        self.callbacks = callbacks

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send(recipient_id, text, self.callbacks.keyboard(buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.send(recipient_id, image)

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self.send(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        logger.info(
            "Custom payload for %s not shown on Telegram: %s",
            recipient_id,
            json.dumps(json_message, ensure_ascii=False)[:200],
        )

    async def send(self, recipient_id: str, text: str, reply_markup: Optional[InlineKeyboardMarkup] = None) -> bool:
        """Sends the parts in order; True if all arrived.  Never raises: an
        exception here would stop Rasa from saving the conversation."""
        try:
            chat_id = chat_id_of(recipient_id)
        except ValueError as error:
            logger.error("Cannot send on Telegram: %s", error)
            return False
        parts = split_text(text or "") or ([BUTTONS_ONLY_TEXT] if reply_markup else [])
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            call = partial(
                self.bot.send_message,
                chat_id=chat_id,
                text=part,
                reply_markup=reply_markup if last else None,
                link_preview_options=NO_PREVIEW,
            )
            try:
                await deliver(call, f"sendMessage to {recipient_id}")
            except Undelivered:
                if not last:
                    logger.warning(
                        "The %d later part(s) of this message to %s are not sent", len(parts) - index - 1, recipient_id
                    )
                return False
        return True


class TelegramInput(InputChannel):
    """Updates from Telegram (webhook or long polling) into conversations."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        # Secrets stay in the environment (bot/config.py), not in credentials.yml.
        return cls(TelegramSettings.from_config())

    def __init__(
        self,
        settings: Optional[TelegramSettings] = None,
        bot_factory: Callable[[TelegramSettings], Bot] = make_bot,
        poll_timeout: int = POLL_TIMEOUT_SECONDS,
    ) -> None:
        self.settings = settings if settings is not None else TelegramSettings.from_config()
        self.settings.check()
        self._bot_factory = bot_factory
        self.poll_timeout = poll_timeout
        self.bot: Optional[Bot] = None
        self.output: Optional[TelegramOutput] = None
        self.callbacks = CallbackData()
        self.ready = asyncio.Event()  # set once setWebhook / deleteWebhook went through
        self._on_new_message: Optional[Intake] = None
        self._runner: Optional["asyncio.Task[None]"] = None
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._locks: "weakref.WeakValueDictionary[int, asyncio.Lock]" = weakref.WeakValueDictionary()
        self._recent_updates: "OrderedDict[int, None]" = OrderedDict()
        self._waiting = 0  # updates accepted and not yet handled
        self._slots: Optional[asyncio.Semaphore] = None  # made in start(), on the server's loop

    # -- Sanic ---------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        routes = Blueprint("telegram_webhook", __name__)

        @routes.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            await self.start(on_new_message)

        @routes.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.stop()

        @routes.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if not self.settings.enabled:
                return response.json({"error": "the Telegram channel is off"}, status=404)
            return response.json({"status": "ok", "mode": "webhook" if self.settings.uses_webhook else "polling"})

        @routes.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self.receive_webhook(request.headers.get(SECRET_HEADER), request.body or b"")

        return routes

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output if self.bot is not None else None

    def receive_webhook(self, secret: Optional[str], body: bytes) -> HTTPResponse:
        """Checks and queues one update; answers before it is handled."""
        if not self.settings.uses_webhook:
            return response.json({"error": "not found"}, status=404)
        if not hmac.compare_digest((secret or "").encode("utf-8"), self.settings.secret_token.encode("utf-8")):
            return response.json({"error": "wrong secret token"}, status=403)
        if self.bot is None:
            return response.json({"error": "starting up, try again"}, status=503)
        if self._waiting >= MAX_WAITING_UPDATES or TURNS.draining:
            logger.warning("Telegram: %d updates waiting; asking Telegram to send this one again", self._waiting)
            return response.json(
                {"error": "busy, send again later"},
                status=503,
                headers={"Retry-After": str(WEBHOOK_RETRY_AFTER_SECONDS)},
            )
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return response.json({"error": "body is not JSON"}, status=400)
        if not isinstance(data, dict):
            return response.json({"error": "body must be a JSON object (an Update)"}, status=400)
        try:
            update = Update.de_json(data, self.bot)
        except Exception as error:  # noqa: BLE001 - any malformed update is the sender's fault
            logger.warning("Malformed Telegram update refused: %r", error)
            return response.json({"error": "not a Telegram Update"}, status=400)
        self.accept(update)
        return response.json({"ok": True})

    # -- life cycle ----------------------------------------------------------

    async def start(self, on_new_message: OnNewMessage) -> None:
        self._on_new_message = intake(on_new_message)
        self._slots = asyncio.Semaphore(self.settings.max_concurrent_updates)
        if not self.settings.enabled:
            logger.info("Telegram channel off: TELEGRAM_BOT_TOKEN is empty")
            return
        _keep_token_out_of_logs()
        self.bot = self._bot_factory(self.settings)
        self.output = TelegramOutput(self.bot, self.callbacks)
        self._runner = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Ends polling, gives updates being handled ``SHUTDOWN_GRACE_SECONDS``, closes the bot."""
        if self._runner is not None:
            await _cancel(self._runner)
            self._runner = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=config.get_int("SHUTDOWN_GRACE_SECONDS"))
            await asyncio.gather(*(_cancel(task) for task in pending))
        if self.bot is not None:
            await self.bot.shutdown()
        self.bot = None
        self.output = None
        self.ready.clear()

    async def _run(self) -> None:
        bot = self.bot
        assert bot is not None
        try:
            await self._keep_trying(bot.initialize, bot.get_me, "connecting to the Bot API")
            await register_commands(bot)
            if self.settings.uses_webhook:
                set_webhook = partial(
                    bot.set_webhook,
                    self.settings.webhook_url,
                    secret_token=self.settings.secret_token,
                    allowed_updates=ALLOWED_UPDATES,
                )
                await self._keep_trying(set_webhook, set_webhook, "setWebhook")
                logger.info("Telegram channel ready: webhook %s", self.settings.webhook_url)
                self.ready.set()
            else:
                await self._keep_trying(bot.delete_webhook, bot.delete_webhook, "deleteWebhook")
                logger.info("Telegram channel ready: long polling")
                self.ready.set()
                await self._poll(bot)
        except InvalidToken:
            # The exception's text contains the token: say it without it.
            logger.error("The Bot API rejected TELEGRAM_BOT_TOKEN: the Telegram channel is off")

    async def _keep_trying(
        self, first: Callable[[], Awaitable[Any]], again: Callable[[], Awaitable[Any]], what: str
    ) -> None:
        """Start-up calls wait out a Telegram or network outage instead of
        taking the whole assistant down; a rejected token ends the channel."""
        call, failures = first, 0
        while True:
            try:
                await call()
                return
            except InvalidToken:
                raise
            except TelegramError as error:
                wait = _backoff(error, failures)
                failures += 1
                logger.warning("Telegram: %s failed (%s), trying again in %.0f s", what, error, wait)
                call = again
                await asyncio.sleep(wait)

    async def _poll(self, bot: Bot) -> None:
        """Long polling; an update is confirmed (offset) only once handled."""
        offset: Optional[int] = None
        failures = 0
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except InvalidToken:
                raise
            except TelegramError as error:
                wait = _backoff(error, failures)
                failures += 1
                logger.warning(
                    "Telegram getUpdates failed (%s), trying again in %.0f s%s",
                    error,
                    wait,
                    " - is another process polling this token?" if "onflict" in str(error) else "",
                )
                await asyncio.sleep(wait)
                continue
            handling = [task for task in map(self.accept, updates) if task is not None]
            if handling:
                await asyncio.wait(handling)
            if updates:
                offset = updates[-1].update_id + 1

    # -- updates -------------------------------------------------------------

    def accept(self, update: Update) -> Optional["asyncio.Task[None]"]:
        """Queues an update for its chat; None if it is ignored.  Synchronous,
        so updates of one chat queue up in the order they arrived."""
        if self._seen_before(update.update_id):
            logger.info("Telegram update %s arrived again; ignored", update.update_id)
            return None
        query = update.callback_query
        if query is not None:
            self._spawn(self._answer_callback(query))
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return None  # groups and channels: this assistant talks one to one
        if update.message is None and query is None:
            return None
        self._waiting += 1
        return self._spawn(self._handle_in_order(chat.id, update))

    def _seen_before(self, update_id: int) -> bool:
        if update_id in self._recent_updates:
            return True
        self._recent_updates[update_id] = None
        while len(self._recent_updates) > REMEMBERED_UPDATES:
            self._recent_updates.popitem(last=False)
        return False

    def _spawn(self, coroutine: Awaitable[Any]) -> "asyncio.Task[Any]":
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle_in_order(self, chat_id: int, update: Update) -> None:
        """After the chat's earlier updates, in one of the slots: an update
        waiting for its chat holds no slot."""
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        assert self._slots is not None
        try:
            async with lock, self._slots:
                await self._handle(chat_id, update)
        finally:
            self._waiting -= 1

    async def _handle(self, chat_id: int, update: Update) -> None:
        try:
            await self._typing(chat_id)
            client = client_metadata(update)
            if update.callback_query is not None:
                await self._on_callback(sender_id_of(chat_id), update.callback_query, client)
            elif update.message is not None:
                await self._on_message(sender_id_of(chat_id), update.message, client)
        except Exception:  # noqa: BLE001 - one bad update must not stop the others
            logger.exception("Handling Telegram update %s failed", update.update_id)

    async def _on_message(self, sender_id: str, message: Message, client: Dict[str, Any]) -> None:
        if message.text is not None:
            await self._on_text(sender_id, message.text, client)
        elif message.photo or message.document:
            await self._on_file(sender_id, message, client)
        else:
            await self._reply(sender_id, await self._text(UNSUPPORTED, sender_id, client))

    async def _on_text(self, sender_id: str, text: str, client: Dict[str, Any]) -> None:
        if not text.lstrip().startswith("/"):
            await self._to_rasa(sender_id, text, client)
            return
        intent = COMMANDS.get(command_of(text) or "")
        if intent is None:
            # Never passed on: Rasa would take "/anything" for an intent.
            await self._reply(sender_id, await self._text(UNKNOWN_COMMAND, sender_id, client))
            return
        await self._to_rasa(sender_id, intent, {**client, "display_text": text.strip()})

    async def _on_callback(self, sender_id: str, query: CallbackQuery, client: Dict[str, Any]) -> None:
        choice = self.callbacks.decode(query.data, query.message)
        if choice is None:
            await self._reply(sender_id, await self._text(EXPIRED_BUTTON, sender_id, client))
            return
        payload, title = choice
        await self._to_rasa(sender_id, payload, {**client, "display_text": title})

    async def _on_file(self, sender_id: str, message: Message, client: Dict[str, Any]) -> None:
        item, name = _file_of(message)
        language = await self._language(sender_id, client)
        limit = self.settings.max_upload_bytes
        if item.file_size and item.file_size > limit:
            await self._reply(sender_id, photo_too_large(item.file_size, limit, language))
            return
        data = await self._download(sender_id, item)
        if data is None:
            await self._reply(sender_id, tr(DOWNLOAD_FAILED, language))
            return
        try:
            upload = await store_upload(sender_id, data, name)
        except InvalidInput as refusal:
            await self._reply(sender_id, refusal.text(language))
            return
        # What the conversation's record shows the user sent (the agent's transcript too).
        shown = tr(PHOTO_LABEL, language, name=name)
        await self._to_rasa(sender_id, SEND_FILE_TEXT, {**client, **upload_metadata(upload.id, shown)})

    async def _download(self, sender_id: str, item: Union[PhotoSize, Document]) -> Optional[bytes]:
        assert self.bot is not None
        try:
            file = await deliver(partial(self.bot.get_file, item.file_id), f"getFile for {sender_id}", idempotent=True)
            return bytes(await deliver(file.download_as_bytearray, f"file download for {sender_id}", idempotent=True))
        except Undelivered:
            return None

    async def _to_rasa(self, sender_id: str, text: str, metadata: Optional[Dict[str, Any]]) -> None:
        assert self._on_new_message is not None and self.output is not None
        # Telegram shows no client address: the chat stands for one (the limits per address count per chat).
        metadata = {**(metadata or {}), CLIENT_ADDRESS_METADATA: sender_id}
        message = UserMessage(text, self.output, sender_id, input_channel=self.name(), metadata=metadata)
        if await self._on_new_message(message) is not Outcome.ANSWERED:
            await self._reply(sender_id, BUSY_TEXT)  # the user hears about it instead of silence

    async def _text(self, key: str, sender_id: str, client: Dict[str, Any]) -> str:
        """A text of the channel's in the conversation's language (else the client's: its hint)."""
        return tr(key, await self._language(sender_id, client))

    @staticmethod
    async def _language(sender_id: str, client: Dict[str, Any]) -> str:
        """The conversation's language (its stored slot), else the Telegram client's (its hint)."""
        language = await stored_language(current_app(), sender_id)
        return language or language_of(client.get(LANGUAGE_HINT_METADATA))

    async def _reply(self, sender_id: str, text: str) -> None:
        assert self.output is not None
        await self.output.send(sender_id, text)

    async def _typing(self, chat_id: int) -> None:
        """Cosmetic, so one try only: a 429 here must not hold up the answer."""
        assert self.bot is not None
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:
            logger.debug("sendChatAction to %s failed: %s", chat_id, error)

    async def _answer_callback(self, query: CallbackQuery) -> None:
        """Stops the spinner on the pressed button, whatever happens next."""
        assert self.bot is not None
        try:
            await deliver(partial(self.bot.answer_callback_query, query.id), "answerCallbackQuery", idempotent=True)
        except Undelivered:
            pass


def command_menu(language: str) -> List[BotCommand]:
    return [BotCommand(command, tr(key, language)) for command, key in COMMAND_DESCRIPTIONS.items()]


async def register_commands(bot: Bot) -> None:
    """The command menu in each language; one try each (cosmetic: the commands work without it)."""
    for language, language_code in MENU_LANGUAGE_CODES.items():
        try:
            await bot.set_my_commands(command_menu(language), language_code=language_code)
        except InvalidToken:
            raise
        except TelegramError as error:
            logger.warning("Telegram: setMyCommands (%s) failed: %s", language, error)


async def _cancel(task: "asyncio.Task[Any]", attempts: int = 20) -> None:
    """Cancels ``task`` and waits for it to end, cancelling again if needed: on
    Python 3.10 anyio (under httpx) swallows a cancellation that lands while a
    connection is being opened, and the task would go on polling."""
    for _ in range(attempts):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.5)
        if done:
            if not task.cancelled() and task.exception() is not None:
                logger.error("Telegram task failed: %r", task.exception())
            return
    logger.error("A Telegram task did not stop after %d cancellations", attempts)


def _file_of(message: Message) -> Tuple[Union[PhotoSize, Document], str]:
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.file_size or 0, size.width * size.height))
        return largest, f"photo_{message.message_id}.jpg"
    document = message.document
    assert document is not None
    return document, document.file_name or f"file_{message.message_id}"


def _backoff(error: TelegramError, failures: int) -> float:
    if isinstance(error, RetryAfter):
        return max(1.0, retry_after_seconds(error))
    return min(MAX_BACKOFF_SECONDS, 2.0**failures)


def _keep_token_out_of_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the token."""
    httpx_logger = logging.getLogger("httpx")
    if httpx_logger.level < logging.WARNING:
        httpx_logger.setLevel(logging.WARNING)
