"""Teams of support agents and the routing of handoffs to them.

* A team has a unique name (e.g. 自然人账号, 法人账号, 业务系统权限), members
  (agents; an agent may belong to several teams) and routes: the topics whose
  handoffs go to it.  A topic is what the assistant understood last before the
  handoff: a core intent (``realname_failed``) or an FAQ answer
  (``faq/captcha_wrong``), the keys of ``bot.topics``; a topic is routed to at
  most one team.  At most one team is the default: it gets the handoffs whose
  topic has no route (the partial unique index ``uq_teams_default`` holds that
  in the database).  Without any team, or without a route and a default, a
  handoff belongs to no team and any online agent may be assigned it.
* :func:`routed_topic` is what a handoff is routed by (the running flow's
  problem, else the last topic the assistant understood);
  :func:`team_for_topic` is the routing rule, read in the transaction that
  queues the handoff (``HandoffService.request``).
* Every change is written to the audit log with its actor (``cli:<user>`` or
  ``agent:<login>``).  The admin manages teams with ``python -m bot teams ...``
  (bot/cli/teams.py) and on the console's 团队管理 page (admins only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.accounts.checks import InvalidInput
from bot.accounts.flows import FLOW_OF_INTENT
from bot.handoff.models import Agent, Handoff, Presence, Team, TeamMember, TeamRoute
from bot.store import Database, NotFound, record_audit, utcnow
from bot.topics import TOPICS

MAX_TEAM_NAME = 64


@dataclass(frozen=True)
class Member:
    id: int
    login: str
    display_name: str
    presence: Presence
    active: bool


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    is_default: bool
    members: Tuple[Member, ...]
    topics: Tuple[str, ...]  # routed here, sorted


def routed_topic(flow: Optional[str], understood: Sequence[str]) -> Optional[str]:
    """The topic a handoff is routed by: the running flow's problem (its intent), else
    the latest of ``understood`` (intents or ``faq/<key>``, oldest first) that is a
    topic; None when there is none (the default team)."""
    if flow:
        for intent, its_flow in FLOW_OF_INTENT.items():
            if its_flow == flow:
                return intent
    routable = routable_topics()
    for key in reversed(understood):
        if key in routable:
            return key
    return None


def team_for_topic(session: Session, topic: Optional[str]) -> Optional[int]:
    """The routing rule: the team of the topic's route, else the default team, else None."""
    if topic:
        routed = session.execute(select(TeamRoute.team_id).where(TeamRoute.topic == topic)).scalar_one_or_none()
        if routed is not None:
            return int(routed)
    default = session.execute(select(Team.id).where(Team.is_default.is_(True))).scalar_one_or_none()
    return int(default) if default is not None else None


