"""Tables of the human handoff: agents, their logins, console sessions and
presence, teams with their members and routes, handoffs with their messages,
and the event log the console polls.

They live on the store's declarative ``Base``, so the store's one Alembic
chain (``bot/store/migrations``, revisions 0003, 0006, 0007 and 0008) and ``python -m
bot db upgrade`` create them next to the account tables.

Revision 0008 adds, on PostgreSQL only and where the database lets it create the
``pg_trgm`` extension, GIN trigram indexes for search (:data:`TRIGRAM_INDEXES`).
SQLAlchemy 1.4 cannot declare an index for one dialect only, so they are not on
the tables below; autogenerate leaves them alone (:func:`autogenerate_includes`).
"""

from __future__ import annotations

import enum
from typing import Any, Optional

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, false, func, text

from bot.store import Base, stored_enum

PROBLEM_CHARS = 200  # of the problem kept beside the summary, for search
# The GIN trigram indexes (gin_trgm_ops) of revision 0008 on PostgreSQL: name -> (table, column).
TRIGRAM_INDEXES = {
    "ix_handoffs_problem_trgm": ("handoffs", "problem"),
    "ix_handoffs_summary_trgm": ("handoffs", "summary"),
    "ix_handoff_messages_text_trgm": ("handoff_messages", "text"),
}


def autogenerate_includes(item: Any, name: Optional[str], kind: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: everything but the trigram indexes, which live in
    revision 0008 only (PostgreSQL, ``pg_trgm`` permitting), not on the tables."""
    return not (kind == "index" and name in TRIGRAM_INDEXES)


class HandoffState(str, enum.Enum):
    WAITING = "waiting"  # in the queue, no agent yet
    ASSIGNED = "assigned"  # an agent has it
    RESOLVED = "resolved"  # an agent closed it; ``outcome`` says how
    ABANDONED = "abandoned"  # the user left while waiting
    CANCELLED = "cancelled"  # the user went back to the assistant while waiting

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


OPEN_STATES = (HandoffState.WAITING, HandoffState.ASSIGNED)
OPEN_STATE_VALUES = tuple(state.value for state in OPEN_STATES)


class HandoffOutcome(str, enum.Enum):
    RESOLVED = "resolved"  # the agent solved the problem
    HANDED_BACK = "handed_back"  # the agent gave the conversation back to the assistant


class HandoffReason(str, enum.Enum):
    USER_REQUEST = "user_request"  # the user asked for a person
    MISUNDERSTOOD = "misunderstood"  # the assistant did not understand, repeatedly
    FLOW_DEAD_END = "flow_dead_end"  # a flow had no way forward
    NEGATIVE_FEEDBACK = "negative_feedback"  # the user said the answer did not help


class AgentRole(str, enum.Enum):
    AGENT = "agent"
    ADMIN = "admin"  # also transfers and closes other agents' conversations


class Presence(str, enum.Enum):
    """What an agent set in the console; only ``online`` agents are assigned conversations."""

    ONLINE = "online"  # 在线: takes conversations
    BUSY = "busy"  # 忙碌: at work, no new conversations
    AWAY = "away"  # 离开: not there (also after logging out, and the default)


class AuthorKind(str, enum.Enum):
    USER = "user"
    AGENT = "agent"
    NOTE = "note"  # an agent's private note: never shown to the user
    SYSTEM = "system"  # the assistant or the handoff itself (queued, claimed, closed ...)


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (Index("uq_agents_login_lower", func.lower(text("login")), unique=True),)

    id = Column(Integer, primary_key=True)
    login = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(200), nullable=False)
    role = Column(stored_enum(AgentRole), nullable=False, default=AgentRole.AGENT)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)
    presence = Column(stored_enum(Presence), nullable=False, default=Presence.AWAY, server_default="away")
    presence_seen_at = Column(DateTime)  # the console's latest sign of life (online counts only while recent)
    # Round robin: the agent's place in the order of auto-assignments (the latest one has the highest).
    assignment_turn = Column(Integer, nullable=False, default=0, server_default="0")


class Team(Base):
    """A group of agents a handoff can be routed to (e.g. 自然人账号, 法人账号)."""

    __tablename__ = "teams"
    __table_args__ = (
        # At most one default team (the one unrouted problems go to), guarded by the database.
        Index(
            "uq_teams_default",
            "is_default",
            unique=True,
            sqlite_where=text("is_default = 1"),
            postgresql_where=text("is_default"),
        ),
    )

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    is_default = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id = Column(Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)


class TeamRoute(Base):
    """Routing: handoffs about ``topic`` (an intent, or ``faq/<key>``) go to the team."""

    __tablename__ = "team_routes"

    topic = Column(String(80), primary_key=True)
    team_id = Column(Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True)


class LoginAttempt(Base):
    """One console login attempt; failures within the window delay further tries."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_login_at", "login", "at"),
        Index("ix_login_attempts_ip_at", "client_ip", "at"),
    )

    id = Column(Integer, primary_key=True)
    login = Column(String(64), nullable=False)  # lower case, as typed (may name no agent)
    client_ip = Column(String(64), nullable=False)
    # pending (password being checked; counts as failed), failed, ok, throttled (refused
    # unchecked: too early after failures; not counted), disabled (right password,
    # disabled agent); "locked" in rows written before the throttle replaced the lockout
    outcome = Column(String(16), nullable=False)
    at = Column(DateTime, nullable=False)


