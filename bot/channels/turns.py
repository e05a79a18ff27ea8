"""Every channel's intake: turns counted, drained on shutdown, and failures
told to the user instead of silence.

Contract:

* :func:`intake` wraps a channel's ``on_new_message`` (Rasa's, with the
  handoff's side: ``handoff_bridge.handoff_aware``) and returns an
  :class:`Outcome` for each message; it never raises.  The channel
  translates the outcome; when it is not ``ANSWERED`` it tells the user
  ``BUSY_TEXT`` (bot/channels/busy.py; Chinese and English) in its own way (REST: in the reply or with 503, the
  widget: to the socket that sent, Telegram: a message).
* ``DEGRADED``: the turn ran and Rasa stored the user's message in the
  conversation, but a call to the action server failed (the action server
  down or slow, or an action failing, e.g. on its database): Rasa swallows
  that failure and would answer nothing (``MessageProcessor._run_action``).
  :class:`WatchedActionEndpoint`, which :func:`watch_action_endpoint`
  installs as the agent's action endpoint, notes the failure on the running
  turn (a context variable: one turn is one task).  :func:`watch_stores`
  makes a failing conversation store raise instead of Rasa's silent
  fallback to memory, and has each save note the conversation's language
  on the running turn (``conversation_language.noting_turn_language``).
* A turn that fails after the user's message was saved (e.g. Redis gone when
  Rasa releases the conversation's lock, after the save) is ``DEGRADED``, never
  ``REFUSED``: the message is stored, and a client told to send it again would
  store it twice.  The store's save notes on the running turn when the saved
  conversation holds the turn's message (the wrapper of :func:`watch_stores`);
  an earlier save of the same turn without it (a new session's start) does not
  count: the message is not stored yet.
* **Replies held until stored** (:class:`RepliesHeldUntilStored`, the widget's output of a
  turn): when the turn's message is first saved, the save calls the output's ``release``
  with the saved conversation before it returns, so inside the conversation's lock (Rasa
  saves under it).  Every sender of a conversation's messages sends under that lock (the
  handoff's notices too: ``handoff_bridge._say``), so replies go out in the order they were
  stored, whichever Rasa server sends them.
* ``REFUSED``: the message was not handled and not stored: the conversation
  store or the lock store (database, Redis) failed, the process is
  draining, or it is saturated and sheds the turn (bot/channels/load_shedding.py,
  ``MAX_TURNS_IN_FLIGHT``).  The user must send it again (the busy message says so).
* :data:`TURNS` counts the turns in flight of this process (in all and per
  conversation: ``load_shedding.TurnLoad``).  On SIGTERM
  (Sanic's ``before_server_stop``, bot/channels/health.py) it starts
  draining: readiness answers 503, new messages are ``REFUSED`` and the
  turns in flight finish, for at most ``SHUTDOWN_GRACE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Protocol, Text

from aiohttp import ClientResponseError
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.utils.endpoints import EndpointConfig

from bot.channels.conversation_language import note_stored
from bot.channels.handoff_bridge import handoff_aware, handoff_traffic
from bot.channels.load_shedding import AdmissionRule, Exempt, TurnLoad, never_exempt

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# rasa-sdk answers 400 when an action rejects its execution (a form's
# validation); Rasa then predicts another action: not a failure.
REJECTED_STATUS = 400


class Outcome(enum.Enum):
    ANSWERED = "answered"  # handled as usual
    DEGRADED = "degraded"  # stored in the conversation; an action call failed
    REFUSED = "refused"  # not handled, not stored: send it again


class RepliesHeldUntilStored:
    """An output channel that keeps a turn's replies until the turn is stored (the module's contract)."""

    async def release(self, tracker: Any) -> None:
        """Sends what was held; ``tracker`` is the conversation as just saved.  Called under the
        conversation's lock; must not raise for a failed delivery (it notes it instead)."""
        raise NotImplementedError


@dataclass
class _Turn:
    message_id: Optional[str] = None
    action_failed: bool = False
    stored: bool = False  # the conversation was saved with the turn's message in it
    held: Optional[RepliesHeldUntilStored] = None


class Intake(Protocol):
    """A channel's way in: a message, and how long its request waited before the channel had it
    (``request_age.waited_seconds``; 0 when unknown), to its :class:`Outcome`."""

    def __call__(self, message: UserMessage, waited_seconds: float = 0.0) -> Awaitable[Outcome]: ...


_CURRENT_TURN: ContextVar[Optional[_Turn]] = ContextVar("current_turn", default=None)


class TurnGate:
    """The turns in flight of this process, and whether it still takes new ones."""

    def __init__(self) -> None:
        self.draining = False
        self.load = TurnLoad()
        self._idle: Optional[asyncio.Event] = None

    @property
    def in_flight(self) -> int:
        return self.load.in_flight

    def _event(self) -> asyncio.Event:
        if self._idle is None:  # made on the server's loop, at the first use
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    def begin(self, conversation: str = "") -> None:
        self.load.begin(conversation)
        self._event().clear()

    def end(self, conversation: str = "") -> None:
        self.load.end(conversation)
        if self.in_flight == 0:
            self._event().set()

    async def drain(self, grace_seconds: float) -> bool:
        """Takes no new turns from now on; waits for those in flight.  True if all finished in time."""
        self.draining = True
        started = time.monotonic()
        logger.info("draining: %d turn(s) in flight, waiting up to %.0f s", self.in_flight, grace_seconds)
        try:
            await asyncio.wait_for(self._event().wait(), timeout=grace_seconds)
        except asyncio.TimeoutError:
            logger.warning("draining: %d turn(s) still running after %.0f s", self.in_flight, grace_seconds)
            return False
        logger.info("drained in %.1f s", time.monotonic() - started)
        return True


