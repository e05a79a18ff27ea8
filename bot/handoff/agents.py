"""The support agents of the console: their accounts, login with a throttle,
console sessions and CSRF tokens.

* Login names are unique ignoring case and looked up ignoring case.
  Passwords follow the platform's rules (``checks.password_problems``) and are
  stored as PBKDF2 hashes (``bot.store.hash_password``).
* ``authenticate`` throttles failed logins with growing delays, never with a
  lock: per login name (as typed, so unknown names behave alike) and per
  client address, failures within ``LOGIN_WINDOW`` are counted; from the
  ``FREE_FAILURES``-th on, the next attempt must wait ``2^(failures -
  FREE_FAILURES)`` seconds after the latest failure, at most
  ``ACCOUNT_MAX_DELAY`` for a login name and ``ADDRESS_MAX_DELAY`` for an
  address.  An attempt inside a wait is refused ("请 X 秒后再试") without
  checking the password and is not counted, so a burst of guesses buys
  nothing, and after the wait the right password always works: whoever guesses
  at a named agent can keep them waiting ``ACCOUNT_MAX_DELAY`` at most.  The
  login name's wait does not apply to an address the agent logged in from
  within ``KNOWN_ADDRESS_AGE`` (a guesser elsewhere cannot hold them up at
  all) and its count starts again after a successful login; an address's
  count does not (an attacker's own account must not reset it).  Each attempt
  is written (as ``pending``, counted as a failure) before the password is
  checked, so parallel guesses see each other.  Unknown login names cost a
  password check too: timing does not reveal them.  Every refused login is
  in the audit log (``agent_login_failed``, with the name as typed, the
  client address and why).
* A console session is a random token (the cookie) of which only the SHA-256
  is stored, with a random CSRF token for the session's forms.  Expiry is
  sliding: ``SESSION_IDLE`` (8 h) after the last use, but at most
  ``SESSION_MAX`` (12 h) after the login.  Disabling an agent, and setting
  their password, end their sessions (but the one that set it, if any).
* Presence (在线 / 忙碌 / 离开, ``set_presence``) is what the agent chose in
  the console; logging out and disabling set 离开.  An online agent counts as
  available (``bot.handoff.assignment``) only while her console shows signs
  of life (``heartbeat``, every poll of an open page; written at most every
  ``PRESENCE_REFRESH_STEP``) within ``PRESENCE_STALE``: a closed laptop is
  not assigned conversations.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional, Tuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.accounts import checks
from bot.accounts.checks import InvalidInput
from bot.handoff.labels import PRESENCE_LABELS
from bot.handoff.models import Agent, AgentRole, AgentSession, LoginAttempt, Presence
from bot.store import Database, NotFound, check_password, hash_password, record_audit, utcnow

LOGIN_WINDOW = timedelta(hours=1)  # failures older than this no longer count
FREE_FAILURES = 5  # failures before the first delay (of 1 second, then 2, 4, 8 ...)
ACCOUNT_MAX_DELAY = timedelta(minutes=1)  # the longest a login name's failures delay the next attempt
ADDRESS_MAX_DELAY = timedelta(minutes=15)  # the longest an address's failures delay its next attempt
KNOWN_ADDRESS_AGE = timedelta(days=30)  # an agent's successful login makes the address theirs this long
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(hours=12)
SESSION_REFRESH_STEP = timedelta(minutes=1)  # sliding expiry is written at most this often
PRESENCE_STALE = timedelta(minutes=2)  # an online agent's console silent this long: not assigned anything
PRESENCE_REFRESH_STEP = timedelta(seconds=20)  # the console's sign of life is written at most this often
_LOGIN_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{2,64}")

PENDING, FAILED, OK, THROTTLED, DISABLED = "pending", "failed", "ok", "throttled", "disabled"
_COUNTED_AS_FAILED = (PENDING, FAILED)


class LoginRefused(InvalidInput):
    """Login refused; ``str(error)`` is the message for the login page."""


def throttle_message(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))  # rounded up: the wait must suffice
    return f"登录尝试过于频繁，请 {seconds} 秒后再试。"


def failure_delay(failures: int, longest: timedelta) -> timedelta:
    """How long after the latest of ``failures`` counted failures the next attempt waits."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    exponent = failures - FREE_FAILURES
    if exponent >= 32:  # far beyond any cap; keeps the power small
        return longest
    return min(longest, timedelta(seconds=2**exponent))


@dataclass(frozen=True)
class AgentView:
    id: int
    login: str
    display_name: str
    role: AgentRole
    active: bool
    created_at: datetime
    presence: Presence = Presence.AWAY

    @property
    def is_admin(self) -> bool:
        return self.role == AgentRole.ADMIN

    @property
    def actor(self) -> str:
        """How the audit log names the agent."""
        return f"agent:{self.login}"