class AgentSession(Base):
    """A console login; only the SHA-256 of the session token is stored."""

    __tablename__ = "agent_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    csrf_token = Column(String(64), nullable=False)  # worthless without the session cookie
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class Handoff(Base):
    """One request of a conversation (``sender_id``) for a person."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open handoff per conversation, guarded by the database itself.
        Index(
            "uq_handoffs_open_sender",
            "sender_id",
            unique=True,
            sqlite_where=text("state IN ('waiting', 'assigned')"),
            postgresql_where=text("state IN ('waiting', 'assigned')"),
        ),
        Index("ix_handoffs_state_created", "state", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(64), nullable=False)
    reason = Column(stored_enum(HandoffReason), nullable=False)
    summary = Column(Text, nullable=False)  # JSON the assistant prepared, identity data masked
    state = Column(stored_enum(HandoffState), nullable=False)
    outcome = Column(stored_enum(HandoffOutcome))  # set when resolved
    agent_id = Column(Integer, ForeignKey("agents.id"), index=True)
    created_at = Column(DateTime, nullable=False, index=True)
    user_seen_at = Column(DateTime, nullable=False)  # last user message or sign of presence
    claimed_at = Column(DateTime)
    first_reply_at = Column(DateTime)
    closed_at = Column(DateTime)
    rating = Column(Integer)  # 1..5, given after it was resolved
    rated_at = Column(DateTime)
    topic = Column(String(80))  # what it was routed by: an intent, or faq/<key>
    team_id = Column(Integer, ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    auto_assigned = Column(Boolean, nullable=False, default=False, server_default=false())
    # The unclaimed-handoff webhook: a replica takes the send (attempts, claimed_at), then marks it sent.
    webhook_attempts = Column(Integer, nullable=False, default=0, server_default="0")
    webhook_claimed_at = Column(DateTime)
    webhook_sent_at = Column(DateTime)
    # Who the user is as far as the assistant knew at the request: ``account:<id>`` when
    # verified, else the conversation (sender_id).  The same user's history (revision 0007).
    user_key = Column(String(160), index=True)
    problem = Column(String(PROBLEM_CHARS), index=True)  # the summary's problem, for search


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    kind = Column(stored_enum(AuthorKind), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"))
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)


class HandoffEvent(Base):
    """Every change, in commit order: what the console polls (``events_after``)."""

    __tablename__ = "handoff_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    sender_id = Column(String(128), nullable=False)
    kind = Column(String(32), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"))
    data = Column(Text)  # JSON
    at = Column(DateTime, nullable=False)
