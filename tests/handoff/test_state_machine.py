"""The handoff state machine on SQLite and PostgreSQL: every legal transition,
every illegal one refused, one open handoff per conversation, the queue and
its estimates, transcripts (masked), ratings, abandonment, the event log and
the audit log."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.accounts.checks import InvalidInput
from bot.accounts.service import NotFound
from bot.handoff.models import (
    AuthorKind,
    Handoff,
    HandoffOutcome,
    HandoffReason,
    HandoffState,
)
from bot.handoff.service import HandoffConflict, HandoffHidden, HandoffService
from tests.accounts.factories import rows
from tests.handoff.conftest import SUMMARY

ID_NUMBER = "110102198509030625"
PHONE = "13700137002"


def open_one(service: HandoffService, sender: str = "u1",
             reason: HandoffReason = HandoffReason.USER_REQUEST) -> int:
    return service.request(sender, "widget", reason, SUMMARY).id


def assigned(service: HandoffService, agent_id: int, sender: str = "u1") -> int:
    handoff_id = open_one(service, sender)
    service.claim(handoff_id, agent_id)
    return handoff_id


# -- opening -------------------------------------------------------------------------


def test_a_request_opens_a_waiting_handoff_with_its_summary(service, clock):
    handoff = service.request("u1", "widget", "misunderstood", SUMMARY)
    assert handoff.state == HandoffState.WAITING and handoff.is_open
    assert handoff.reason == HandoffReason.MISUNDERSTOOD
    assert (handoff.sender_id, handoff.channel, handoff.summary) == ("u1", "widget", SUMMARY)
    assert handoff.created_at == clock.now and handoff.agent_id is None
    assert service.open_handoff("u1") == handoff
    assert service.open_handoff("someone-else") is None


def test_asking_twice_does_not_queue_twice(service, clock):
    first = service.request("u1", "widget", "user_request", SUMMARY)
    clock.advance(minutes=1)
    second = service.request("u1", "widget", "negative_feedback", {"problem": "again"})
    assert second.id == first.id and second.reason == HandoffReason.USER_REQUEST
    assert len(service.queue()) == 1


def test_an_unknown_reason_is_refused(service):
    with pytest.raises(ValueError):
        service.request("u1", "widget", "bored", SUMMARY)
    assert service.open_handoff("u1") is None


def test_the_summary_is_masked_again_before_it_is_stored(service, database):
    summary = {"problem": f"身份证 {ID_NUMBER} 手机 {PHONE}", "found": [f"+86 {PHONE}"],
               "nested": {"doc": ID_NUMBER.lower()[:-1] + "x"}, "count": 2}
    handoff = service.request("u1", "widget", "user_request", summary)
    stored = rows(database, "handoffs", "summary")[0][0]
    assert ID_NUMBER not in stored and PHONE not in stored and ID_NUMBER[:-1] not in stored
    assert handoff.summary == {"problem": "身份证 1101**********0625 手机 137****7002",
                               "found": ["137****7002"], "nested": {"doc": "1101**********062X"},
                               "count": 2}


def test_a_summary_must_be_a_json_dict(service):
    with pytest.raises(TypeError):
        service.request("u1", "widget", "user_request", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        service.request("u1", "widget", "user_request", {"when": object()})


def test_the_database_allows_one_open_handoff_per_conversation(service, database, clock):
    open_one(service)
    row = dict(sender_id="u1", channel="widget", reason="user_request", summary="{}",
               created_at=clock.now, user_seen_at=clock.now)
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(Handoff(state=HandoffState.ASSIGNED, **row))
    # Closed ones do not count: any number of them next to the open one.
    with database.session() as session:
        session.add_all([Handoff(state=state, **row) for state in
                         (HandoffState.RESOLVED, HandoffState.CANCELLED, HandoffState.ABANDONED,
                          HandoffState.RESOLVED)])
    assert len(rows(database, "handoffs")) == 5


# -- claiming and talking ------------------------------------------------------------


def test_claim_assigns_the_agent(service, alice, clock):
    handoff_id = open_one(service)
    clock.advance(minutes=3)
    handoff = service.claim(handoff_id, alice.id)
    assert handoff.state == HandoffState.ASSIGNED
    assert (handoff.agent_id, handoff.agent_name, handoff.claimed_at) == (alice.id, "张丽", clock.now)
    assert service.assigned_to(alice.id) == [handoff]
    assert service.queue() == []


def test_assigned_to_nobody_in_particular_lists_every_agents_earliest_claimed_first(service, alice, bob, clock):
    bobs = assigned(service, bob.id, "u1")
    clock.advance(minutes=1)
    alices = assigned(service, alice.id, "u2")
    open_one(service, "u3")  # waiting: not assigned
    assert [handoff.id for handoff in service.assigned_to()] == [bobs, alices]
    assert [handoff.id for handoff in service.assigned_to(alice.id)] == [alices]
    service.resolve(bobs, bob.id)
    assert [handoff.id for handoff in service.assigned_to()] == [alices]


def test_claiming_a_claimed_handoff_is_refused(service, alice, bob):
    handoff_id = assigned(service, alice.id)
    with pytest.raises(HandoffConflict, match="已被其他客服接手"):
        service.claim(handoff_id, bob.id)
    with pytest.raises(HandoffConflict, match="您已经接手"):
        service.claim(handoff_id, alice.id)
    assert service.get(handoff_id).agent_id == alice.id


def test_a_disabled_agent_cannot_act(service, directory, alice, bob):
    handoff_id = open_one(service)
    directory.disable("bob")
    with pytest.raises(HandoffConflict, match="停用"):
        service.claim(handoff_id, bob.id)
    service.claim(handoff_id, alice.id)
    directory.disable("alice")
    with pytest.raises(HandoffConflict, match="停用"):
        service.reply(handoff_id, alice.id, "您好")


def test_unknown_ids_are_not_found(service, alice):
    with pytest.raises(NotFound):
        service.claim(999, alice.id)
    handoff_id = open_one(service)
    with pytest.raises(NotFound):
        service.claim(handoff_id, 999)
    with pytest.raises(NotFound):
        service.get(999)
    with pytest.raises(NotFound):
        service.transcript(999)


def test_only_the_assigned_agent_replies_and_the_first_reply_time_is_kept(service, alice, bob, admin, clock):
    handoff_id = open_one(service)
    with pytest.raises(HandoffConflict, match="排队"):
        service.reply(handoff_id, alice.id, "您好")
    service.claim(handoff_id, alice.id)
    with pytest.raises(HandoffConflict, match="其他客服"):
        service.reply(handoff_id, bob.id, "您好")
    with pytest.raises(HandoffConflict, match="其他客服"):
        service.reply(handoff_id, admin.id, "您好")
    clock.advance(minutes=2)
    first = service.reply(handoff_id, alice.id, "  您好，我是客服张丽。  ")
    assert (first.kind, first.agent_name, first.text) == (AuthorKind.AGENT, "张丽", "您好，我是客服张丽。")
    replied_at = clock.now
    clock.advance(minutes=1)
    service.reply(handoff_id, alice.id, "请稍等。")
    assert service.get(handoff_id).first_reply_at == replied_at


def test_empty_and_overlong_replies_are_refused(service, alice):
    handoff_id = assigned(service, alice.id)
    with pytest.raises(InvalidInput, match="不能为空"):
        service.reply(handoff_id, alice.id, "   ")
    with pytest.raises(InvalidInput, match="太长"):
        service.reply(handoff_id, alice.id, "长" * 4001)
    assert service.get(handoff_id).first_reply_at is None


def test_notes_are_private_and_written_by_those_who_may_see_the_conversation(service, alice, bob, admin):
    waiting_id = open_one(service, "u2")
    assert service.note(waiting_id, bob.id, "排队时就能备注").agent_name == "王波"  # waiting: any agent
    handoff_id = assigned(service, alice.id)
    note = service.note(handoff_id, alice.id, "用户上周也问过")
    assert (note.kind, note.agent_name) == (AuthorKind.NOTE, "张丽")
    assert service.get(handoff_id).first_reply_at is None  # a note is no reply
    with pytest.raises(HandoffHidden):  # (changed: any agent could) another agent's conversation
        service.note(handoff_id, bob.id, "我也看看")
    service.resolve(handoff_id, alice.id)
    with pytest.raises(HandoffHidden):  # (changed) closed: for admins
        service.note(handoff_id, alice.id, "已电话回访")
    service.note(handoff_id, admin.id, "已电话回访")  # admins: after the end too
    kinds = [line.kind for line in service.transcript(handoff_id)]
    assert kinds.count(AuthorKind.NOTE) == 2


# -- transfers -----------------------------------------------------------------------


def test_the_assigned_agent_transfers(service, alice, bob):
    handoff_id = assigned(service, alice.id)
    handoff = service.transfer(handoff_id, alice.id, bob.id)
    assert (handoff.state, handoff.agent_id, handoff.agent_name) == (HandoffState.ASSIGNED, bob.id, "王波")
    with pytest.raises(HandoffConflict, match="其他客服"):
        service.reply(handoff_id, alice.id, "还在吗")
    service.reply(handoff_id, bob.id, "我来继续处理")


def test_an_admin_transfers_another_agents_conversation(service, alice, bob, admin):
    handoff_id = assigned(service, alice.id)
    assert service.transfer(handoff_id, admin.id, bob.id).agent_id == bob.id


def test_transfers_that_are_not_allowed(service, directory, alice, bob, admin):
    waiting_id = open_one(service, "u-waiting")
    with pytest.raises(HandoffConflict, match="排队"):
        service.transfer(waiting_id, admin.id, bob.id)
    handoff_id = assigned(service, alice.id)
    with pytest.raises(HandoffConflict, match="只有接待的客服或管理员"):
        service.transfer(handoff_id, bob.id, bob.id)
    with pytest.raises(HandoffConflict, match="已经由 张丽 接待"):
        service.transfer(handoff_id, alice.id, alice.id)
    directory.disable("bob")
    with pytest.raises(InvalidInput, match="不存在或已停用"):
        service.transfer(handoff_id, alice.id, bob.id)
    with pytest.raises(InvalidInput, match="不存在或已停用"):
        service.transfer(handoff_id, alice.id, 999)
    service.resolve(handoff_id, alice.id)
    with pytest.raises(HandoffConflict, match="已经结束"):
        service.transfer(handoff_id, alice.id, admin.id)
    assert service.get(handoff_id).agent_id == alice.id


# -- closing -------------------------------------------------------------------------


@pytest.mark.parametrize("close, outcome", [("resolve", HandoffOutcome.RESOLVED),
                                            ("hand_back", HandoffOutcome.HANDED_BACK)])
def test_the_agent_closes_and_the_conversation_is_back_with_the_bot(service, alice, clock, close, outcome):
    handoff_id = assigned(service, alice.id)
    clock.advance(minutes=10)
    handoff = getattr(service, close)(handoff_id, alice.id)
    assert (handoff.state, handoff.outcome, handoff.closed_at) == (HandoffState.RESOLVED, outcome, clock.now)
    assert not handoff.is_open and service.open_handoff("u1") is None
    assert service.record_user_message("u1", "谢谢") is None
    second = service.request("u1", "widget", "user_request", SUMMARY)
    assert second.id != handoff_id and second.state == HandoffState.WAITING


@pytest.mark.parametrize("close", ["resolve", "hand_back"])
def test_closing_is_for_the_assigned_agent_or_an_admin(service, alice, bob, admin, close):
    waiting_id = open_one(service, "u-waiting")
    with pytest.raises(HandoffConflict, match="排队"):
        getattr(service, close)(waiting_id, alice.id)
    handoff_id = assigned(service, alice.id)
    with pytest.raises(HandoffConflict, match="只有接待的客服或管理员"):
        getattr(service, close)(handoff_id, bob.id)
    assert getattr(service, close)(handoff_id, admin.id).state == HandoffState.RESOLVED
    with pytest.raises(HandoffConflict, match="已经结束"):
        getattr(service, close)(handoff_id, alice.id)


def test_nothing_happens_to_a_closed_handoff(service, alice, bob):
    handoff_id = assigned(service, alice.id)
    service.resolve(handoff_id, alice.id)
    for attempt in (lambda: service.claim(handoff_id, bob.id),
                    lambda: service.reply(handoff_id, alice.id, "还有问题吗"),
                    lambda: service.resolve(handoff_id, alice.id),
                    lambda: service.hand_back(handoff_id, alice.id)):
        with pytest.raises(HandoffConflict, match="已经结束"):
            attempt()
    assert service.cancel("u1") is False
    handoff = service.get(handoff_id)
    assert (handoff.state, handoff.outcome) == (HandoffState.RESOLVED, HandoffOutcome.RESOLVED)


def test_the_user_cancels_while_waiting(service, alice, clock):
    handoff_id = open_one(service)
    assert service.cancel("u1") is True
    handoff = service.get(handoff_id)
    assert (handoff.state, handoff.closed_at, handoff.outcome) == (HandoffState.CANCELLED, clock.now, None)
    assert service.open_handoff("u1") is None
    assert service.cancel("u1") is False
    with pytest.raises(HandoffConflict, match="用户已取消"):
        service.claim(handoff_id, alice.id)


def test_cancelling_needs_a_waiting_handoff(service, alice):
    assert service.cancel("nobody") is False
    handoff_id = assigned(service, alice.id)
    assert service.cancel("u1") is False
    assert service.get(handoff_id).state == HandoffState.ASSIGNED


# -- abandonment ---------------------------------------------------------------------


def test_a_waiting_handoff_without_a_sign_of_the_user_is_abandoned(service, alice, clock):
    silent = open_one(service, "silent")
    talking = open_one(service, "talking")
    present = open_one(service, "present")
    taken = assigned(service, alice.id, "taken")
    clock.advance(minutes=20)
    assert service.record_user_message("talking", "还要等多久？") is not None
    assert service.mark_user_active("present") is True
    clock.advance(minutes=10)
    assert service.abandon_stale() == []  # exactly 30 minutes is not yet more than 30
    clock.advance(seconds=1)
    assert service.abandon_stale() == [silent]
    handoff = service.get(silent)
    assert (handoff.state, handoff.closed_at) == (HandoffState.ABANDONED, clock.now)
    assert {service.get(i).state for i in (talking, present)} == {HandoffState.WAITING}
    assert service.get(taken).state == HandoffState.ASSIGNED  # only waiting ones are abandoned
    clock.advance(minutes=25)
    assert sorted(service.abandon_stale()) == sorted([talking, present])
    with pytest.raises(HandoffConflict, match="用户已离开"):
        service.claim(silent, alice.id)


def test_abandon_stale_takes_the_time_it_is_given(service, clock):
    handoff_id = open_one(service)
    assert service.abandon_stale(clock.now + timedelta(minutes=29)) == []
    assert service.abandon_stale(clock.now + timedelta(minutes=31)) == [handoff_id]


def test_the_abandon_delay_is_a_setting(database, clock, monkeypatch):
    monkeypatch.setenv("HANDOFF_ABANDON_MINUTES", "5")
    service = HandoffService(database, clock=clock)
    handoff_id = open_one(service)
    clock.advance(minutes=6)
    assert service.abandon_stale() == [handoff_id]
    monkeypatch.setenv("HANDOFF_ABANDON_MINUTES", "0")
    with pytest.raises(ValueError, match="HANDOFF_ABANDON_MINUTES"):
        HandoffService(database, clock=clock)


# -- queue ---------------------------------------------------------------------------


def test_the_queue_is_oldest_first_with_positions_and_waiting_times(service, alice, clock):
    first = open_one(service, "a")
    clock.advance(seconds=30)
    second = open_one(service, "b")
    clock.advance(seconds=30)
    third = open_one(service, "c")
    clock.advance(seconds=15)
    queue = service.queue()
    assert [(e.position, e.handoff.id, e.waiting_seconds) for e in queue] == [
        (1, first, 75), (2, second, 45), (3, third, 15)]
    assert [service.position(i) for i in (first, second, third)] == [1, 2, 3]
    service.claim(first, alice.id)
    assert service.position(first) is None
    assert [service.position(i) for i in (second, third)] == [1, 2]
    service.cancel("b")
    assert service.position(third) == 1


def test_handoffs_of_the_same_second_keep_their_order(service, clock):
    ids = [open_one(service, f"same-{n}") for n in range(4)]
    assert [service.position(i) for i in ids] == [1, 2, 3, 4]
    assert [entry.handoff.id for entry in service.queue()] == ids


def test_without_history_each_place_is_five_minutes(service):
    assert [service.estimated_wait_minutes(p) for p in (1, 2, 3)] == [5, 10, 15]


def test_the_estimate_follows_the_median_claim_time(service, alice, clock):
    for n, minutes in enumerate([2, 3, 4, 30]):  # median 3.5 minutes
        handoff_id = open_one(service, f"h{n}")
        clock.advance(minutes=minutes)
        service.claim(handoff_id, alice.id)
    assert service.estimated_wait_minutes(1) == 4  # 3.5 rounded up
    assert service.estimated_wait_minutes(2) == 7
    assert service.estimated_wait_minutes(4) == 15  # 14, above 10: to a multiple of 5
    clock.advance(days=15)  # history too old: back to the default
    assert service.estimated_wait_minutes(1) == 5


def test_two_claims_are_not_enough_history(service, alice, clock):
    for n in range(2):
        handoff_id = open_one(service, f"h{n}")
        clock.advance(seconds=30)
        service.claim(handoff_id, alice.id)
    assert service.estimated_wait_minutes(1) == 5
    handoff_id = open_one(service, "h2")
    clock.advance(seconds=30)
    service.claim(handoff_id, alice.id)
    assert service.estimated_wait_minutes(1) == 1


# -- messages and transcripts ---------------------------------------------------------


def test_user_messages_are_kept_only_while_a_handoff_is_open(service, clock):
    assert service.record_user_message("u1", "你好") is None
    assert service.mark_user_active("u1") is False
    handoff_id = open_one(service)
    clock.advance(minutes=1)
    message = service.record_user_message("u1", f"我的手机号是 {PHONE}")
    assert (message.kind, message.handoff_id) == (AuthorKind.USER, handoff_id)
    assert message.text == f"我的手机号是 {PHONE}"
    assert service.get(handoff_id).user_seen_at == clock.now
    assert service.message(message.id).text == f"我的手机号是 {PHONE}"  # unmasked, for delivery


def test_the_transcript_is_in_order_and_masks_identity_data(service, alice, clock):
    handoff_id = open_one(service)
    service.record_user_message("u1", f"身份证 {ID_NUMBER}，电话 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")
    service.record_bot_message("u1", "已为您转接人工客服，请稍候。")
    service.claim(handoff_id, alice.id)
    clock.advance(seconds=5)
    service.reply(handoff_id, alice.id, f"您登记的是 {PHONE} 吗？")
    service.note(handoff_id, alice.id, f"证件 {ID_NUMBER} 在审核中")
    service.resolve(handoff_id, alice.id)
    lines = service.transcript(handoff_id)
    assert [(line.kind, line.agent_name) for line in lines] == [
        (AuthorKind.SYSTEM, None), (AuthorKind.USER, None), (AuthorKind.SYSTEM, None),
        (AuthorKind.SYSTEM, None), (AuthorKind.AGENT, "张丽"), (AuthorKind.NOTE, "张丽"),
        (AuthorKind.SYSTEM, None)]
    assert [line.id for line in lines] == sorted(line.id for line in lines)
    text = "\n".join(line.text for line in lines)
    assert ID_NUMBER not in text and PHONE not in text and f"{PHONE[3:7]}-{PHONE[7:]}" not in text
    assert "身份证 1101**********0625，电话 137****7002" in text
    assert "您登记的是 137****7002 吗？" in text
    assert "张丽 已接入" in text and "已为您转接人工客服" in text
    assert lines[4].at == clock.now
    after = service.transcript(handoff_id, after_message_id=lines[4].id)
    assert [line.kind for line in after] == [AuthorKind.NOTE, AuthorKind.SYSTEM]


def test_order_numbers_are_not_mistaken_for_identity_data(service):
    handoff_id = open_one(service)
    service.record_user_message("u1", "业务编号 20261123000012345678901，座机 010-58881234")
    line = service.transcript(handoff_id)[-1]
    assert line.text == "业务编号 20261123000012345678901，座机 010-58881234"


# -- least privilege -------------------------------------------------------------------


def readers(service, handoff_id, *agents):
    """Which of the agents may read the transcript (``read_transcript``)."""
    allowed = []
    for agent in agents:
        try:
            handoff, messages = service.read_transcript(handoff_id, agent.id, "203.0.113.5")
        except HandoffHidden:
            continue
        assert handoff.id == handoff_id and messages
        allowed.append(agent.login)
    return allowed


def test_an_agent_sees_the_waiting_and_their_own_admins_everything(service, alice, bob, admin):
    handoff_id = open_one(service)
    assert readers(service, handoff_id, alice, bob, admin) == ["alice", "bob", "chief"]
    service.claim(handoff_id, alice.id)
    assert readers(service, handoff_id, alice, bob, admin) == ["alice", "chief"]
    service.transfer(handoff_id, alice.id, bob.id)  # an explicit transfer makes it bob's
    assert readers(service, handoff_id, alice, bob, admin) == ["bob", "chief"]
    service.resolve(handoff_id, bob.id)
    assert readers(service, handoff_id, alice, bob, admin) == ["chief"]
    with pytest.raises(NotFound):
        service.read_transcript(999, admin.id, "203.0.113.5")


def test_every_transcript_read_and_refusal_is_audited(service, database, alice, bob):
    handoff_id = assigned(service, alice.id)
    service.read_transcript(handoff_id, alice.id, "203.0.113.5", after_message_id=3)
    with pytest.raises(HandoffHidden):
        service.read_transcript(handoff_id, bob.id, "198.51.100.7")
    entries = [(actor, action, json.loads(detail)) for actor, action, detail
               in rows(database, "audit_log", "actor, action, detail") if "transcript" in action]
    assert entries == [
        ("agent:alice", "handoff_transcript_read",
         {"handoff": handoff_id, "after_message": 3, "client_ip": "203.0.113.5"}),
        ("agent:bob", "handoff_transcript_refused",
         {"handoff": handoff_id, "after_message": 0, "client_ip": "198.51.100.7"}),
    ]


def test_a_plain_agent_cannot_act_on_another_agents_or_a_closed_conversation(service, alice, bob, admin):
    theirs = assigned(service, alice.id)
    closed = assigned(service, alice.id, "u2")
    service.hand_back(closed, alice.id)
    for handoff_id in (theirs, closed):
        for act in (lambda: service.claim(handoff_id, bob.id),
                    lambda: service.reply(handoff_id, bob.id, "您好"),
                    lambda: service.note(handoff_id, bob.id, "备注"),
                    lambda: service.transfer(handoff_id, bob.id, admin.id),
                    lambda: service.resolve(handoff_id, bob.id),
                    lambda: service.hand_back(handoff_id, bob.id)):
            with pytest.raises(HandoffHidden):
                act()
    # an admin is refused a closed one only because it is closed, not hidden from them
    with pytest.raises(HandoffConflict) as refusal:
        service.resolve(closed, admin.id)
    assert not isinstance(refusal.value, HandoffHidden)
    assert service.get(theirs).agent_id == alice.id


# -- ratings -------------------------------------------------------------------------


def test_the_user_rates_the_latest_resolved_handoff_once(service, alice, clock):
    handoff_id = assigned(service, alice.id)
    service.resolve(handoff_id, alice.id)
    clock.advance(minutes=1)
    assert service.rate("u1", 4).rating == 4
    with pytest.raises(InvalidInput, match="已经评价过") as refused:
        service.rate("u1", 5)
    # An English conversation hears it in English (the bridge renders the refusal in its language).
    assert refused.value.text("en") == "You have already rated this service, thank you!"
    assert service.get(handoff_id).rating == 4
    with service.db.session() as session:
        assert session.execute(sa.select(Handoff.rated_at)).scalar_one() == clock.now


@pytest.mark.parametrize("rating", [0, 6, -1, 3.5, True, "五", "4分", None, "10"])
def test_only_whole_numbers_from_1_to_5_are_ratings(service, alice, rating):
    handoff_id = assigned(service, alice.id)
    service.hand_back(handoff_id, alice.id)
    with pytest.raises(InvalidInput, match="1 到 5"):
        service.rate("u1", rating)
    assert service.get(handoff_id).rating is None
    assert service.rate("u1", " 5 ").rating == 5  # what the user typed


def test_only_handoffs_an_agent_closed_are_rated(service, alice):
    with pytest.raises(InvalidInput, match="没有可以评价"):
        service.rate("u1", 5)
    open_one(service)
    with pytest.raises(InvalidInput, match="没有可以评价"):  # still open
        service.rate("u1", 5)
    service.cancel("u1")
    with pytest.raises(InvalidInput, match="没有可以评价"):  # cancelled: nobody to rate
        service.rate("u1", 5)


def test_the_rating_goes_to_the_latest_handoff(service, alice, clock):
    first = assigned(service, alice.id)
    service.resolve(first, alice.id)
    clock.advance(hours=1)
    second = assigned(service, alice.id)
    clock.advance(minutes=5)
    service.resolve(second, alice.id)
    service.rate("u1", 2)
    assert (service.get(first).rating, service.get(second).rating) == (None, 2)
    with pytest.raises(InvalidInput, match="已经评价过"):  # not a fallback to the older one
        service.rate("u1", 3)


# -- events and audit ----------------------------------------------------------------


def test_every_change_is_an_event_in_order(service, alice, bob, clock):
    assert service.latest_event_id() == 0 and service.events_after(0) == []
    handoff_id = open_one(service)
    service.record_user_message("u1", "在吗")
    service.claim(handoff_id, alice.id)
    reply = service.reply(handoff_id, alice.id, "在的")
    note = service.note(handoff_id, alice.id, "备注")
    service.transfer(handoff_id, alice.id, bob.id)
    service.resolve(handoff_id, bob.id)
    service.rate("u1", 5)
    events = service.events_after(0)
    assert [(e.kind, e.agent_id) for e in events] == [
        ("created", None), ("message", None), ("claimed", alice.id), ("message", alice.id),
        ("note", alice.id), ("transferred", alice.id), ("closed", bob.id), ("rated", None)]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert {(e.handoff_id, e.sender_id) for e in events} == {(handoff_id, "u1")}
    assert events[0].data == {"reason": "user_request", "channel": "widget", "team_id": None, "team": None}
    assert events[1].data["author"] == "user"
    assert events[3].data == {"message_id": reply.id, "author": "agent"}
    assert events[4].data == {"message_id": note.id}
    assert events[5].data == {"from_agent_id": alice.id, "to_agent_id": bob.id}
    assert events[6].data == {"state": "resolved", "outcome": "resolved"}
    assert events[7].data == {"rating": 5}
    assert service.latest_event_id() == events[-1].id
    assert service.events_after(events[2].id, limit=2) == events[3:5]
    assert service.events_after(events[-1].id) == []


def test_cancel_and_abandon_are_closed_events(service, clock):
    open_one(service, "a")
    abandoned = open_one(service, "b")
    service.cancel("a")
    clock.advance(minutes=31)
    service.abandon_stale()
    closed = [e for e in service.events_after(0) if e.kind == "closed"]
    assert [e.data["state"] for e in closed] == ["cancelled", "abandoned"]
    assert closed[1].handoff_id == abandoned and closed[1].data["outcome"] is None


def test_a_refused_change_leaves_no_trace(service, alice, bob, database):
    handoff_id = assigned(service, alice.id)
    before = (service.latest_event_id(), len(rows(database, "audit_log")), len(service.transcript(handoff_id)))
    for attempt in (lambda: service.claim(handoff_id, bob.id), lambda: service.reply(handoff_id, bob.id, "x"),
                    lambda: service.resolve(handoff_id, bob.id)):
        with pytest.raises(HandoffConflict):
            attempt()
    after = (service.latest_event_id(), len(rows(database, "audit_log")), len(service.transcript(handoff_id)))
    assert after == before


def test_agent_actions_are_in_the_audit_log(service, alice, bob, database):
    handoff_id = assigned(service, alice.id)
    service.reply(handoff_id, alice.id, f"请核对 {PHONE}")
    service.note(handoff_id, alice.id, "备注")
    service.transfer(handoff_id, alice.id, bob.id)
    service.hand_back(handoff_id, bob.id)
    entries = rows(database, "audit_log", "actor, action, detail")
    handoff_entries = [(actor, action) for actor, action, _ in entries if action.startswith("handoff_")]
    assert handoff_entries == [
        ("user:u1", "handoff_requested"), ("agent:alice", "handoff_claimed"),
        ("agent:alice", "handoff_replied"), ("agent:alice", "handoff_noted"),
        ("agent:alice", "handoff_transferred"), ("agent:bob", "handoff_handed_back")]
    details = [json.loads(detail) for _, action, detail in entries if action.startswith("handoff_")]
    assert all(detail["handoff"] == handoff_id for detail in details)
    assert details[4]["from_agent"] == "alice" and details[4]["to_agent"] == "bob"
    assert PHONE not in " ".join(detail for _, _, detail in entries if detail)


def test_the_stored_states_are_plain_strings(service, alice, database):
    handoff_id = assigned(service, alice.id)
    service.hand_back(handoff_id, alice.id)
    with database.session() as session:
        state, outcome = session.execute(sa.text("SELECT state, outcome FROM handoffs")).one()
    assert (state, outcome) == ("resolved", "handed_back")
