"""The same user's history on SQLite and PostgreSQL: a verified user's handoffs
from any conversation, an unverified one's from the same conversation; the
agent who holds a handoff reads them (list and transcripts, through it), an
admin always, nobody else; every read and refusal audited."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.handoff.models import HandoffReason
from bot.handoff.request_summary import user_key_of
from bot.handoff.service import HandoffHidden
from bot.store import AuditEntry


def finished(service, agent, sender, problem, user_key=None, rating=None):
    handoff = service.request(sender, "widget", HandoffReason.USER_REQUEST, {"problem": problem}, user_key=user_key)
    service.claim(handoff.id, agent.id)
    service.reply(handoff.id, agent.id, f"关于{problem}的回复")
    service.resolve(handoff.id, agent.id)
    if rating:
        service.rate(sender, rating)
    return handoff.id


@pytest.fixture
def earlier(service, clock, bob):
    """Bob's closed handoffs: two of account 7 (two widget sessions), one of the session s1
    before it was verified, one of someone else."""
    made = {
        "verified_elsewhere": finished(service, bob, "widget:old", "实名认证失败", "account:7", rating=4),
        "same_session": finished(service, bob, "widget:s1", "忘记密码"),
        "stranger": finished(service, bob, "widget:x", "页面乱码或空白", "account:8"),
    }
    clock.advance(minutes=5)
    return made


def audit(database, action):
    with database.session() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()
        return [(row.actor, json.loads(row.detail)) for row in rows]


def test_the_holder_sees_the_users_earlier_handoffs_with_outcome_and_rating(service, earlier, alice, database):
    current = service.request("widget:s1", "widget", HandoffReason.USER_REQUEST, {"problem": "实名认证失败"},
                              user_key="account:7")
    with pytest.raises(HandoffHidden):  # waiting: not hers yet
        service.history(current.id, alice.id, "10.0.0.1")
    service.claim(current.id, alice.id)
    history = service.history(current.id, alice.id, "10.0.0.1")
    assert [view.id for view in history] == [earlier["same_session"], earlier["verified_elsewhere"]]
    assert history[1].rating == 4 and history[1].outcome.value == "resolved" and history[1].agent_name == "王波"
    assert audit(database, "handoff_history_refused")[0][0] == "agent:alice"
    actor, detail = audit(database, "handoff_history_read")[0]
    assert actor == "agent:alice" and detail["shown"] == [view.id for view in history]
    assert detail["client_ip"] == "10.0.0.1"


def test_she_reads_a_linked_transcript_through_the_one_she_holds_and_nothing_else(service, earlier, alice, bob,
                                                                                  database):
    current = service.request("widget:s1", "widget", HandoffReason.USER_REQUEST, {}, user_key="account:7")
    service.claim(current.id, alice.id)
    old = earlier["verified_elsewhere"]
    with pytest.raises(HandoffHidden):  # closed: not without the link
        service.read_transcript(old, alice.id, "x")
    view, messages = service.read_transcript(old, alice.id, "x", via=current.id)
    assert view.id == old and "关于实名认证失败的回复" in [message.text for message in messages]
    assert service.read_access(old, alice.id, "x", "photo", via=current.id).id == old
    with pytest.raises(HandoffHidden):  # another user's: the link does not reach it
        service.read_transcript(earlier["stranger"], alice.id, "x", via=current.id)
    with pytest.raises(HandoffHidden):  # a link through a handoff she does not hold
        service.read_transcript(old, bob.id, "x", via=current.id)
    service.transfer(current.id, alice.id, bob.id)
    with pytest.raises(HandoffHidden):  # transferred away: the link went with it
        service.read_transcript(old, alice.id, "x", via=current.id)
    reads = audit(database, "handoff_transcript_read")
    assert reads[0][1]["via"] == current.id and reads[0][1]["handoff"] == old
    assert len(audit(database, "handoff_transcript_refused")) == 4
    assert [actor for actor, _ in audit(database, "handoff_photo_read")] == ["agent:alice"]


def test_an_admin_sees_any_users_history(service, earlier, admin):
    current = service.request("widget:s1", "widget", HandoffReason.USER_REQUEST, {})  # not verified this time
    assert [view.id for view in service.history(current.id, admin.id, "x")] == [earlier["same_session"]]
    assert service.links(current.id, earlier["same_session"])
    assert not service.links(current.id, earlier["verified_elsewhere"])


def test_whose_conversation_it_is():
    assert user_key_of({"verified_account": "7|2026-11-23T22:00:00|sig"}, "widget:s1") == "account:7"
    assert user_key_of({"verified_account": None}, "widget:s1") == "widget:s1"
    assert user_key_of({}, "telegram:42") == "telegram:42"
