"""How long a request waited before its channel's handler ran, from the stamp the proxy put on it.

Contract: nginx (deploy/cluster/nginx.conf.mako, deploy/compose/nginx.conf) sets
``X-Request-Start: t=<seconds since the epoch, with milliseconds>`` (``${msec}``: when it read
the request's first bytes) on every request it passes on, replacing a client's own.
:func:`waited_seconds` is now minus that stamp, for a request whose peer is one of
``TRUSTED_PROXIES``; 0 for any other request (a client cannot make its own request look old
or young), for a missing or malformed stamp, and for a stamp in the future (clocks of two
machines a little apart).  A wait beyond ``MAX_BELIEVED_SECONDS`` is read as clocks far apart,
not as a wait, and gives 0 too.  load_shedding sheds a turn that waited too long
(``MAX_TURN_WAIT_SECONDS``).
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping, Optional

from bot.channels.client_address import from_trusted_proxy, trusted_proxies

HEADER = "x-request-start"
# nginx answers 504 after 120 s (proxy_read_timeout): no real wait is ten times that.
MAX_BELIEVED_SECONDS = 1200.0


def stamp_of(value: Optional[str]) -> Optional[float]:
    """``t=1764612345.678`` (or the bare number) as seconds since the epoch; None when unreadable."""
    text = (value or "").strip()
    if text.startswith("t="):
        text = text[2:]
    try:
        stamp = float(text)
    except ValueError:
        return None
    return stamp if math.isfinite(stamp) and stamp > 0 else None


def waited_seconds(request: Any, now: Optional[float] = None, environ: Optional[Mapping[str, str]] = None) -> float:
    """The module's contract, for a Sanic request."""
    if not from_trusted_proxy(request.ip or "", trusted_proxies(environ)):
        return 0.0
    stamp = stamp_of(request.headers.get(HEADER))
    if stamp is None:
        return 0.0
    waited = (time.time() if now is None else now) - stamp
    return waited if 0.0 < waited <= MAX_BELIEVED_SECONDS else 0.0
