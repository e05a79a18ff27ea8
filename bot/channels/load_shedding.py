"""Load shedding: a saturated Rasa process answers a new turn at once with the busy message
instead of queueing it behind minutes of work.

Contract:

* **The admission rule** (:meth:`AdmissionRule.admits`): a user turn is admitted when this
  process has fewer than ``MAX_TURNS_IN_FLIGHT`` turns in flight (every channel's, counted
  from the moment the intake takes the message until its turn ended, the handoff's side
  included), or when its own conversation already has a turn in flight here (the user is
  mid-exchange; the turn waits for its conversation's lock, not for a place).
  ``MAX_TURNS_IN_FLIGHT=0`` turns shedding off.
* **The age rule**: a turn whose request already waited longer than ``MAX_TURN_WAIT_SECONDS``
  before its handler ran is shed too (a conversation's own turn in flight does not exempt it).
  The count cannot see that wait: a saturated server's event loop accepts and parses requests
  late, so they wait in the listen backlog and in Sanic before the handler counts them (the
  load test: the count stayed under 60 while REST turns waited 120 s for nginx's 504).  The
  wait is known where a trusted proxy stamped the request (bot/channels/request_age.py: REST
  behind nginx); a widget's socket.io messages carry no stamp and wait for a place only.
  ``MAX_TURN_WAIT_SECONDS=0`` turns the age rule off.
* **Handoff traffic is never shed** (the caller's ``exempt``, ``handoff_bridge.handoff_traffic``):
  the messages of a conversation a person owns or waits for, the rating after it and the
  cancel button.  Agents' replies (the console), the health endpoints, uploads and the
  widget's history are no turns and never reach the intake at all.
* **A shed turn** is not handed to Rasa (or the handoff's side): nothing of it is stored.
  The intake (bot/channels/turns.py) returns ``Outcome.REFUSED`` for it, as for a store
  that is down, so each channel says what it says then: REST 503 with the busy message and
  ``Retry-After`` ("not stored, send again"), the widget the busy message to its socket,
  Telegram the busy message.  The user sends it again, as after every busy message.
* The decision is taken without awaiting anything when the process admits (no turn's
  admission can interleave with another's count); only a turn that would be shed waits for
  the exemption check (one read of the handoff table), and is admitted if it is exempt.
* A shed turn is logged as a warning at most once every ``LOG_EVERY_SECONDS``, with the count
  of turns shed since the last such line: an overloaded process must not also flood its log.

Why a count and this default (docs/operations.md, "Load shedding"): a Rasa process runs its
models on one event loop, so the turns in flight share one core; measured ~150 ms of CPU per
turn (docs/capacity.md), the last of N turns in flight is answered after about N × 150 ms.
``MAX_TURNS_IN_FLIGHT`` defaults to 60: 9 s at 150 ms, 10.7 s at the worst figure measured
(179 ms): within the ~10 s chosen as the longest wait of a turn that is taken, far under the
120 s after which the load test (and nginx) gave up.  The count is known the moment a message
arrives; the age of the oldest waiting turn would only be known once turns had already waited
too long.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping, Optional

from rasa.core.channels.channel import UserMessage

from bot import config

logger = logging.getLogger(__name__)

SETTING = "MAX_TURNS_IN_FLIGHT"
WAIT_SETTING = "MAX_TURN_WAIT_SECONDS"
LOG_EVERY_SECONDS = 10.0

Exempt = Callable[[UserMessage], Awaitable[bool]]


class LoadSheddingSetupError(ValueError):
    """``MAX_TURNS_IN_FLIGHT`` cannot work; the message says what to change."""


@dataclass(frozen=True)
class AdmissionRule:
    """At most ``limit`` turns in flight in this process (0: no limit), except for a conversation
    that has one in flight already; none whose request waited over ``max_wait_seconds`` (0: any)."""

    limit: int
    max_wait_seconds: float = 0.0

    @classmethod
    def from_config(cls, environ: Optional[Mapping[str, str]] = None) -> "AdmissionRule":
        limit = config.get_int(SETTING, environ)
        if limit < 0:
            raise LoadSheddingSetupError(f"{SETTING} must be 0 (no shedding) or more, got {limit}")
        max_wait = config.get_int(WAIT_SETTING, environ)
        if max_wait < 0:
            raise LoadSheddingSetupError(f"{WAIT_SETTING} must be 0 (no age rule) or more, got {max_wait}")
        return cls(limit, float(max_wait))

    def admits(self, in_flight: int, conversation_in_flight: bool, waited_seconds: float = 0.0) -> bool:
        if self.max_wait_seconds and waited_seconds > self.max_wait_seconds:
            return False
        return self.limit == 0 or in_flight < self.limit or conversation_in_flight


async def never_exempt(_message: UserMessage) -> bool:
    return False


@dataclass
class TurnLoad:
    """The turns in flight of one process, in all and per conversation, and the turns shed."""

    in_flight: int = 0
    shed: int = 0
    _conversations: Counter = field(default_factory=Counter)
    _shed_since_log: int = 0
    _logged_at: float = float("-inf")

    def begin(self, conversation: str) -> None:
        self.in_flight += 1
        self._conversations[conversation] += 1

    def end(self, conversation: str) -> None:
        self.in_flight -= 1
        self._conversations[conversation] -= 1
        if self._conversations[conversation] <= 0:
            del self._conversations[conversation]

    def has_turn_of(self, conversation: str) -> bool:
        return self._conversations[conversation] > 0  # a Counter: 0 for one not in it, nothing added

    async def admits(
        self, rule: AdmissionRule, message: UserMessage, exempt: Exempt = never_exempt, waited_seconds: float = 0.0
    ) -> bool:
        """Whether ``message``, whose request waited ``waited_seconds`` before reaching the
        channel, may start a turn now (the module's contract); a refusal is counted and logged.
        The caller begins the turn right after a True, with no await between."""
        if rule.admits(self.in_flight, self.has_turn_of(message.sender_id), waited_seconds):
            return True
        try:
            if await exempt(message):
                return True
        except Exception as error:  # noqa: BLE001 - unreadable (the handoff table down): shed, never raise
            logger.warning(
                "load shedding: could not tell whether a message of %s is exempt: %r", message.sender_id, error
            )
        self._note_shed(rule)
        return False

    def _note_shed(self, rule: AdmissionRule) -> None:
        self.shed += 1
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            logger.warning(
                "load shedding: %d new turn(s) answered busy since the last report; %d in flight (%s=%d)",
                self._shed_since_log,
                self.in_flight,
                SETTING,
                rule.limit,
            )
            self._shed_since_log, self._logged_at = 0, now
