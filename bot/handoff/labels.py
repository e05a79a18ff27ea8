"""The words shown for the handoff's reasons and channels, each table written
once here and imported wherever they appear (the transcript's queued line,
the agent console's pages and charts, the ``handoff report`` command).
A table has one entry per member of its enum (``tests/core/test_labels.py``
holds every table to that, and finds a table of these enums' words written
anywhere else).  The console's page script gets these words already rendered
by the server (queue rows, status lines), never a copy.

A conversation's page describes its state and outcome in sentences
(``bot.console.views.status_line``); lists (search results, the user's
history, the search form) use the short words of ``STATE_LABELS`` and
``OUTCOME_LABELS``.
"""

from __future__ import annotations

from typing import Dict

from bot.handoff.models import HandoffOutcome, HandoffReason, HandoffState, Presence

# Why a conversation went to a person, as agents read it (and the transcript says).
REASON_LABELS: Dict[HandoffReason, str] = {
    HandoffReason.USER_REQUEST: "用户要求转人工",
    HandoffReason.MISUNDERSTOOD: "助手多次没有理解用户",
    HandoffReason.FLOW_DEAD_END: "办理流程无法继续",
    HandoffReason.NEGATIVE_FEEDBACK: "用户对回答不满意",
}

# The same reasons as the column heads of ``python -m bot handoff report`` (short: a terminal table).
REASON_COLUMNS: Dict[HandoffReason, str] = {
    HandoffReason.USER_REQUEST: "asked",
    HandoffReason.MISUNDERSTOOD: "misund.",
    HandoffReason.FLOW_DEAD_END: "dead end",
    HandoffReason.NEGATIVE_FEEDBACK: "negative",
}

# The channel a handoff came from (``Handoff.channel``), as agents read it; others are shown as they are.
CHANNEL_LABELS: Dict[str, str] = {"widget": "网页", "telegram": "Telegram", "rest": "接口", "socketio": "网页"}

# The user's language (bot/language.py's codes, the summary's ``language``), as agents read it.
LANGUAGE_LABELS: Dict[str, str] = {"zh": "中文", "en": "English"}

# A handoff's state in a list (search results, the user's history, the search form).
STATE_LABELS: Dict[HandoffState, str] = {
    HandoffState.WAITING: "排队中",
    HandoffState.ASSIGNED: "接待中",
    HandoffState.RESOLVED: "已结束",
    HandoffState.ABANDONED: "用户离开",
    HandoffState.CANCELLED: "用户取消",
}

# How an agent ended it, in a list.
OUTCOME_LABELS: Dict[HandoffOutcome, str] = {
    HandoffOutcome.RESOLVED: "已解决",
    HandoffOutcome.HANDED_BACK: "交还助手",
}

# An agent's presence, in the order the console's header offers it.
PRESENCE_LABELS: Dict[Presence, str] = {Presence.ONLINE: "在线", Presence.BUSY: "忙碌", Presence.AWAY: "离开"}