TURNS = TurnGate()


class WatchedActionEndpoint(EndpointConfig):
    """The action endpoint of endpoints.yml, noting a failed call on the running turn."""

    @classmethod
    def watching(cls, endpoint: EndpointConfig) -> "WatchedActionEndpoint":
        return cls(
            endpoint.url,
            endpoint.params,
            endpoint.headers,
            endpoint.basic_auth,
            endpoint.token,
            endpoint.token_name,
            endpoint.cafile,
            **endpoint.kwargs,
        )

    async def request(
        self,
        method: Text = "post",
        subpath: Optional[Text] = None,
        content_type: Optional[Text] = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Optional[Any]:
        try:
            return await super().request(method, subpath, content_type, compress, **kwargs)
        except ClientResponseError as error:
            if error.status != REJECTED_STATUS:
                _note_action_failure()
            raise
        except Exception:
            _note_action_failure()
            raise

    def copy(self) -> "WatchedActionEndpoint":
        return WatchedActionEndpoint.watching(self)


def _note_action_failure() -> None:
    turn = _CURRENT_TURN.get()
    if turn is not None:
        turn.action_failed = True


def _raise(error: Exception) -> None:
    raise error


def watch_stores(agent: Agent) -> None:
    """Makes a failing conversation store fail the turn (``REFUSED``, the busy message), and notes
    the language each saved conversation is left in on the running turn (``noting_turn_language``).

    Rasa wraps the tracker store in a ``FailSafeTrackerStore``: on an error it
    reads no conversation (``None``: the user's next message would start a
    new one, its context gone) and saves to memory, lost at the next read.
    An answer out of a forgotten conversation is not honest; the wrapper's
    ``on_tracker_store_error`` callback (a constructor argument, set here on
    the agent's instance, which the processor shares) raises the error
    instead."""
    store = agent.tracker_store
    if isinstance(store, FailSafeTrackerStore):
        store._on_tracker_store_error = _raise  # Rasa 3.6's attribute of that argument
    _note_languages_on_save(store)


def _note_languages_on_save(store: Any) -> None:
    """Each conversation the store saves tells its language to the running turn
    (``conversation_language.note_stored``), so a channel needs no read for it after the turn."""
    if store is None or getattr(store, "_notes_languages", False):
        return
    save = store.save

    async def save_and_note(tracker: Any, *args: Any, **kwargs: Any) -> None:
        await save(tracker, *args, **kwargs)
        note_stored(tracker)  # only once it is stored: a failed save raised (see above)
        turn = _CURRENT_TURN.get()
        if turn is not None and turn.message_id is not None and not turn.stored:
            latest = getattr(tracker, "latest_message", None)
            turn.stored = getattr(latest, "message_id", None) == turn.message_id
            if turn.stored and turn.held is not None:
                await turn.held.release(tracker)

    store.save = save_and_note
    store._notes_languages = True


def watch_action_endpoint(agent: Agent) -> None:
    """Makes the agent's (and its processor's) action calls report failures to :func:`intake`.

    Rasa builds the processor's actions from ``processor.action_endpoint``
    at each call, and a new processor (a model reload) from the agent's."""
    endpoint = agent.action_endpoint
    if endpoint is None or isinstance(endpoint, WatchedActionEndpoint):
        return
    watched = WatchedActionEndpoint.watching(endpoint)
    agent.action_endpoint = watched
    if agent.processor is not None:
        agent.processor.action_endpoint = watched


def guarded(
    on_new_message: OnNewMessage,
    gate: TurnGate = TURNS,
    rule: Optional[AdmissionRule] = None,
    exempt: Exempt = never_exempt,
) -> Intake:
    """``on_new_message`` counted by ``gate``, its failures as an :class:`Outcome` (see the module docstring);
    a turn the admission ``rule`` sheds (``MAX_TURNS_IN_FLIGHT`` unless given; ``exempt`` messages never)
    is ``REFUSED`` without reaching ``on_new_message`` (bot/channels/load_shedding.py)."""
    rule = rule if rule is not None else AdmissionRule.from_config()  # a bad setting fails at start-up

    async def receive(message: UserMessage, waited_seconds: float = 0.0) -> Outcome:
        if gate.draining or not await gate.load.admits(rule, message, exempt, waited_seconds):
            return Outcome.REFUSED
        output = message.output_channel
        turn = _Turn(message_id=message.message_id, held=output if isinstance(output, RepliesHeldUntilStored) else None)
        token = _CURRENT_TURN.set(turn)
        gate.begin(message.sender_id)
        try:
            await on_new_message(message)
        except Exception:  # noqa: BLE001 - a store failed: the user hears it, the server stays up
            if turn.stored:  # saved, then failed (the lock's release): stored once, not to be sent again
                logger.exception("a turn of %s failed after its conversation was saved", message.sender_id)
                return Outcome.DEGRADED
            logger.exception("a message of %s was not handled (a store is unreachable?)", message.sender_id)
            return Outcome.REFUSED
        finally:
            gate.end(message.sender_id)
            _CURRENT_TURN.reset(token)
        if turn.action_failed:
            logger.error("a turn of %s ran without its actions (the action server failed)", message.sender_id)
            return Outcome.DEGRADED
        return Outcome.ANSWERED

    return receive


def intake(on_new_message: OnNewMessage) -> Intake:
    """What every channel hands its messages to: the handoff's side, then Rasa, guarded; shed when
    the process is saturated, except the handoff's traffic."""
    return guarded(handoff_aware(on_new_message), exempt=handoff_traffic)