def agent_view(row: Agent) -> AgentView:
    return AgentView(
        row.id,
        row.login,
        row.display_name,
        AgentRole(row.role),
        bool(row.active),
        row.created_at,
        Presence(row.presence or Presence.AWAY),
    )


def digest(secret_value: str) -> str:
    return hashlib.sha256(secret_value.encode()).hexdigest()


class AgentDirectory:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = database
        self.now = clock
        self._dummy_hash: Optional[str] = None

    # -- accounts ---------------------------------------------------------------

    def create(
        self, login: str, display_name: str, password: str, role: AgentRole = AgentRole.AGENT, actor: str = "cli"
    ) -> AgentView:
        login = _valid_login(login)
        display_name = _valid_display_name(display_name)
        _check_password_rules(password)
        role = AgentRole(role)
        try:
            with self.db.session() as session:
                if _row_by_login(session, login) is not None:
                    raise InvalidInput(f"客服登录名 {login} 已存在（不区分大小写）。")
                row = Agent(
                    login=login,
                    display_name=display_name,
                    password_hash=hash_password(password),
                    role=role,
                    active=True,
                    created_at=self.now(),
                )
                session.add(row)
                session.flush()
                self._audit(session, actor, "agent_created", login=login, role=role.value)
                return agent_view(row)
        except IntegrityError:  # created at the same moment by someone else
            raise InvalidInput(f"客服登录名 {login} 已存在（不区分大小写）。") from None

    def list(self) -> List[AgentView]:
        with self.db.session() as session:
            rows = session.execute(select(Agent).order_by(func.lower(Agent.login))).scalars()
            return [agent_view(row) for row in rows]

    def get(self, agent_id: int) -> Optional[AgentView]:
        with self.db.session() as session:
            row = session.get(Agent, agent_id)
            return agent_view(row) if row else None

    def by_login(self, login: str) -> Optional[AgentView]:
        with self.db.session() as session:
            row = _row_by_login(session, login)
            return agent_view(row) if row else None

    def disable(self, login: str, actor: str = "cli") -> AgentView:
        """The agent can no longer log in; their console sessions end at once."""
        with self.db.session() as session:
            row = self._existing(session, login)
            row.active = False
            row.presence = Presence.AWAY
            session.execute(delete(AgentSession).where(AgentSession.agent_id == row.id))
            self._audit(session, actor, "agent_disabled", login=row.login)
            return agent_view(row)

    def set_password(
        self, login: str, password: str, actor: str = "cli", keep_session: Optional[str] = None
    ) -> AgentView:
        """A new password; the agent's console sessions end, but ``keep_session`` (the
        session token of the agent changing their own password, if that is how it was set)."""
        _check_password_rules(password)
        with self.db.session() as session:
            row = self._existing(session, login)
            row.password_hash = hash_password(password)
            ending = delete(AgentSession).where(AgentSession.agent_id == row.id)
            if keep_session:
                ending = ending.where(AgentSession.token_hash != digest(keep_session))
            ended = session.execute(ending).rowcount
            self._audit(session, actor, "agent_password_set", login=row.login, sessions_ended=ended)
            return agent_view(row)

    # -- presence -------------------------------------------------------------------

    def set_presence(self, agent_id: int, presence: Presence | str, actor: Optional[str] = None) -> AgentView:
        """在线 / 忙碌 / 离开; InvalidInput for anything else.  Setting it is a sign of life."""
        try:
            chosen = Presence(presence)
        except ValueError:
            *others, last = PRESENCE_LABELS.values()
            raise InvalidInput(f"状态只能是 {'、'.join(others)} 或 {last}。") from None
        with self.db.session() as session:
            row = session.get(Agent, agent_id)
            if row is None:
                raise NotFound(f"no agent {agent_id}")
            previous = Presence(row.presence)
            row.presence, row.presence_seen_at = chosen, self.now()
            if previous != chosen:
                self._audit(session, actor or f"agent:{row.login}", "agent_presence_set", presence=chosen.value)
            return agent_view(row)

    def heartbeat(self, agent_id: int) -> None:
        """The agent's console is open (a poll): keeps an online agent available."""
        now = self.now()
        with self.db.session() as session:
            session.execute(
                update(Agent)
                .where(
                    Agent.id == agent_id,
                    (Agent.presence_seen_at.is_(None)) | (Agent.presence_seen_at <= now - PRESENCE_REFRESH_STEP),
                )
                .values(presence_seen_at=now)
            )

    def last_logins(self) -> Dict[str, datetime]:
        """Lower-case login name → time of the latest successful login."""
        with self.db.session() as session:
            rows = session.execute(
                select(LoginAttempt.login, func.max(LoginAttempt.at))
                .where(LoginAttempt.outcome == OK)
                .group_by(LoginAttempt.login)
            )
            return {login: at for login, at in rows}

    def _existing(self, session: Session, login: str) -> Agent:
        row = _row_by_login(session, login)
        if row is None:
            raise NotFound(f"no agent with the login name {login}")
        return row

    # -- login --------------------------------------------------------------------

    def authenticate(self, login: str, password: str, client_ip: str) -> AgentView:
        """The agent, or LoginRefused (wrong password, too early after failures, disabled)."""
        key = (login or "").strip().lower()[:64]
        client_ip = (client_ip or "unknown")[:64]
        now = self.now()
        attempt_id = self._record_attempt(key, client_ip, now)
        wait = self._throttle_wait(key, client_ip, now, attempt_id)
        if wait is not None:
            self._refuse(attempt_id, THROTTLED, key, client_ip, wait_seconds=math.ceil(wait.total_seconds()))
            raise LoginRefused(throttle_message(wait))
        with self.db.session() as session:
            row = _row_by_login(session, key) if key else None
        # A check against a dummy hash for unknown names: the same time either way.
        password_ok = check_password(password or "", row.password_hash if row else self._dummy())
        if row is None or not password_ok:
            self._refuse(attempt_id, FAILED, key, client_ip, known=row is not None)
            raise LoginRefused("登录名或密码不正确。")
        if not row.active:
            self._refuse(attempt_id, DISABLED, key, client_ip)
            raise LoginRefused("这个客服账号已停用，请联系管理员。")
        with self.db.session() as session:
            self._set_outcome(session, attempt_id, OK)
            self._audit(session, f"agent:{row.login}", "agent_login", client_ip=client_ip)
        return agent_view(row)

    def _refuse(self, attempt_id: int, outcome: str, key: str, client_ip: str, **detail: object) -> None:
        """Records the refused attempt's outcome and ``agent_login_failed`` in the audit log
        (with the name as typed: the log is for administrators, never shown at the login)."""
        with self.db.session() as session:
            self._set_outcome(session, attempt_id, outcome)
            self._audit(
                session, f"agent:{key or '?'}", "agent_login_failed", reason=outcome, client_ip=client_ip, **detail
            )

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = hash_password(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _record_attempt(self, login: str, client_ip: str, now: datetime) -> int:
        with self.db.session() as session:
            attempt = LoginAttempt(login=login, client_ip=client_ip, outcome=PENDING, at=now)
            session.add(attempt)
            session.flush()
            return attempt.id

    def _finish_attempt(self, attempt_id: int, outcome: str) -> None:
        with self.db.session() as session:
            self._set_outcome(session, attempt_id, outcome)

    @staticmethod
    def _set_outcome(session: Session, attempt_id: int, outcome: str) -> None:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(outcome=outcome))

    def _throttle_wait(self, login: str, client_ip: str, now: datetime, attempt_id: int) -> Optional[timedelta]:
        """How long until another attempt is allowed; None: allowed now."""
        with self.db.session() as session:
            address_wait = self._wait(
                session, LoginAttempt.client_ip == client_ip, now, attempt_id, None, ADDRESS_MAX_DELAY
            )
            account_wait: Optional[timedelta] = None
            if not self._known_address(session, login, client_ip, now):
                last_login = session.execute(
                    select(func.max(LoginAttempt.at)).where(LoginAttempt.login == login, LoginAttempt.outcome == OK)
                ).scalar_one()
                account_wait = self._wait(
                    session, LoginAttempt.login == login, now, attempt_id, last_login, ACCOUNT_MAX_DELAY
                )
        waits = [wait for wait in (address_wait, account_wait) if wait is not None]
        return max(waits) if waits else None

    @staticmethod
    def _wait(
        session: Session,
        whose: ColumnElement,
        now: datetime,
        attempt_id: int,
        since: Optional[datetime],
        longest: timedelta,
    ) -> Optional[timedelta]:
        """The wait that the counted failures matching ``whose`` (after ``since``) impose now."""
        conditions = [
            whose,
            LoginAttempt.id != attempt_id,
            LoginAttempt.outcome.in_(_COUNTED_AS_FAILED),
            LoginAttempt.at > now - LOGIN_WINDOW,
        ]
        if since is not None:
            conditions.append(LoginAttempt.at >= since)
        failures, latest = session.execute(
            select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(*conditions)
        ).one()
        delay = failure_delay(failures, longest)
        if not delay or latest is None or latest + delay <= now:
            return None
        return latest + delay - now

    @staticmethod
    def _known_address(session: Session, login: str, client_ip: str, now: datetime) -> bool:
        """Whether the agent logged in from this address lately (then guessers elsewhere cannot delay them)."""
        return (
            session.execute(
                select(LoginAttempt.id)
                .where(
                    LoginAttempt.login == login,
                    LoginAttempt.client_ip == client_ip,
                    LoginAttempt.outcome == OK,
                    LoginAttempt.at > now - KNOWN_ADDRESS_AGE,
                )
                .limit(1)
            ).first()
            is not None
        )

    # -- console sessions --------------------------------------------------------

    def start_session(self, agent: AgentView) -> Tuple[str, str]:
        """A new session of a logged-in agent: (session token, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.now()
        with self.db.session() as session:
            row = session.get(Agent, agent.id)
            if row is None or not row.active:
                raise LoginRefused("这个客服账号已停用，请联系管理员。")
            session.execute(delete(AgentSession).where(AgentSession.expires_at <= now))
            session.add(
                AgentSession(
                    token_hash=digest(token),
                    csrf_token=csrf,
                    agent_id=agent.id,
                    created_at=now,
                    expires_at=now + SESSION_IDLE,
                )
            )
        return token, csrf

    def session_agent(self, token: Optional[str]) -> Optional[AgentView]:
        """The agent of a live session (and the session's expiry slides on); None otherwise."""
        now = self.now()
        with self.db.session() as session:
            found = self._live_session(session, token, now)
            if found is None:
                return None
            row, agent = found
            expires_at = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
            if expires_at - row.expires_at >= SESSION_REFRESH_STEP:
                row.expires_at = expires_at
            return agent_view(agent)

    def session_csrf(self, token: Optional[str]) -> Optional[str]:
        """The CSRF token of a live session, for the forms of the console's pages."""
        with self.db.session() as session:
            found = self._live_session(session, token, self.now())
            return found[0].csrf_token if found else None

    def csrf_valid(self, token: Optional[str], csrf: Optional[str]) -> bool:
        """Whether ``csrf`` is the CSRF token of the live session ``token``."""
        with self.db.session() as session:
            found = self._live_session(session, token, self.now())
        return found is not None and hmac.compare_digest(found[0].csrf_token.encode(), (csrf or "").encode())

    def end_session(self, token: Optional[str]) -> bool:
        """Logs out; False when there was no such session."""
        if not token:
            return False
        with self.db.session() as session:
            result = session.execute(delete(AgentSession).where(AgentSession.token_hash == digest(token)))
            return result.rowcount > 0

    def log_out(self, token: str, agent: AgentView, client_ip: str) -> None:
        """Ends the session ``token`` of ``agent`` and writes ``agent_logout`` to the audit log."""
        self.end_session(token)
        with self.db.session() as session:
            # Gone from the console: no more assignments (unless another session of hers is still open).
            still_open = session.execute(
                select(AgentSession.id).where(AgentSession.agent_id == agent.id, AgentSession.expires_at > self.now())
            ).first()
            if still_open is None:
                session.execute(update(Agent).where(Agent.id == agent.id).values(presence=Presence.AWAY))
            self._audit(session, agent.actor, "agent_logout", client_ip=client_ip)

    @staticmethod
    def _live_session(session: Session, token: Optional[str], now: datetime) -> Optional[Tuple[AgentSession, Agent]]:
        if not token:
            return None
        found = session.execute(
            select(AgentSession, Agent)
            .join(Agent, Agent.id == AgentSession.agent_id)
            .where(AgentSession.token_hash == digest(token))
        ).one_or_none()
        if found is None:
            return None
        row, agent = found
        if row.expires_at <= now or not agent.active:
            return None
        return row, agent

    # -- audit ------------------------------------------------------------------

    def _audit(self, session: Session, actor: str, action: str, **detail: object) -> None:
        record_audit(session, self.now(), actor, action, detail=detail)


def _row_by_login(session: Session, login: str) -> Optional[Agent]:
    return session.execute(
        select(Agent).where(func.lower(Agent.login) == (login or "").strip().lower())
    ).scalar_one_or_none()


def _valid_login(login: str) -> str:
    login = (login or "").strip()
    if not _LOGIN_PATTERN.fullmatch(login):
        raise InvalidInput("客服登录名由 2–64 位字母、数字、下划线、点或连字符组成。")
    return login


def _valid_display_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 100:
        raise InvalidInput("请填写客服的显示名称（1–100 个字），用户会看到它。")
    return name


def _check_password_rules(password: str) -> None:
    problems = checks.password_problems(password or "")
    if problems:
        raise InvalidInput("密码需要" + "，".join(problems) + "。")
