"""The handoff service: a conversation's way from the assistant to a support
agent and back, safe with several processes on one database.

States of a handoff (one row per request; a conversation is with the bot
whenever it has no open handoff)::

    waiting ──claim / auto_assign──▶ assigned ──resolve──▶ resolved (outcome resolved)
       │                  │  ▲  └─hand_back─▶ resolved (outcome handed_back)
       │                  └──┘ transfer
       ├──cancel (user)──▶ cancelled
       └──abandon_stale──▶ abandoned (no user message or presence for HANDOFF_ABANDON_MINUTES)

Guarantees:

* At most one open (waiting/assigned) handoff per ``sender_id``; the partial
  unique index ``uq_handoffs_open_sender`` enforces it in the database, and
  ``request`` returns the open one instead of queueing twice, even when two
  processes ask at the same moment.
* Every transition is a conditional ``UPDATE ... WHERE id = ? AND state = ?``
  whose row count decides: of two agents claiming at once exactly one wins,
  the other gets ``HandoffConflict`` (a Chinese message for the console).
  Illegal transitions raise ``HandoffConflict`` too; unknown ids ``NotFound``.
* Every change appends to ``handoff_events`` in the same transaction.  Event
  ids grow in commit order (SQLite serialises writers; on PostgreSQL the
  insert takes a transaction-level advisory lock held until commit), so a
  poller that remembers the last id it saw never misses one.
* Least privilege (``bot.handoff.access``, the one rule): a plain agent acts
  on waiting handoffs and on those assigned to them (claimed, or transferred
  to them) (``may_act``); she reads those and, read-only, every handoff routed
  to a team she belongs to (``readable``); the rest is for admins.
  What a handoff links to: the agent who holds it also reads the same user's
  other handoffs (``history``, and ``read_transcript(..., via=held id)``);
  the same user is the same ``user_key`` (``account:<id>`` once verified) or
  the same conversation.
  Every read and action of an agent is checked here, in the transaction that
  does it; a refusal is ``HandoffHidden`` (a ``HandoffConflict``).
* Every agent action is written to ``audit_log`` as ``agent:<login>``, user
  actions as ``user:<sender_id>``; so is every transcript an agent reads
  (``handoff_transcript_read``, with the client's address) or was refused
  (``handoff_transcript_refused``).
* Routing: ``request`` stores the handoff's topic and its team by the routing
  rule (``bot.handoff.teams.team_for_topic``) in the same transaction.
* Auto-assignment (``auto_assign``, ``assign_waiting``; the rule and its race
  safety are ``bot.handoff.assignment``'s): a waiting handoff goes to an
  available agent of its team under the cap, or stays in the team's queue.
* The unclaimed-handoff webhook (``webhooks_due``, ``take_webhook``,
  ``webhook_sent``): of several processes exactly one takes a handoff's send
  (a conditional ``UPDATE``); it is retried after ``WEBHOOK_LEASE`` only when
  the send was not confirmed, at most ``WEBHOOK_ATTEMPTS`` times.
* Times are naive UTC, from the ``clock`` (like ``AccountService``).

API (each call one transaction):

  request(sender_id, channel, reason, summary, topic=None) -> HandoffView   open one (routed), or the open one
  auto_assign(handoff_id) -> HandoffView | None                  to an available agent of its team, or None
  assign_waiting(limit=50) -> [HandoffView]                      every waiting one that can be assigned now
  available_agents(team_id) -> int                                how many of the team are online now
  webhooks_due(after) -> [ids];  take_webhook(id, after) -> HandoffView | None;  webhook_sent(id)
  open_handoff(sender_id) -> HandoffView | None;  get(handoff_id) -> HandoffView
  assigned_to(agent_id=None) -> [HandoffView]                    the agent's open conversations (None: all agents')
  queue() -> [QueueEntry];  position(handoff_id) -> int | None   (1-based; None: not waiting)
  estimated_wait_minutes(position) -> int
  record_user_message(sender_id, text) -> MessageView | None      None: no open handoff
  record_bot_message(sender_id, text) -> MessageView | None       the assistant's words, kind system
  mark_user_active(sender_id) -> bool                             presence (keeps it from abandonment)
  claim(handoff_id, agent_id) -> HandoffView
  reply(handoff_id, agent_id, text) -> MessageView                only the assigned agent
  note(handoff_id, agent_id, text) -> MessageView                 private; any agent who may see it
  transfer(handoff_id, from_agent_id, to_agent_id) -> HandoffView assigned agent or an admin
  resolve(handoff_id, agent_id) / hand_back(handoff_id, agent_id) -> HandoffView   assigned agent or admin
  cancel(sender_id) -> bool                                       only while waiting
  rate(sender_id, rating) -> HandoffView                          1..5, latest resolved one, once
  abandon_stale(now=None) -> [handoff ids]
  transcript(handoff_id, after_message_id=0) -> [MessageView]     ID numbers and phones masked
  read_transcript(handoff_id, agent_id, client_address, after_message_id=0, via=None)
      -> (HandoffView, [MessageView])                             checked (readable, or via) and audited
  read_access(handoff_id, agent_id, client_address, what, via=None) -> HandoffView   the same check, audited
  history(handoff_id, agent_id, client_address) -> [HandoffView]  the same user's others: holder or admin; audited
  links(handoff_id, other_id) -> bool                             the same user (user_key or conversation)?
  conversation_log(handoff) -> [LogEntry]                         the conversation before it (Rasa's events)
  search(criteria, agent_id, client_address, page=1) -> (SearchPage, [HandoffView])   readable ones; audited
  message(message_id) -> MessageView                              unmasked: for delivery to the user
  events_after(event_id, limit=100) -> [EventView];  latest_event_id() -> int
  purge_transcripts_before(cutoff) -> counts                      retention (python -m bot privacy purge)

Event kinds: created (data: reason, channel, team_id, team), claimed, assigned (auto-assignment;
data: team_id, team), message (data: message_id, author), note
(data: message_id), transferred (data: from_agent_id, to_agent_id), closed
(data: state, outcome), rated (data: rating).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import config
from bot.accounts.checks import InvalidInput
from bot.accounts.masking import mask_text, mask_value
from bot.handoff import assignment
from bot.handoff.access import may_act, may_read
from bot.handoff.conversation_log import LogEntry, conversation_before
from bot.handoff.labels import REASON_LABELS
from bot.handoff.models import (
    OPEN_STATES,
    PROBLEM_CHARS,
    Agent,
    AgentRole,
    AuthorKind,
    Handoff,
    HandoffEvent,
    HandoffMessage,
    HandoffOutcome,
    HandoffReason,
    HandoffState,
    Team,
)
from bot.handoff.search import SearchCriteria, SearchPage
from bot.handoff.search import search as search_handoffs
from bot.handoff.teams import team_for_topic
from bot.store import Database, NotFound, record_audit, utcnow

DEFAULT_MINUTES_PER_POSITION = 5  # the estimate without enough history
ESTIMATE_SAMPLES = 50  # the latest claims the estimate looks at ...
ESTIMATE_HISTORY = timedelta(days=14)  # ... within this time
ESTIMATE_MIN_SAMPLES = 3
MAX_TEXT_CHARS = 4000
EVENTS_LOCK_KEY = 0x68616E64  # PostgreSQL advisory lock serialising event inserts ("hand")
WEBHOOK_LEASE = timedelta(minutes=2)  # a taken send not confirmed within this may be taken again ...
WEBHOOK_ATTEMPTS = 3  # ... this many times at most

CLOSED_MESSAGES = {
    HandoffState.RESOLVED: "这个会话已经结束。",
    HandoffState.CANCELLED: "用户已取消转人工，会话已回到智能助手。",
    HandoffState.ABANDONED: "用户已离开，这个会话已关闭。",
}
ALREADY_CLAIMED = "已被其他客服接手。"


class HandoffConflict(Exception):
    """The transition is not possible now; ``str(error)`` is the console's message."""