class TeamDirectory:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = database
        self.now = clock

    # -- reading -------------------------------------------------------------------

    def list(self) -> List[TeamView]:
        """Every team by name, with its members and routed topics."""
        with self.db.session() as session:
            teams = session.execute(select(Team).order_by(Team.name)).scalars().all()
            members: Dict[int, List[Member]] = {}
            for team_id, agent in session.execute(
                select(TeamMember.team_id, Agent).join(Agent, Agent.id == TeamMember.agent_id).order_by(Agent.login)
            ).all():
                members.setdefault(team_id, []).append(
                    Member(agent.id, agent.login, agent.display_name, Presence(agent.presence), bool(agent.active))
                )
            topics: Dict[int, List[str]] = {}
            for topic, team_id in session.execute(select(TeamRoute.topic, TeamRoute.team_id).order_by(TeamRoute.topic)):
                topics.setdefault(team_id, []).append(topic)
            return [
                TeamView(
                    team.id,
                    team.name,
                    bool(team.is_default),
                    tuple(members.get(team.id, ())),
                    tuple(topics.get(team.id, ())),
                )
                for team in teams
            ]

    def get(self, name: str) -> TeamView:
        """The team called ``name``; NotFound otherwise."""
        for team in self.list():
            if team.name == name.strip():
                return team
        raise NotFound(f"没有名为 {name.strip()} 的团队。")

    def teams_of(self, agent_id: int) -> List[str]:
        """The names of the agent's teams."""
        with self.db.session() as session:
            return list(
                session.execute(
                    select(Team.name)
                    .join(TeamMember, TeamMember.team_id == Team.id)
                    .where(TeamMember.agent_id == agent_id)
                    .order_by(Team.name)
                ).scalars()
            )

    def names(self) -> Dict[int, str]:
        """Team id → name (for showing a handoff's team)."""
        with self.db.session() as session:
            return {team_id: name for team_id, name in session.execute(select(Team.id, Team.name))}

    # -- changes -------------------------------------------------------------------

    def create(self, name: str, actor: str = "cli", default: bool = False) -> TeamView:
        name = _valid_name(name)
        try:
            with self.db.session() as session:
                if session.execute(select(Team.id).where(Team.name == name)).first() is not None:
                    raise InvalidInput(f"团队 {name} 已存在。")
                if default:
                    session.execute(update(Team).values(is_default=False))
                session.add(Team(name=name, is_default=default, created_at=self.now()))
                session.flush()
                self._audit(session, actor, "team_created", team=name, default=default)
        except IntegrityError:  # created at the same moment elsewhere
            raise InvalidInput(f"团队 {name} 已存在。") from None
        return self.get(name)

    def rename(self, name: str, new_name: str, actor: str = "cli") -> TeamView:
        new_name = _valid_name(new_name)
        try:
            with self.db.session() as session:
                team = self._team(session, name)
                if new_name != team.name and session.execute(select(Team.id).where(Team.name == new_name)).first():
                    raise InvalidInput(f"团队 {new_name} 已存在。")
                old, team.name = team.name, new_name
                self._audit(session, actor, "team_renamed", team=old, new_name=new_name)
        except IntegrityError:
            raise InvalidInput(f"团队 {new_name} 已存在。") from None
        return self.get(new_name)

    def delete(self, name: str, actor: str = "cli") -> None:
        """Deletes the team, its memberships and routes; its handoffs keep no team."""
        with self.db.session() as session:
            team = self._team(session, name)
            # Explicit deletes: SQLite enforces ON DELETE only with foreign keys on, and the order matters.
            session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
            session.execute(delete(TeamRoute).where(TeamRoute.team_id == team.id))
            self._clear_handoffs(session, team.id)
            session.delete(team)
            self._audit(session, actor, "team_deleted", team=team.name)

    def set_default(self, name: Optional[str], actor: str = "cli") -> None:
        """Makes ``name`` the default team (None: no default team)."""
        with self.db.session() as session:
            team = self._team(session, name) if name else None
            session.execute(update(Team).values(is_default=False))
            session.flush()
            if team is not None:
                team.is_default = True
            self._audit(session, actor, "team_default_set", team=team.name if team else None)

    def add_member(self, name: str, login: str, actor: str = "cli") -> TeamView:
        with self.db.session() as session:
            team = self._team(session, name)
            agent = _agent(session, login)
            known = session.get(TeamMember, (team.id, agent.id))
            if known is None:
                session.add(TeamMember(team_id=team.id, agent_id=agent.id))
                self._audit(session, actor, "team_member_added", team=team.name, login=agent.login)
        return self.get(name)

    def remove_member(self, name: str, login: str, actor: str = "cli") -> TeamView:
        with self.db.session() as session:
            team = self._team(session, name)
            agent = _agent(session, login)
            removed = session.execute(
                delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.agent_id == agent.id)
            ).rowcount
            if not removed:
                raise InvalidInput(f"{agent.login} 不是团队 {team.name} 的成员。")
            self._audit(session, actor, "team_member_removed", team=team.name, login=agent.login)
        return self.get(name)

    def route(self, topic: str, name: str, actor: str = "cli") -> TeamView:
        """Handoffs about ``topic`` go to the team from now on (a topic has one team)."""
        topic = valid_topic(topic)
        with self.db.session() as session:
            team = self._team(session, name)
            session.execute(delete(TeamRoute).where(TeamRoute.topic == topic))
            session.add(TeamRoute(topic=topic, team_id=team.id))
            self._audit(session, actor, "team_route_set", topic=topic, team=team.name)
        return self.get(name)

    def unroute(self, topic: str, actor: str = "cli") -> None:
        """The topic's handoffs go to the default team again."""
        topic = (topic or "").strip()
        with self.db.session() as session:
            if not session.execute(delete(TeamRoute).where(TeamRoute.topic == topic)).rowcount:
                raise InvalidInput(f"话题 {topic} 没有指定团队。")
            self._audit(session, actor, "team_route_removed", topic=topic)

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _team(session: Session, name: Optional[str]) -> Team:
        team = session.execute(select(Team).where(Team.name == (name or "").strip())).scalar_one_or_none()
        if team is None:
            raise NotFound(f"没有名为 {(name or '').strip()} 的团队。")
        return team

    @staticmethod
    def _clear_handoffs(session: Session, team_id: int) -> None:
        session.execute(
            update(Handoff).where(Handoff.team_id == team_id).values(team_id=None),
            execution_options={"synchronize_session": False},
        )

    def _audit(self, session: Session, actor: str, action: str, **detail: object) -> None:
        record_audit(session, self.now(), actor[:160], action, detail=detail)


def routable_topics() -> Dict[str, str]:
    """What handoffs can be routed by → its question: the topics of ``bot.topics``
    (``request_human`` is no problem) and the intents that start a flow."""
    found = {key: topic.question for key, topic in TOPICS.items() if key != "request_human"}
    for intent in FLOW_OF_INTENT:
        found.setdefault(intent, intent)
    return found


def valid_topic(topic: str) -> str:
    """A key of :func:`routable_topics`, else InvalidInput."""
    topic = (topic or "").strip()
    if topic not in routable_topics():
        raise InvalidInput(f"没有话题 {topic}：请用核心问题的意图名（如 realname_failed）或 faq/<名称>。")
    return topic


def _valid_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= MAX_TEAM_NAME:
        raise InvalidInput(f"团队名称需要 1–{MAX_TEAM_NAME} 个字。")
    return name


def _agent(session: Session, login: str) -> Agent:
    agent = session.execute(
        select(Agent).where(func.lower(Agent.login) == (login or "").strip().lower())
    ).scalar_one_or_none()
    if agent is None:
        raise NotFound(f"没有登录名为 {(login or '').strip()} 的客服。")
    return agent
