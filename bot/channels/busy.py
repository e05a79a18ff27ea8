"""What the assistant says when it cannot take a message now, once for every place that says it.

Contract: ``BUSY_TEXT`` is the one message of every degradation (issue 13): short, honest, with
the support phone; both languages, Chinese first, because when nothing works the
conversation's language may be unreadable too (issue 15; the catalogue key ``channels.busy``).
``REFUSED_BODY`` is the JSON body of a REST message that was neither handled nor stored (503,
``Retry-After: RETRY_AFTER_SECONDS``): the Rasa servers answer it (bot/channels/rest.py) and so
does nginx when its gate in front of them is full (bot/cluster.py renders it into nginx.conf),
so a client reads one answer whoever refused.  This module imports neither Rasa nor Sanic: the
cluster's command line renders nginx.conf without loading them.
"""

from __future__ import annotations

from typing import Dict

from bot import SUPPORT_PHONE
from bot.language import tr_every

BUSY_TEXT = tr_every("channels.busy", phone=SUPPORT_PHONE)
# What a refused message's 503 asks the client to wait before sending it again.
RETRY_AFTER_SECONDS = 5
REFUSED_BODY: Dict[str, str] = {
    "error": "the assistant could not take this message now; send it again later",
    "message": BUSY_TEXT,
}
