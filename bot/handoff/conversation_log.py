"""The conversation before a handoff, as the agent reads it: what the user
wrote and clicked, what the assistant answered with the buttons it offered,
the photos sent, and the flow's steps in words — read from Rasa's tracker
table ``events`` in the same database (``bot.channels.tracker_store`` writes
it, already scrubbed: ID numbers and phones masked, identity tokens removed).
No Rasa here: the events are the JSON dicts Rasa stores.

Contract of :func:`conversation_before`:

* It covers the Rasa session in which the handoff was requested, from its
  start (the last ``session_started`` or ``restart`` before the request) up to
  the request: the assistant's ``action_request_human`` nearest to
  ``created_at`` (within :data:`CLOCK_SLACK`, the action and Rasa servers'
  clocks may differ), and what that action did (the queued message, the
  running flow ended) up to the pause; without that action, the events up to
  ``created_at``.  What
  follows the request is the handoff's own transcript (``HandoffService``),
  so nothing is shown twice.
* Entries (:class:`LogEntry`), oldest first: ``user`` (the words the user saw
  themselves write: a button's title rather than its payload, the channel's
  label for a photo in the user's language, ``[照片] …`` or ``[Photo] …``, with
  its ``upload_id`` (by which the console shows it, whatever the label;
  :data:`PHOTO` when no label came), and the topic the assistant understood),
  ``bot`` (text and buttons, the clicked one marked; an agent of an earlier
  handoff is named), ``step`` (a flow started or ended, and each finding of
  the running flow in words, ``findings_of``, as its ``flow_data`` grew).
* Every text is masked again (``mask_text``) — the store's scrubbing is the
  first guard, this the second.
* A flow's findings are shown only when this server can trust them: the
  ``flow_data`` they come from carries the signature of this conversation
  (checked with ``VERIFICATION_SIGNING_KEY`` when the Rasa server has it too),
  or the finding is among ``confirmed`` — the findings the action server
  checked when it wrote the handoff's summary (``checked``).  Whoever can write
  the tracker cannot make the agent read that a code was entered.
* Without the ``events`` table (a console on a database without Rasa's
  store) the log is empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.accounts.flows import findings_of, trusted_slots
from bot.accounts.masking import mask_text
from bot.handoff.request_summary import FLOW_PROBLEMS, problem_words, topic_of_parse
from bot.topics import topic_for

CLOCK_SLACK = timedelta(minutes=2)
REQUEST_ACTION = "action_request_human"
MAX_EVENTS = 5000  # of one conversation read for the log (the latest ones)
PHOTO = "[照片]"  # a photo without the channel's label: the agents read Chinese
_EPOCH = datetime(1970, 1, 1)
_EVENTS = sa.table(
    "events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"), sa.column("timestamp"), sa.column("data")
)


@dataclass(frozen=True)
class Button:
    title: str
    clicked: bool = False


@dataclass(frozen=True)
class LogEntry:
    kind: str  # user, bot, step
    text: str
    at: Optional[datetime]
    buttons: Tuple[Button, ...] = ()
    upload_id: Optional[str] = None
    understood: Optional[str] = None  # user: the topic the assistant understood, in words
    agent_name: Optional[str] = None  # bot: an agent's words (an earlier handoff of this conversation)


@dataclass
class _Flow:
    name: Optional[str] = None
    shown: List[str] = field(default_factory=list)
    trusted: Set[str] = field(default_factory=set)  # findings vouched for without a signature
    sender_id: str = ""


def conversation_before(
    session: Session, sender_id: str, created_at: datetime, confirmed: Sequence[str] = ()
) -> List[LogEntry]:
    """The conversation of ``sender_id`` up to its handoff requested at ``created_at`` (naive UTC);
    ``confirmed``: the findings the action server vouched for (see the module docstring)."""
    if not has_tracker_events(session):
        return []
    rows = session.execute(
        sa.select(_EVENTS.c.timestamp, _EVENTS.c.data)
        .where(_EVENTS.c.sender_id == sender_id)
        .order_by(_EVENTS.c.id.desc())
        .limit(MAX_EVENTS)
    ).all()
    events = [_event(data, timestamp) for timestamp, data in reversed(rows)]
    return log_entries(session_until_request(events, created_at), sender_id, confirmed)


def has_tracker_events(session: Session) -> bool:
    inspector = sa.inspect(session.connection())
    return bool(inspector.has_table("events"))


def _event(data: Any, timestamp: Any) -> Dict[str, Any]:
    try:
        event = json.loads(data) if data else {}
    except ValueError:
        event = {}
    if not isinstance(event, dict):
        event = {}
    if event.get("timestamp") is None and timestamp is not None:
        event["timestamp"] = timestamp
    return event


def _unix(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _when(event: Mapping[str, Any]) -> Optional[datetime]:
    stamp = event.get("timestamp")
    try:
        return _EPOCH + timedelta(seconds=float(stamp)) if stamp is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def session_until_request(events: Sequence[Mapping[str, Any]], created_at: datetime) -> List[Mapping[str, Any]]:
    """The events of the session the handoff was requested in, up to the request (see the module)."""
    requested = _unix(created_at)
    slack = CLOCK_SLACK.total_seconds()
    anchors = [
        index
        for index, event in enumerate(events)
        if event.get("event") == "action"
        and event.get("name") == REQUEST_ACTION
        and abs(float(event.get("timestamp") or 0) - requested) <= slack
    ]
    if anchors:
        anchor = min(anchors, key=lambda index: abs(float(events[index].get("timestamp") or 0) - requested))
        end = anchor + 1
        while end < len(events) and not _ends_the_request(events[end]):
            end += 1
    else:
        end = 0
        while end < len(events) and float(events[end].get("timestamp") or 0) <= requested:
            end += 1
    start = 0
    for index in range(end - 1, -1, -1):
        if events[index].get("event") in ("session_started", "restart"):
            start = index + 1
            break
    return list(events[start:end])


def _ends_the_request(event: Mapping[str, Any]) -> bool:
    """The first event after the request action's own (its words, the flow it ended): the
    pause, the next turn, or an agent's words written into the conversation."""
    if event.get("event") in ("user", "action", "pause", "session_started", "restart"):
        return True
    return event.get("event") == "bot" and bool((event.get("metadata") or {}).get("handoff_agent"))


