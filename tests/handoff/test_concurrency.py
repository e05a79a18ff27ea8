"""Races between processes on one database, on SQLite and PostgreSQL: each
thread has its own ``Database`` (engine, connections) on the same URL, like
several Rasa processes or console workers, and the threads meet at a barrier
before every round so that the two calls really collide."""
from __future__ import annotations

import random
import threading
import time
from typing import Callable, List, Optional, Tuple

import sqlalchemy as sa

from bot.handoff.models import AuthorKind, HandoffState, Presence
from bot.handoff.service import ALREADY_CLAIMED, HandoffConflict, HandoffService
from bot.handoff.teams import TeamDirectory
from bot.store import Database
from tests.accounts.factories import rows
from tests.handoff.conftest import PASSWORD, SUMMARY

ROUNDS = 20
Outcome = Tuple[str, object]  # ("ok", result) | ("conflict", message) | ("error", repr)
Step = Callable[[HandoffService, int], object]


def race(database: Database, clock, rounds: int, first: Step, second: Step) -> List[Tuple[Outcome, Outcome]]:
    """Per round: ``first(service, round)`` and ``second(service, round)`` at the same moment."""
    barrier = threading.Barrier(2)
    outcomes: List[List[Optional[Outcome]]] = [[None, None] for _ in range(rounds)]

    def run(side: int, step: Step) -> None:
        own = Database(database.url)
        service = HandoffService(own, clock=clock)
        try:
            for round_number in range(rounds):
                barrier.wait(timeout=60)
                try:
                    outcomes[round_number][side] = ("ok", step(service, round_number))
                except HandoffConflict as conflict:
                    outcomes[round_number][side] = ("conflict", str(conflict))
                except Exception as error:  # noqa: BLE001 - reported by the test
                    outcomes[round_number][side] = ("error", repr(error))
        finally:
            own.dispose()

    threads = [threading.Thread(target=run, args=(side, step)) for side, step in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return [(a, b) for a, b in outcomes]  # type: ignore[misc]


def test_two_agents_claiming_at_once_exactly_one_wins(database, service, clock, alice, bob):
    ids = [service.request(f"race-{n}", "widget", "user_request", SUMMARY).id for n in range(ROUNDS)]
    results = race(database, clock, ROUNDS,
                   lambda s, n: s.claim(ids[n], alice.id).agent_id,
                   lambda s, n: s.claim(ids[n], bob.id).agent_id)
    for handoff_id, (for_alice, for_bob) in zip(ids, results):
        assert sorted([for_alice[0], for_bob[0]]) == ["conflict", "ok"], (for_alice, for_bob)
        winner, loser = (for_alice, for_bob) if for_alice[0] == "ok" else (for_bob, for_alice)
        assert loser[1] == ALREADY_CLAIMED
        handoff = service.get(handoff_id)
        assert handoff.state == HandoffState.ASSIGNED and handoff.agent_id == winner[1]
    claimed_events = [event for event in service.events_after(0, limit=1000) if event.kind == "claimed"]
    assert sorted(event.handoff_id for event in claimed_events) == ids  # one each, from the winner


def test_asking_at_once_from_two_processes_opens_one_handoff(database, service, clock):
    results = race(database, clock, ROUNDS,
                   lambda s, n: s.request(f"twice-{n}", "widget", "user_request", SUMMARY).id,
                   lambda s, n: s.request(f"twice-{n}", "telegram", "misunderstood", SUMMARY).id)
    for first, second in results:
        assert first[0] == second[0] == "ok", (first, second)
        assert first[1] == second[1]
    assert len(rows(database, "handoffs")) == ROUNDS
    assert len([event for event in service.events_after(0, limit=1000) if event.kind == "created"]) == ROUNDS


def test_a_cancel_and_a_claim_at_once_never_both_succeed(database, service, clock, alice):
    ids = [service.request(f"undecided-{n}", "widget", "user_request", SUMMARY).id for n in range(ROUNDS)]
    results = race(database, clock, ROUNDS,
                   lambda s, n: s.cancel(f"undecided-{n}"),
                   lambda s, n: s.claim(ids[n], alice.id).state)
    for handoff_id, (cancel, claim) in zip(ids, results):
        assert cancel[0] == "ok" and claim[0] in ("ok", "conflict"), (cancel, claim)
        cancelled, claimed = cancel[1] is True, claim[0] == "ok"
        assert cancelled != claimed, (cancel, claim)
        expected = HandoffState.CANCELLED if cancelled else HandoffState.ASSIGNED
        assert service.get(handoff_id).state == expected


def test_no_reply_lands_after_the_conversation_was_closed(database, service, clock, alice, admin):
    ids = []
    for n in range(ROUNDS):
        ids.append(service.request(f"closing-{n}", "widget", "user_request", SUMMARY).id)
        service.claim(ids[-1], alice.id)
    results = race(database, clock, ROUNDS,
                   lambda s, n: s.reply(ids[n], alice.id, "还在吗？").id,
                   lambda s, n: s.resolve(ids[n], admin.id).state)
    for handoff_id, (reply, resolve) in zip(ids, results):
        assert resolve == ("ok", HandoffState.RESOLVED) and reply[0] in ("ok", "conflict"), (reply, resolve)
        lines = service.transcript(handoff_id)
        assert lines[-1].kind == AuthorKind.SYSTEM and "结束" in lines[-1].text  # the close is last
        replies = [line for line in lines if line.kind == AuthorKind.AGENT]
        assert len(replies) == (1 if reply[0] == "ok" else 0)


def test_a_poller_sees_every_event_while_processes_write(database, service, clock, alice):
    """Event ids must become visible in order: remembering the last id seen
    must never skip an event that commits late."""
    writers, messages_each = 4, 25
    ids = []
    for n in range(writers):
        ids.append(service.request(f"busy-{n}", "widget", "user_request", SUMMARY).id)
        service.claim(ids[-1], alice.id)
    start_id = service.latest_event_id()
    done = threading.Event()
    seen: List[int] = []
    problems: List[str] = []

    def slow_commit(_connection) -> None:  # widens the gap between taking an id and committing
        time.sleep(random.uniform(0, 0.004))

    def write(handoff_id: int) -> None:
        own = Database(database.url)
        sa.event.listen(own.engine, "commit", slow_commit)
        writer = HandoffService(own, clock=clock)
        try:
            for n in range(messages_each):
                writer.reply(handoff_id, alice.id, f"消息 {n}")
        except Exception as error:  # noqa: BLE001
            problems.append(repr(error))
        finally:
            own.dispose()

    def poll() -> None:
        own = Database(database.url)
        poller = HandoffService(own, clock=clock)
        last = start_id
        try:
            while True:
                finished = done.is_set()
                for event in poller.events_after(last, limit=7):
                    seen.append(event.id)
                    last = event.id
                if finished and poller.latest_event_id() == last:
                    return
        finally:
            own.dispose()

    poller_thread = threading.Thread(target=poll)
    writer_threads = [threading.Thread(target=write, args=(handoff_id,)) for handoff_id in ids]
    poller_thread.start()
    for thread in writer_threads:
        thread.start()
    for thread in writer_threads:
        thread.join(timeout=300)
    done.set()
    poller_thread.join(timeout=60)
    assert not problems
    written = [event.id for event in service.events_after(start_id, limit=10_000)]
    assert len(written) == writers * messages_each
    assert seen == written  # nothing skipped, nothing twice, in order


def test_two_processes_assigning_at_once_never_exceed_the_cap(database, service, clock, directory, monkeypatch):
    """Per round, a team with one online agent (cap 1) and two of its handoffs,
    auto-assigned by two processes at the same moment: one gets her, the other waits."""
    monkeypatch.setenv("HANDOFF_MAX_OPEN_PER_AGENT", "1")
    teams = TeamDirectory(database, clock=clock)
    pairs = []
    for n in range(ROUNDS):
        agent = directory.create(f"agent{n}", f"客服{n}", PASSWORD)
        directory.set_presence(agent.id, Presence.ONLINE)
        teams.create(f"团队{n}")
        teams.add_member(f"团队{n}", agent.login)
        teams.set_default(f"团队{n}")  # the next two handoffs go to this round's team
        pairs.append((agent.id, [service.request(f"cap-{n}-{side}", "widget", "user_request", SUMMARY).id
                                 for side in range(2)]))
    results = race(database, clock, ROUNDS,
                   lambda s, n: s.auto_assign(pairs[n][1][0]),
                   lambda s, n: s.auto_assign(pairs[n][1][1]))
    for (agent_id, _), (first, second) in zip(pairs, results):
        assert first[0] == second[0] == "ok", (first, second)
        assigned = [view for view in (first[1], second[1]) if view is not None]
        assert len(assigned) == 1 and assigned[0].agent_id == agent_id, (first, second)
        assert len(service.assigned_to(agent_id)) == 1


def test_an_assignment_and_a_claim_at_once_give_the_handoff_to_one(database, service, clock, directory, alice,
                                                                    bob):
    directory.set_presence(alice.id, Presence.ONLINE)
    ids = [service.request(f"both-{n}", "widget", "user_request", SUMMARY).id for n in range(ROUNDS)]
    results = race(database, clock, ROUNDS,
                   lambda s, n: s.auto_assign(ids[n]),
                   lambda s, n: s.claim(ids[n], bob.id).agent_id)
    for handoff_id, (assigned, claimed) in zip(ids, results):
        assert assigned[0] == "ok" and claimed[0] in ("ok", "conflict"), (assigned, claimed)
        auto_won = assigned[1] is not None
        assert auto_won != (claimed[0] == "ok"), (assigned, claimed)
        assert service.get(handoff_id).agent_id == (alice.id if auto_won else bob.id)
    taken = [event for event in service.events_after(0, limit=1000) if event.kind in ("assigned", "claimed")]
    assert sorted(event.handoff_id for event in taken) == ids  # one each