class HandoffHidden(HandoffConflict):
    """The agent may not read this handoff, or may read it but not act on it (``bot.handoff.access``)."""


HIDDEN = "这个会话由其他客服接待或已经结束，只有所属团队的客服和管理员可以查看。"
READ_ONLY = "这是您所在团队的会话，您只能查看：接手、回复、备注、转接和结束由接待的客服或管理员操作。"
HISTORY_HIDDEN = "只有接待这个会话的客服和管理员可以查看用户的历史会话。"
HISTORY_LIMIT = 50  # of the same user's earlier handoffs shown


class _AgentFull(Exception):
    """Auto-assignment: the agent is no longer available or at the cap (try the next one)."""


class _NotWaiting(Exception):
    """Auto-assignment: the handoff was claimed, assigned or closed meanwhile."""


@dataclass(frozen=True)
class HandoffView:
    id: int
    sender_id: str
    channel: str
    reason: HandoffReason
    state: HandoffState
    outcome: Optional[HandoffOutcome]
    agent_id: Optional[int]
    agent_name: Optional[str]
    summary: Dict[str, Any]
    created_at: datetime
    user_seen_at: datetime
    claimed_at: Optional[datetime]
    first_reply_at: Optional[datetime]
    closed_at: Optional[datetime]
    rating: Optional[int]
    team_id: Optional[int] = None
    team_name: Optional[str] = None
    topic: Optional[str] = None
    auto_assigned: bool = False
    user_key: Optional[str] = None  # whose it is (``request``); None before revision 0007

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    def may_act(self, agent_id: int, is_admin: bool) -> bool:
        """Whether the agent may act on it (``access.may_act``; reading may reach further)."""
        return may_act(self.state, self.agent_id, agent_id, is_admin)


@dataclass(frozen=True)
class QueueEntry:
    position: int  # 1-based
    handoff: HandoffView
    waiting_seconds: int


@dataclass(frozen=True)
class MessageView:
    id: int
    handoff_id: int
    kind: AuthorKind
    agent_id: Optional[int]
    agent_name: Optional[str]
    text: str
    at: datetime


@dataclass(frozen=True)
class EventView:
    id: int
    handoff_id: int
    sender_id: str
    kind: str
    agent_id: Optional[int]
    data: Dict[str, Any]
    at: datetime


