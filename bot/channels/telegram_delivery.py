"""Sending to the Telegram Bot API without losing or repeating messages.

:func:`deliver` makes one Bot API call (typically: send one part of a
message) and decides, per error, whether trying again is safe:

* ``RetryAfter`` (HTTP 429, flood control): Telegram did not take the call;
  wait as long as it asks (capped) and send the same part again.
* A connection that could not be made (connect error or timeout, pool
  timeout, a 5xx from Telegram's gateway): nothing reached Telegram, so
  retrying cannot duplicate; back off 0.5, 1, 2, 4 s.
* A read or write timeout: the request may already have been carried out
  and only the answer is missing.  Sending again could show the user the
  same message twice, so a non-idempotent call is given up and logged
  (reads such as ``getFile`` are retried).
* ``Forbidden`` (the user blocked the bot), ``BadRequest`` and other refusals:
  trying again would get the same answer; logged, not retried.

Only the failing call is repeated; the caller sends a long message part by
part, so parts that were delivered are never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import Awaitable, Callable, List, TypeVar, Union

import httpx
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RETRY_AFTER_SECONDS = 60.0
MAX_FLOOD_WAITS = 5
NETWORK_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0)  # 5 tries in all

# httpx errors raised after the request may have reached Telegram.
_MAYBE_DELIVERED = (httpx.ReadTimeout, httpx.WriteTimeout)

Sleep = Callable[[float], Awaitable[None]]

# PTB 22.2+ warns on every RetryAfter (even while building it) that
# ``retry_after`` will become a timedelta; both forms are handled here.
warnings.filterwarnings("ignore", message=r".*`retry_after` will be of type", category=PTBDeprecationWarning)


class Undelivered(Exception):
    """The call was given up; the reason has been logged."""


def retry_after_seconds(value: Union[int, float, timedelta, RetryAfter]) -> float:
    """PTB 22 gives ``retry_after`` as int seconds (deprecated, with a warning)
    or, with PTB_TIMEDELTA=1 and in later versions, as a timedelta."""
    if isinstance(value, RetryAfter):
        value = value.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def may_have_been_delivered(error: NetworkError) -> bool:
    """A timeout while sending the request or waiting for the answer: Telegram
    may have carried the call out already."""
    return isinstance(error, TimedOut) and isinstance(error.__cause__, _MAYBE_DELIVERED)


async def deliver(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    idempotent: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Runs ``call`` (a fresh request each time) until it succeeds or retrying
    is pointless or unsafe; then raises :class:`Undelivered`.

    ``what`` names the call in log lines (e.g. "sendMessage to telegram:42").
    ``idempotent`` calls (reads) are retried after read timeouts too.
    """
    flood_waits = 0
    network_failures = 0
    while True:
        try:
            return await call()
        except RetryAfter as error:
            flood_waits += 1
            if flood_waits > MAX_FLOOD_WAITS:
                logger.error("%s: still rate limited after %d waits; given up", what, MAX_FLOOD_WAITS)
                raise Undelivered(what) from error
            wait = retry_after_seconds(error)
            logger.warning("%s: rate limited by Telegram, retrying in %.1f s", what, wait)
            await sleep(wait)
        except (Forbidden, BadRequest) as error:
            # BadRequest is a NetworkError subclass in PTB: catch it first.
            logger.warning("%s refused by Telegram, not retried: %s", what, error)
            raise Undelivered(what) from error
        except NetworkError as error:
            if not idempotent and may_have_been_delivered(error):
                logger.warning(
                    "%s: no answer in time (%s); it may have been delivered, so it " "is not sent again",
                    what,
                    type(error.__cause__).__name__,
                )
                raise Undelivered(what) from error
            if network_failures >= len(NETWORK_BACKOFF_SECONDS):
                logger.error("%s failed %d times, given up: %s", what, network_failures + 1, error)
                raise Undelivered(what) from error
            wait = NETWORK_BACKOFF_SECONDS[network_failures]
            network_failures += 1
            logger.warning("%s failed (%s), retrying in %.1f s", what, error, wait)
            await sleep(wait)
        except TelegramError as error:
            # InvalidToken, Conflict, ChatMigrated...: not fixed by sending again.
            logger.error("%s failed, not retried: %r", what, error)
            raise Undelivered(what) from error


MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for one text message


def _utf16_length(text: str) -> int:
    # Telegram counts in UTF-16 code units: characters outside the BMP count twice.
    return len(text.encode("utf-16-le")) // 2


def _longest_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit into ``limit`` UTF-16 units."""
    if _utf16_length(text) <= limit:
        return len(text)
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> List[str]:
    """Parts of at most ``limit``, cut at a paragraph break if there is one in
    the second half of the window, else at a line break, else at a space, else
    hard.  Only the whitespace at the cuts is dropped (Telegram would strip it
    anyway); every other character arrives, in order."""
    parts: List[str] = []
    rest = text.strip()
    while rest:
        fits = _longest_prefix(rest, limit)
        if fits == len(rest):
            parts.append(rest)
            break
        window = rest[:fits]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            position = window.rfind(separator)
            if position >= fits // 2:
                cut = position
                break
        if cut <= 0:
            cut = fits
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    return parts