def log_entries(
    events: Sequence[Mapping[str, Any]], sender_id: str = "", confirmed: Sequence[str] = ()
) -> List[LogEntry]:
    """The entries of ``events`` of the conversation ``sender_id`` (see the module docstring)."""
    entries: List[LogEntry] = []
    flow = _Flow(trusted=set(confirmed), sender_id=sender_id)
    offered: Dict[str, str] = {}  # payload -> title of the last bot message's buttons
    last_bot: Optional[int] = None  # index in entries of the last bot message with buttons
    for event in events:
        kind = event.get("event")
        at = _when(event)
        if kind == "user":
            entry, clicked = _user_entry(event, at, offered)
            if clicked is not None and last_bot is not None:
                entries[last_bot] = _with_click(entries[last_bot], list(offered).index(clicked))
            entries.append(entry)
            offered, last_bot = {}, None
        elif kind == "bot":
            text = mask_text(str(event.get("text") or "")).strip()
            buttons = [
                button for button in ((event.get("data") or {}).get("buttons") or []) if isinstance(button, dict)
            ]
            if not text and not buttons:
                continue
            agent = (event.get("metadata") or {}).get("handoff_agent")
            entries.append(
                LogEntry(
                    "bot",
                    text,
                    at,
                    tuple(
                        Button(mask_text(str(button.get("title") or button.get("payload") or ""))) for button in buttons
                    ),
                    agent_name=str(agent) if agent else None,
                )
            )
            if buttons:
                offered = {str(button.get("payload") or ""): str(button.get("title") or "") for button in buttons}
                last_bot = len(entries) - 1
        elif kind == "slot" and event.get("name") == "flow":
            entries.extend(_flow_changed(flow, event.get("value"), at))
        elif kind == "slot" and event.get("name") == "flow_data":
            entries.extend(_flow_found(flow, event.get("value"), at))
    return entries


def _user_entry(
    event: Mapping[str, Any], at: Optional[datetime], offered: Mapping[str, str]
) -> Tuple[LogEntry, Optional[str]]:
    """The user's entry, and the payload of the button they clicked (None: they typed)."""
    raw = str(event.get("text") or "")
    metadata = event.get("metadata") or {}
    shown = metadata.get("display_text") if isinstance(metadata.get("display_text"), str) else None
    clicked = raw if raw in offered else None
    if shown:
        text = shown
    elif clicked is not None:
        text = offered[raw] or raw
    elif raw.startswith("/"):
        topic = topic_for(raw[1:].split("{", 1)[0])
        text = topic.question if topic is not None else raw
    else:
        text = raw
    upload_id = metadata.get("upload_id")
    if upload_id and not text:
        text = PHOTO
    understood = problem_words(topic_of_parse(event.get("parse_data") or {}))
    entry = LogEntry(
        "user",
        mask_text(text),
        at,
        upload_id=str(upload_id) if upload_id else None,
        understood=understood,
    )
    return entry, clicked


def _with_click(entry: LogEntry, index: int) -> LogEntry:
    """``entry`` (a bot message) with its ``index``-th button marked clicked."""
    buttons = tuple(Button(button.title, position == index) for position, button in enumerate(entry.buttons))
    return replace(entry, buttons=buttons)


def _flow_changed(flow: _Flow, value: Any, at: Optional[datetime]) -> List[LogEntry]:
    name = value if isinstance(value, str) and value else None
    if name == flow.name:
        return []
    ended = flow.name
    flow.name, flow.shown = name, []
    if name is not None:
        return [LogEntry("step", f"开始办理：{FLOW_PROBLEMS.get(name, name)}", at)]
    return [LogEntry("step", f"办理流程结束：{FLOW_PROBLEMS.get(ended or '', ended)}", at)]


def _flow_found(flow: _Flow, value: Any, at: Optional[datetime]) -> List[LogEntry]:
    if not isinstance(value, dict) or flow.name is None:
        return []
    # Signed for this conversation with the key this server knows, or nothing (now: expiry is not checked).
    signed = trusted_slots({"flow_data": value, "verified_account": None}, flow.sender_id, _EPOCH)["flow_data"]
    data = signed or {key: item for key, item in value.items() if not str(key).startswith("_")}
    try:
        found = findings_of(flow.name, data)
    except (KeyError, TypeError, ValueError, AttributeError):  # data of an older version of a flow
        return []
    if not signed:
        found = [finding for finding in found if finding in flow.trusted]
    fresh = [finding for finding in found if finding not in flow.shown]
    flow.shown.extend(fresh)
    return [LogEntry("step", mask_text(finding), at) for finding in fresh]