class HandoffService:
    def __init__(
        self, database: Database, clock: Callable[[], datetime] = utcnow, abandon_after: Optional[timedelta] = None
    ) -> None:
        self.db = database
        self.now = clock
        self.abandon_after = abandon_after or _abandon_setting()

    # -- the user's side -----------------------------------------------------------

    def request(
        self,
        sender_id: str,
        channel: str,
        reason: Union[HandoffReason, str],
        summary: Dict[str, Any],
        topic: Optional[str] = None,
        user_key: Optional[str] = None,
    ) -> HandoffView:
        """Queues the conversation for an agent, routed by ``topic`` (an intent or
        ``faq/<key>``: what the assistant understood last); asking again returns
        the open handoff.  ``user_key``: whose it is (``request_summary.user_key_of``;
        default the conversation)."""
        reason = HandoffReason(reason)
        stored_summary = summary_json(summary)
        existing = self.open_handoff(sender_id)
        if existing is not None:
            return existing
        now = self.now()
        try:
            with self.db.session() as session:
                topic = (topic or "")[:80] or None
                row = Handoff(
                    sender_id=_sender(sender_id),
                    channel=(channel or "unknown")[:64],
                    reason=reason,
                    summary=stored_summary,
                    problem=_problem_column(summary),
                    user_key=(user_key or sender_id)[:160],
                    state=HandoffState.WAITING,
                    created_at=now,
                    user_seen_at=now,
                    topic=topic,
                    team_id=team_for_topic(session, topic),
                )
                session.add(row)
                session.flush()
                self._add_message(
                    session, row.id, AuthorKind.SYSTEM, f"转人工（{REASON_LABELS[reason]}），排队等待客服。"
                )
                self._audit(session, f"user:{sender_id}", "handoff_requested", handoff=row.id, reason=reason.value)
                self._append_events(
                    session,
                    self._event(
                        row, "created", None, reason=reason.value, channel=row.channel, **self._team_of(session, row)
                    ),
                )
                handoff_id = row.id
        except IntegrityError:
            # Another process opened one at the same moment: the index refused ours.
            existing = self.open_handoff(sender_id)
            if existing is None:
                raise
            return existing
        return self.get(handoff_id)

    def cancel(self, sender_id: str) -> bool:
        """The user goes back to the assistant while waiting; False when nothing was waiting."""
        handoff = self.open_handoff(sender_id)
        if handoff is None or handoff.state != HandoffState.WAITING:
            return False
        with self.db.session() as session:
            if not self._transition(
                session,
                handoff.id,
                [Handoff.state == HandoffState.WAITING],
                state=HandoffState.CANCELLED,
                closed_at=self.now(),
            ):
                return False  # claimed or closed meanwhile
            self._add_message(session, handoff.id, AuthorKind.SYSTEM, "用户取消了转人工，回到智能助手。")
            self._audit(session, f"user:{sender_id}", "handoff_cancelled", handoff=handoff.id)
            self._append_events(session, self._closed_event(session, handoff.id, None))
        return True

    def record_user_message(self, sender_id: str, text: str) -> Optional[MessageView]:
        """Stores what the user wrote while a handoff is open; None when none is."""
        return self._record_from_conversation(sender_id, text, AuthorKind.USER)

    def record_bot_message(self, sender_id: str, text: str) -> Optional[MessageView]:
        """Stores what the assistant told the user while a handoff is open (kind system)."""
        return self._record_from_conversation(sender_id, text, AuthorKind.SYSTEM)

    def mark_user_active(self, sender_id: str) -> bool:
        """The user is still there (e.g. connected): postpones abandonment. False: nothing open."""
        with self.db.session() as session:
            result = session.execute(
                update(Handoff)
                .where(Handoff.sender_id == sender_id, Handoff.state.in_(OPEN_STATES))
                .values(user_seen_at=self.now())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount > 0

    def rate(self, sender_id: str, rating: Union[int, str]) -> HandoffView:
        """The user's 1–5 rating of the latest resolved handoff of the conversation, once."""
        score = _rating(rating)
        with self.db.session() as session:
            latest = session.execute(
                select(Handoff.id, Handoff.rating)
                .where(Handoff.sender_id == sender_id, Handoff.state == HandoffState.RESOLVED)
                .order_by(Handoff.closed_at.desc(), Handoff.id.desc())
                .limit(1)
            ).one_or_none()
            if latest is None:
                raise InvalidInput.of("handoff.nothing_to_rate")
            if latest.rating is not None or not self._transition(
                session, latest.id, [Handoff.rating.is_(None)], rating=score, rated_at=self.now()
            ):
                raise InvalidInput.of("handoff.already_rated")
            self._audit(session, f"user:{sender_id}", "handoff_rated", handoff=latest.id, rating=score)
            row = session.get(Handoff, latest.id)
            self._append_events(session, self._event(row, "rated", None, rating=score))
        return self.get(latest.id)

    # -- the agents' side ------------------------------------------------------------

    def claim(self, handoff_id: int, agent_id: int) -> HandoffView:
        now = self.now()
        with self.db.session() as session:
            agent = self._active_agent(session, agent_id)
            if not self._transition(
                session,
                handoff_id,
                [Handoff.state == HandoffState.WAITING],
                state=HandoffState.ASSIGNED,
                agent_id=agent.id,
                claimed_at=now,
            ):
                raise self._claim_refusal(session, handoff_id, agent)
            self._add_message(session, handoff_id, AuthorKind.SYSTEM, f"客服 {agent.display_name} 已接入。")
            self._audit(session, f"agent:{agent.login}", "handoff_claimed", handoff=handoff_id)
            self._append_events(session, self._event(self._row(session, handoff_id), "claimed", agent.id))
        return self.get(handoff_id)

    def auto_assign(self, handoff_id: int) -> Optional[HandoffView]:
        """Assigns a waiting handoff to an available agent of its team (the rule of
        ``bot.handoff.assignment``); None when it is not waiting or nobody may take it."""
        cap = assignment.max_open_per_agent()
        now = self.now()
        with self.db.session() as session:
            row = session.get(Handoff, handoff_id)
            if row is None:
                raise NotFound(f"no handoff {handoff_id}")
            if row.state != HandoffState.WAITING:
                return None
            team_id = row.team_id
            offered = assignment.candidates(session, team_id, now, cap)
        for agent_id, _ in offered:
            try:
                return self._assign_to(handoff_id, agent_id, cap, now)
            except _AgentFull:
                continue  # another process gave her one meanwhile (or she left): the next one
            except _NotWaiting:
                return None
        return None

    def assign_waiting(self, limit: int = 50) -> List[HandoffView]:
        """Auto-assigns the waiting handoffs, the longest waiting first; the ones assigned."""
        with self.db.session() as session:
            waiting = (
                session.execute(
                    select(Handoff.id)
                    .where(Handoff.state == HandoffState.WAITING)
                    .order_by(Handoff.created_at, Handoff.id)
                    .limit(max(1, limit))
                )
                .scalars()
                .all()
            )
            if not waiting or not assignment.available_count(session, None, self.now()):
                return []  # nobody online: nothing to try
        assigned = []
        for handoff_id in waiting:
            view = self.auto_assign(handoff_id)
            if view is not None:
                assigned.append(view)
        return assigned

    def available_agents(self, team_id: Optional[int]) -> int:
        """How many agents of the team (of all, for None) are online now."""
        with self.db.session() as session:
            return assignment.available_count(session, team_id, self.now())

    def _assign_to(self, handoff_id: int, agent_id: int, cap: int, now: datetime) -> HandoffView:
        with self.db.session() as session:
            # First the agent's lock (the module docstring of bot.handoff.assignment says why).
            if not assignment.lock_agent(session, agent_id, now) or assignment.open_count(session, agent_id) >= cap:
                raise _AgentFull()
            if not self._transition(
                session,
                handoff_id,
                [Handoff.state == HandoffState.WAITING],
                state=HandoffState.ASSIGNED,
                agent_id=agent_id,
                claimed_at=now,
                auto_assigned=True,
            ):
                raise _NotWaiting()
            agent = session.get(Agent, agent_id)
            self._add_message(session, handoff_id, AuthorKind.SYSTEM, f"已自动分配给客服 {agent.display_name}。")
            self._audit(session, "assistant", "handoff_assigned", handoff=handoff_id, agent=agent.login)
            row = self._row(session, handoff_id)
            self._append_events(session, self._event(row, "assigned", agent_id, **self._team_of(session, row)))
        return self.get(handoff_id)

    # -- the unclaimed-handoff webhook -------------------------------------------------

    def webhooks_due(self, after: timedelta) -> List[int]:
        """Handoffs waiting for longer than ``after`` whose webhook was not sent (nor is being sent)."""
        now = self.now()
        with self.db.session() as session:
            return list(
                session.execute(
                    select(Handoff.id)
                    .where(*self._webhook_due(now, after))
                    .order_by(Handoff.created_at, Handoff.id)
                    .limit(100)
                ).scalars()
            )

    def take_webhook(self, handoff_id: int, after: timedelta) -> Optional[HandoffView]:
        """Takes the handoff's webhook send for this process (None: not due, or
        another process has it); the caller sends, then calls ``webhook_sent``."""
        now = self.now()
        with self.db.session() as session:
            if not self._transition(
                session,
                handoff_id,
                self._webhook_due(now, after),
                webhook_claimed_at=now,
                webhook_attempts=Handoff.webhook_attempts + 1,
            ):
                return None
            return self._view(session, self._row(session, handoff_id))

    def webhook_sent(self, handoff_id: int) -> None:
        with self.db.session() as session:
            self._transition(session, handoff_id, [Handoff.webhook_sent_at.is_(None)], webhook_sent_at=self.now())
            self._audit(session, "assistant", "handoff_webhook_sent", handoff=handoff_id)

    @staticmethod
    def _webhook_due(now: datetime, after: timedelta) -> List[Any]:
        return [
            Handoff.state == HandoffState.WAITING,
            Handoff.created_at <= now - after,
            Handoff.webhook_sent_at.is_(None),
            Handoff.webhook_attempts < WEBHOOK_ATTEMPTS,
            (Handoff.webhook_claimed_at.is_(None)) | (Handoff.webhook_claimed_at <= now - WEBHOOK_LEASE),
        ]

    def reply(self, handoff_id: int, agent_id: int, text: str) -> MessageView:
        """A message to the user from the assigned agent (stored; delivery is the channel's job)."""
        text = _message_text(text, "回复")
        now = self.now()
        with self.db.session() as session:
            agent = self._active_agent(session, agent_id)
            if not self._transition(
                session,
                handoff_id,
                [Handoff.state == HandoffState.ASSIGNED, Handoff.agent_id == agent.id],
                first_reply_at=func.coalesce(Handoff.first_reply_at, now),
            ):
                raise self._not_yours(session, handoff_id, agent)
            message = self._add_message(session, handoff_id, AuthorKind.AGENT, text, agent.id)
            self._audit(
                session,
                f"agent:{agent.login}",
                "handoff_replied",
                handoff=handoff_id,
                message=message.id,
                chars=len(text),
            )
            self._append_events(
                session,
                self._event(
                    self._row(session, handoff_id),
                    "message",
                    agent.id,
                    message_id=message.id,
                    author=AuthorKind.AGENT.value,
                ),
            )
            return _message_view(message, agent.display_name)

    def note(self, handoff_id: int, agent_id: int, text: str) -> MessageView:
        """A private note for colleagues, never shown to the user."""
        text = _message_text(text, "备注")
        with self.db.session() as session:
            agent = self._active_agent(session, agent_id)
            row = self._row(session, handoff_id)
            if not _acts(row, agent):
                raise HandoffHidden(READ_ONLY if may_read(session, row.id, agent.id, _admin(agent)) else HIDDEN)
            message = self._add_message(session, handoff_id, AuthorKind.NOTE, text, agent.id)
            self._audit(session, f"agent:{agent.login}", "handoff_noted", handoff=handoff_id, message=message.id)
            self._append_events(session, self._event(row, "note", agent.id, message_id=message.id))
            return _message_view(message, agent.display_name)

    def transfer(self, handoff_id: int, from_agent_id: int, to_agent_id: int) -> HandoffView:
        """Gives an assigned conversation to another active agent (its agent or an admin may)."""
        with self.db.session() as session:
            actor = self._active_agent(session, from_agent_id)
            target = session.get(Agent, to_agent_id)
            if target is None or not target.active:
                raise InvalidInput("要转给的客服不存在或已停用。")
            current = self._row(session, handoff_id)
            self._refuse_unless_handled_by(session, current, actor)
            if target.id == current.agent_id:
                raise HandoffConflict(f"这个会话已经由 {target.display_name} 接待。")
            previous_agent_id = current.agent_id
            if not self._transition(
                session,
                handoff_id,
                [Handoff.state == HandoffState.ASSIGNED, Handoff.agent_id == previous_agent_id],
                agent_id=target.id,
            ):
                raise HandoffConflict("会话状态刚刚发生了变化，请刷新后再试。")
            previous = session.get(Agent, previous_agent_id)
            self._add_message(
                session, handoff_id, AuthorKind.SYSTEM, f"会话由 {previous.display_name} 转给 {target.display_name}。"
            )
            self._audit(
                session,
                f"agent:{actor.login}",
                "handoff_transferred",
                handoff=handoff_id,
                from_agent=previous.login,
                to_agent=target.login,
            )
            self._append_events(
                session,
                self._event(
                    self._row(session, handoff_id),
                    "transferred",
                    actor.id,
                    from_agent_id=previous_agent_id,
                    to_agent_id=target.id,
                ),
            )
        return self.get(handoff_id)

    def resolve(self, handoff_id: int, agent_id: int) -> HandoffView:
        """The agent solved the problem; the conversation goes back to the assistant."""
        return self._close_by_agent(
            handoff_id, agent_id, HandoffOutcome.RESOLVED, "客服已结束会话（问题已解决），回到智能助手。"
        )

    def hand_back(self, handoff_id: int, agent_id: int) -> HandoffView:
        """The agent gives the conversation back to the assistant."""
        return self._close_by_agent(handoff_id, agent_id, HandoffOutcome.HANDED_BACK, "客服已将会话交还智能助手。")

    def abandon_stale(self, now: Optional[datetime] = None) -> List[int]:
        """Closes waiting handoffs whose user has shown no sign for ``abandon_after``."""
        now = now or self.now()
        cutoff = now - self.abandon_after
        stale = [Handoff.state == HandoffState.WAITING, Handoff.user_seen_at < cutoff]
        abandoned = []
        with self.db.session() as session:
            candidates = session.execute(select(Handoff.id).where(*stale).order_by(Handoff.id)).scalars().all()
            for handoff_id in candidates:  # one by one, in id order: no lock-order deadlocks
                if self._transition(session, handoff_id, stale, state=HandoffState.ABANDONED, closed_at=now):
                    abandoned.append(handoff_id)
            for handoff_id in abandoned:
                self._add_message(session, handoff_id, AuthorKind.SYSTEM, "用户长时间没有回应，会话已关闭。")
                self._audit(session, "assistant", "handoff_abandoned", handoff=handoff_id)
            self._append_events(session, *(self._closed_event(session, handoff_id, None) for handoff_id in abandoned))
        return abandoned

    # -- reading -------------------------------------------------------------------

    def get(self, handoff_id: int) -> HandoffView:
        with self.db.session() as session:
            return self._view(session, self._row(session, handoff_id))

    def open_handoff(self, sender_id: str) -> Optional[HandoffView]:
        with self.db.session() as session:
            row = session.execute(
                select(Handoff).where(Handoff.sender_id == sender_id, Handoff.state.in_(OPEN_STATES))
            ).scalar_one_or_none()
            return self._view(session, row) if row else None

    def assigned_to(self, agent_id: Optional[int] = None) -> List[HandoffView]:
        """The agent's assigned handoffs (every agent's for None), the earliest claimed first."""
        conditions = [Handoff.state == HandoffState.ASSIGNED]
        if agent_id is not None:
            conditions.append(Handoff.agent_id == agent_id)
        with self.db.session() as session:
            rows = (
                session.execute(select(Handoff).where(*conditions).order_by(Handoff.claimed_at, Handoff.id))
                .scalars()
                .all()
            )
            return [self._view(session, row) for row in rows]

    def queue(self) -> List[QueueEntry]:
        """Waiting handoffs, the longest waiting first."""
        now = self.now()
        with self.db.session() as session:
            rows = (
                session.execute(
                    select(Handoff)
                    .where(Handoff.state == HandoffState.WAITING)
                    .order_by(Handoff.created_at, Handoff.id)
                )
                .scalars()
                .all()
            )
            return [
                QueueEntry(position, self._view(session, row), max(0, int((now - row.created_at).total_seconds())))
                for position, row in enumerate(rows, start=1)
            ]

    def position(self, handoff_id: int) -> Optional[int]:
        """1-based place in its team's queue; None when the handoff is not waiting."""
        with self.db.session() as session:
            row = self._row(session, handoff_id)
            if row.state != HandoffState.WAITING:
                return None
            ahead = session.execute(
                select(func.count())
                .select_from(Handoff)
                .where(
                    Handoff.state == HandoffState.WAITING,
                    Handoff.team_id.is_(None) if row.team_id is None else Handoff.team_id == row.team_id,
                    (Handoff.created_at < row.created_at)
                    | ((Handoff.created_at == row.created_at) & (Handoff.id < row.id)),
                )
            ).scalar_one()
            return ahead + 1

    def estimated_wait_minutes(self, position: int) -> int:
        """Position × the median time from request to claim of recent handoffs (minutes,
        rounded up; above 10 to a multiple of 5); 5 minutes a place without history."""
        now = self.now()
        with self.db.session() as session:
            rows = session.execute(
                select(Handoff.created_at, Handoff.claimed_at)
                .where(Handoff.claimed_at.is_not(None), Handoff.claimed_at >= now - ESTIMATE_HISTORY)
                .order_by(Handoff.claimed_at.desc())
                .limit(ESTIMATE_SAMPLES)
            ).all()
        waits = [(claimed - created).total_seconds() for created, claimed in rows]
        per_position = (
            statistics.median(waits) if len(waits) >= ESTIMATE_MIN_SAMPLES else DEFAULT_MINUTES_PER_POSITION * 60
        )
        minutes = max(1, math.ceil(max(1, position) * per_position / 60))
        return minutes if minutes <= 10 else 5 * math.ceil(minutes / 5)

    def transcript(self, handoff_id: int, after_message_id: int = 0) -> List[MessageView]:
        """The handoff's messages in order, notes included, ID numbers and phones masked."""
        with self.db.session() as session:
            self._row(session, handoff_id)
            return self._messages(session, handoff_id, after_message_id)

    def read_transcript(
        self,
        handoff_id: int,
        agent_id: int,
        client_address: str,
        after_message_id: int = 0,
        via: Optional[int] = None,
    ) -> Tuple[HandoffView, List[MessageView]]:
        """The handoff and its messages after ``after_message_id`` (masked, as ``transcript``)
        for an agent who may read it (``access.readable``: hers to act on, or her team's),
        or who holds ``via``, an open handoff of the same user (``links``: the user's
        history); else HandoffHidden; NotFound for no such handoff.  Either way the read is
        in the audit log, with the client's address (and ``team``: read as her team's)."""
        with self.db.session() as session:
            row = self._read_checked(
                session, handoff_id, agent_id, client_address, "transcript", via, after_message=after_message_id
            )
            if row is not None:
                view = self._view(session, row)
                messages = self._messages(session, handoff_id, after_message_id)
        # Raised after the block: the refusal's audit entry is committed, not rolled back.
        if row is None:
            raise HandoffHidden(HIDDEN)
        return view, messages

    def read_access(
        self, handoff_id: int, agent_id: int, client_address: str, what: str, via: Optional[int] = None
    ) -> HandoffView:
        """The handoff, when the agent may read it (as ``read_transcript``), to read ``what``
        of it (e.g. a photo); audited as ``handoff_<what>_read`` (or ``_refused``)."""
        with self.db.session() as session:
            row = self._read_checked(session, handoff_id, agent_id, client_address, what, via)
            view = self._view(session, row) if row is not None else None
        if view is None:
            raise HandoffHidden(HIDDEN)
        return view

    def _read_checked(
        self,
        session: Session,
        handoff_id: int,
        agent_id: int,
        client_address: str,
        what: str,
        via: Optional[int],
        **detail: object,
    ) -> Optional[Handoff]:
        """The handoff's row if the agent may read it (``_read_ground``), else None; the read
        or its refusal goes to the audit log (``handoff_<what>_read`` / ``_refused``; ``team``:
        the team she read it as a member of)."""
        agent = self._active_agent(session, agent_id)
        row = self._row(session, handoff_id)
        ground = self._read_ground(session, row, agent, via)
        if via is not None:
            detail["via"] = via
        if ground == "team":
            detail["team"] = row.team_id
        self._audit(
            session,
            f"agent:{agent.login}",
            f"handoff_{what}_{'read' if ground else 'refused'}",
            handoff=handoff_id,
            client_ip=_client(client_address),
            **detail,
        )
        return row if ground else None

    def history(self, handoff_id: int, agent_id: int, client_address: str) -> List[HandoffView]:
        """The same user's other handoffs (``links``), the latest first, for the agent who holds
        ``handoff_id`` (or an admin); HandoffHidden for anyone else.  Audited either way
        (``handoff_history_read`` / ``handoff_history_refused``)."""
        with self.db.session() as session:
            agent = self._active_agent(session, agent_id)
            row = self._row(session, handoff_id)
            allowed = agent.role == AgentRole.ADMIN or (row.state == HandoffState.ASSIGNED and row.agent_id == agent.id)
            earlier: List[HandoffView] = []
            if allowed:
                rows = (
                    session.execute(
                        select(Handoff)
                        .where(Handoff.id != row.id, _same_user(row))
                        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
                        .limit(HISTORY_LIMIT)
                    )
                    .scalars()
                    .all()
                )
                earlier = [self._view(session, other) for other in rows]
            self._audit(
                session,
                f"agent:{agent.login}",
                "handoff_history_read" if allowed else "handoff_history_refused",
                handoff=handoff_id,
                shown=[view.id for view in earlier],
                client_ip=_client(client_address),
            )
        if not allowed:
            raise HandoffHidden(HISTORY_HIDDEN)
        return earlier

    def conversation_log(self, handoff: HandoffView) -> List[LogEntry]:
        """The conversation before ``handoff`` (``conversation_log.conversation_before``, the
        flow's findings as far as the summary's ``checked`` vouches for them); for a caller
        that has read the handoff (``read_transcript``, checked and audited)."""
        with self.db.session() as session:
            checked = handoff.summary.get("checked")
            confirmed = [str(item) for item in checked] if isinstance(checked, list) else []
            return conversation_before(session, handoff.sender_id, handoff.created_at, confirmed)

    def search(
        self, criteria: SearchCriteria, agent_id: int, client_address: str, page: int = 1
    ) -> Tuple[SearchPage, List[HandoffView]]:
        """One page of the handoffs the agent may find (``search.search``), audited
        (``handoff_search``, with the criteria and the client's address)."""
        with self.db.session() as session:
            agent = self._active_agent(session, agent_id)
            found = search_handoffs(session, criteria, agent.id, agent.role == AgentRole.ADMIN, page)
            rows = {row.id: row for row in session.execute(select(Handoff).where(Handoff.id.in_(found.ids))).scalars()}
            views = [self._view(session, rows[handoff_id]) for handoff_id in found.ids]
            self._audit(
                session,
                f"agent:{agent.login}",
                "handoff_search",
                criteria=criteria.as_audit(),
                page=found.page,
                found=found.total,
                client_ip=_client(client_address),
            )
        return found, views

    def links(self, handoff_id: int, other_id: int) -> bool:
        """Whether two handoffs are the same user's (the same ``user_key`` or conversation)."""
        with self.db.session() as session:
            return self._linked(session, self._row(session, handoff_id), self._row(session, other_id))

    def _read_ground(self, session: Session, row: Handoff, agent: Agent, via: Optional[int]) -> Optional[str]:
        """Why the agent may read ``row``: ``"act"`` (hers to act on), ``"team"`` (routed to a
        team of hers: ``access.readable``), ``"via"`` (she holds ``via``, an open handoff of the
        same user); None: she may not."""
        if _acts(row, agent):
            return "act"
        if may_read(session, row.id, agent.id, _admin(agent)):
            return "team"
        if via is None:
            return None
        held = session.get(Handoff, via)
        linked = (
            held is not None
            and held.state == HandoffState.ASSIGNED
            and held.agent_id == agent.id
            and self._linked(session, held, row)
        )
        return "via" if linked else None

    @staticmethod
    def _linked(session: Session, one: Handoff, other: Handoff) -> bool:
        if one.id == other.id:
            return True
        return (
            session.execute(
                select(func.count()).select_from(Handoff).where(Handoff.id == other.id, _same_user(one))
            ).scalar_one()
            == 1
        )

    @staticmethod
    def _messages(session: Session, handoff_id: int, after_message_id: int) -> List[MessageView]:
        """A handoff's messages after ``after_message_id``, ID numbers and phones masked."""
        rows = session.execute(
            select(HandoffMessage, Agent.display_name)
            .outerjoin(Agent, Agent.id == HandoffMessage.agent_id)
            .where(HandoffMessage.handoff_id == handoff_id, HandoffMessage.id > after_message_id)
            .order_by(HandoffMessage.id)
        ).all()
        return [_message_view(message, name, masked=True) for message, name in rows]

    def message(self, message_id: int) -> MessageView:
        """One message as written (unmasked): what the channel delivers to the user."""
        with self.db.session() as session:
            found = session.execute(
                select(HandoffMessage, Agent.display_name)
                .outerjoin(Agent, Agent.id == HandoffMessage.agent_id)
                .where(HandoffMessage.id == message_id)
            ).one_or_none()
        if found is None:
            raise NotFound(f"no handoff message {message_id}")
        return _message_view(*found)

    def events_after(self, event_id: int = 0, limit: int = 100) -> List[EventView]:
        """Events with an id above ``event_id``, oldest first."""
        with self.db.session() as session:
            rows = (
                session.execute(
                    select(HandoffEvent)
                    .where(HandoffEvent.id > event_id)
                    .order_by(HandoffEvent.id)
                    .limit(max(1, limit))
                )
                .scalars()
                .all()
            )
            return [
                EventView(
                    row.id,
                    row.handoff_id,
                    row.sender_id,
                    row.kind,
                    row.agent_id,
                    json.loads(row.data) if row.data else {},
                    row.at,
                )
                for row in rows
            ]

    def latest_event_id(self) -> int:
        with self.db.session() as session:
            return session.execute(select(func.max(HandoffEvent.id))).scalar_one() or 0

    # -- retention -----------------------------------------------------------------

    def purge_transcripts_before(self, cutoff: datetime) -> Dict[str, int]:
        """Deletes the transcripts (messages and notes) of the handoffs closed before ``cutoff``
        and empties their summaries; the handoffs, their events and ratings stay for the reports.
        Counts; a second run deletes nothing more."""
        with self.db.session() as session:
            old = select(Handoff.id).where(Handoff.closed_at.is_not(None), Handoff.closed_at < cutoff)
            # Bulk statements: nothing of these rows is loaded in the session to keep in step.
            bulk = {"synchronize_session": False}
            messages = session.execute(
                delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(old)), execution_options=bulk
            ).rowcount
            summaries = session.execute(
                update(Handoff).where(Handoff.id.in_(old), Handoff.summary != "").values(summary=""),
                execution_options=bulk,
            ).rowcount
        return {"handoff_messages": messages, "handoff_summaries": summaries}

    # -- steps -------------------------------------------------------------------

    def _record_from_conversation(self, sender_id: str, text: str, kind: AuthorKind) -> Optional[MessageView]:
        handoff = self.open_handoff(sender_id)
        if handoff is None:
            return None
        with self.db.session() as session:
            # The assistant's words change nothing: the UPDATE only checks the state and locks the row.
            values = {"user_seen_at": self.now()} if kind == AuthorKind.USER else {"state": Handoff.state}
            if not self._transition(session, handoff.id, [Handoff.state.in_(OPEN_STATES)], **values):
                return None  # closed meanwhile
            message = self._add_message(session, handoff.id, kind, text or "")
            self._append_events(
                session,
                self._event(self._row(session, handoff.id), "message", None, message_id=message.id, author=kind.value),
            )
            return _message_view(message, None)

    def _close_by_agent(self, handoff_id: int, agent_id: int, outcome: HandoffOutcome, notice: str) -> HandoffView:
        with self.db.session() as session:
            agent = self._active_agent(session, agent_id)
            current = self._row(session, handoff_id)
            self._refuse_unless_handled_by(session, current, agent)
            if not self._transition(
                session,
                handoff_id,
                [Handoff.state == HandoffState.ASSIGNED, Handoff.agent_id == current.agent_id],
                state=HandoffState.RESOLVED,
                outcome=outcome,
                closed_at=self.now(),
            ):
                raise self._not_yours(session, handoff_id, agent)
            self._add_message(session, handoff_id, AuthorKind.SYSTEM, notice)
            self._audit(session, f"agent:{agent.login}", f"handoff_{outcome.value}", handoff=handoff_id)
            self._append_events(session, self._closed_event(session, handoff_id, agent.id))
        return self.get(handoff_id)

    @staticmethod
    def _transition(session: Session, handoff_id: int, conditions: Sequence[Any], **values: Any) -> bool:
        """The conditional UPDATE every change rests on: True when the row still qualified."""
        result = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    @staticmethod
    def _row(session: Session, handoff_id: int) -> Handoff:
        row = session.execute(
            select(Handoff).where(Handoff.id == handoff_id).execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no handoff {handoff_id}")
        return row

    @staticmethod
    def _active_agent(session: Session, agent_id: int) -> Agent:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if not agent.active:
            raise HandoffConflict("您的客服账号已停用。")
        return agent

    def _refuse_unless_handled_by(self, session: Session, row: Handoff, agent: Agent) -> None:
        if row.state != HandoffState.ASSIGNED:
            raise self._not_yours(session, row.id, agent)
        if not _acts(row, agent):
            raise HandoffHidden("这个会话由其他客服接待，只有接待的客服或管理员可以操作。")

    def _claim_refusal(self, session: Session, handoff_id: int, agent: Agent) -> HandoffConflict:
        row = self._row(session, handoff_id)
        refusal = HandoffConflict if _acts(row, agent) else HandoffHidden
        if row.state == HandoffState.ASSIGNED:
            return refusal("您已经接手了这个会话。" if row.agent_id == agent.id else ALREADY_CLAIMED)
        return refusal(CLOSED_MESSAGES[HandoffState(row.state)])

    def _not_yours(self, session: Session, handoff_id: int, agent: Agent) -> HandoffConflict:
        row = self._row(session, handoff_id)
        state = HandoffState(row.state)
        refusal = HandoffConflict if _acts(row, agent) else HandoffHidden
        if state == HandoffState.WAITING:
            return refusal("这个会话还在排队，请先接手。")
        if state == HandoffState.ASSIGNED:
            return refusal("这个会话由其他客服接待。")
        return refusal(CLOSED_MESSAGES[state])

    def _add_message(
        self, session: Session, handoff_id: int, kind: AuthorKind, text: str, agent_id: Optional[int] = None
    ) -> HandoffMessage:
        message = HandoffMessage(handoff_id=handoff_id, kind=kind, agent_id=agent_id, text=text, at=self.now())
        session.add(message)
        session.flush()
        return message

    def _audit(self, session: Session, actor: str, action: str, **detail: object) -> None:
        record_audit(session, self.now(), actor[:160], action, detail=detail)

    def _event(self, row: Handoff, kind: str, agent_id: Optional[int], **data: Any) -> HandoffEvent:
        return HandoffEvent(
            handoff_id=row.id,
            sender_id=row.sender_id,
            kind=kind,
            agent_id=agent_id,
            data=json.dumps(data, ensure_ascii=False) if data else None,
            at=self.now(),
        )

    def _closed_event(self, session: Session, handoff_id: int, agent_id: Optional[int]) -> HandoffEvent:
        row = self._row(session, handoff_id)
        return self._event(
            row,
            "closed",
            agent_id,
            state=HandoffState(row.state).value,
            outcome=HandoffOutcome(row.outcome).value if row.outcome else None,
        )

    @staticmethod
    def _team_of(session: Session, row: Handoff) -> Dict[str, Any]:
        """The handoff's team for an event's data: its id and name (for the console's notifications)."""
        team = session.get(Team, row.team_id) if row.team_id else None
        return {"team_id": row.team_id, "team": team.name if team else None}

    @staticmethod
    def _append_events(session: Session, *events: HandoffEvent) -> None:
        """The last step of a change: ids are taken, and the transaction commits, in one order."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})
        session.add_all(events)
        session.flush()

    @staticmethod
    def _view(session: Session, row: Handoff) -> HandoffView:
        agent = session.get(Agent, row.agent_id) if row.agent_id else None
        team = session.get(Team, row.team_id) if row.team_id else None
        return HandoffView(
            id=row.id,
            sender_id=row.sender_id,
            channel=row.channel,
            reason=HandoffReason(row.reason),
            state=HandoffState(row.state),
            outcome=HandoffOutcome(row.outcome) if row.outcome else None,
            agent_id=row.agent_id,
            agent_name=agent.display_name if agent else None,
            summary=summary_from_json(row.summary),
            created_at=row.created_at,
            user_seen_at=row.user_seen_at,
            claimed_at=row.claimed_at,
            first_reply_at=row.first_reply_at,
            closed_at=row.closed_at,
            rating=row.rating,
            team_id=row.team_id,
            team_name=team.name if team else None,
            topic=row.topic,
            auto_assigned=bool(row.auto_assigned),
            user_key=row.user_key,
        )


def summary_json(summary: Dict[str, Any]) -> str:
    """The summary as stored: masked JSON (the assistant masks what it writes;
    this masks again whatever looks like an ID or phone number); refuses what
    JSON cannot hold."""
    if not isinstance(summary, dict):
        raise TypeError(f"a handoff summary must be a dict, not {type(summary).__name__}")
    return json.dumps(mask_value(summary), ensure_ascii=False)


def _problem_column(summary: Dict[str, Any]) -> Optional[str]:
    problem = summary.get("problem")
    return mask_text(str(problem))[:PROBLEM_CHARS] if problem else None


def summary_from_json(stored: str) -> Dict[str, Any]:
    return json.loads(stored) if stored else {}


def _same_user(row: Handoff) -> Any:
    """The condition "a handoff of the same user as ``row``": its user_key or its conversation."""
    keys = {key for key in (row.user_key, row.sender_id) if key}
    return Handoff.user_key.in_(keys) | (Handoff.sender_id == row.sender_id)


def _client(client_address: str) -> str:
    return (client_address or "unknown")[:64]


def _admin(agent: Agent) -> bool:
    return agent.role == AgentRole.ADMIN


def _acts(row: Handoff, agent: Agent) -> bool:
    """``access.may_act`` for a row."""
    return may_act(HandoffState(row.state), row.agent_id, agent.id, _admin(agent))


def _message_view(message: HandoffMessage, agent_name: Optional[str], masked: bool = False) -> MessageView:
    return MessageView(
        message.id,
        message.handoff_id,
        AuthorKind(message.kind),
        message.agent_id,
        agent_name,
        mask_text(message.text) if masked else message.text,
        message.at,
    )


def _abandon_setting() -> timedelta:
    minutes = config.get_int("HANDOFF_ABANDON_MINUTES")
    if minutes < 1:
        raise ValueError(f"setting HANDOFF_ABANDON_MINUTES must be at least 1, got {minutes}")
    return timedelta(minutes=minutes)


def _sender(sender_id: str) -> str:
    if not sender_id or len(sender_id) > 128:
        raise ValueError(f"sender_id must have 1-128 characters, got {sender_id!r}")
    return sender_id


def _message_text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"{what}内容不能为空。")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{what}太长了（最多 {MAX_TEXT_CHARS} 个字），请分几条发送。")
    return text


def _rating(rating: Union[int, str]) -> int:
    if isinstance(rating, str) and re.fullmatch(r"\s*\d\s*", rating):
        rating = int(rating)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("请用 1 到 5 之间的整数打分（5 分表示非常满意）。")
    return rating
