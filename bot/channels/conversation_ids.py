"""Conversation ids belong to their channel.

A conversation id (Rasa's ``sender_id``: the key of the conversation's tracker,
and of its uploads, appeals and handoffs) is always ``<channel>:<id on that
channel>``, and each channel builds ids of its own namespace only:

* ``rest:<client id>`` — whatever the REST client names its conversation,
  prefixed, so ``{"sender": "telegram:42"}`` is the REST conversation
  ``rest:telegram:42``, never the Telegram chat 42;
* ``widget:<session id>`` — the 32 hex digits the server issued to a browser;
* ``telegram:<chat id>`` — the chat id of a Telegram update.

The channel is the part before the first ``:``; channel names contain no
``:``, so two different (channel, id) pairs never give the same conversation
id.  Everything a conversation holds — the verified account, the flows'
answers, uploads, appeals, a handoff — is therefore out of reach of every
other channel (docs/security.md, "Conversation ids belong to their channel").
"""

from __future__ import annotations

import re
from typing import Optional

REST = "rest"
WIDGET = "widget"
TELEGRAM = "telegram"
CHANNELS = (REST, WIDGET, TELEGRAM)

# The stores keep sender ids in columns of 128 characters (uploads, appeals, handoffs).
MAX_CONVERSATION_ID_CHARS = 128
MAX_REST_CLIENT_ID_CHARS = MAX_CONVERSATION_ID_CHARS - len(REST) - 1
REST_CLIENT_ID = re.compile(rf"[\w\-.:@]{{1,{MAX_REST_CLIENT_ID_CHARS}}}")
WIDGET_SESSION_ID = re.compile(r"[0-9a-f]{32}")
TELEGRAM_CHAT_ID = re.compile(r"-?[0-9]{1,20}")

_LOCAL_IDS = {REST: REST_CLIENT_ID, WIDGET: WIDGET_SESSION_ID, TELEGRAM: TELEGRAM_CHAT_ID}


def conversation_id(channel: str, local: str) -> str:
    """``<channel>:<local>``; ValueError unless ``local`` is a well-formed id of that channel."""
    pattern = _LOCAL_IDS.get(channel)
    if pattern is None:
        raise ValueError(f"no such channel: {channel!r}")
    if not isinstance(local, str) or not pattern.fullmatch(local):
        raise ValueError(f"not a {channel} id: {local!r}")
    return f"{channel}:{local}"


def rest_conversation(client_id: str) -> str:
    return conversation_id(REST, client_id)


def widget_conversation(session_id: str) -> str:
    return conversation_id(WIDGET, session_id)


def telegram_conversation(chat_id: int) -> str:
    return conversation_id(TELEGRAM, str(chat_id))


def channel_of(conversation: str) -> Optional[str]:
    """The channel whose namespace the id is in; None for an id of no channel
    (conversations stored before ids were namespaced)."""
    channel, colon, local = conversation.partition(":")
    pattern = _LOCAL_IDS.get(channel)
    return channel if colon and pattern is not None and pattern.fullmatch(local) else None


def local_id(conversation: str, channel: str) -> str:
    """The id on ``channel`` of one of its conversations; ValueError for any other id."""
    if channel_of(conversation) != channel:
        raise ValueError(f"not a {channel} conversation: {conversation!r}")
    return conversation[len(channel) + 1 :]
