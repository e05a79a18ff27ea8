"""Agents on SQLite and PostgreSQL: accounts, login (case, wrong password,
disabled agents, the throttle per login name and per address: growing delays,
never a lock; failed logins audited),
console sessions (hashed, sliding expiry, logout) and CSRF tokens."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.accounts.checks import InvalidInput
from bot.accounts.service import NotFound
from bot.handoff import agents as agents_module
from bot.handoff.agents import ADDRESS_MAX_DELAY, ACCOUNT_MAX_DELAY, FREE_FAILURES, LOGIN_WINDOW, LoginRefused
from bot.handoff.models import Agent, AgentRole
from bot.store.passwords import check_password
from tests.accounts.conftest import START
from tests.accounts.factories import rows
from tests.handoff.conftest import PASSWORD

WRONG = "Wrong-Passw0rd"
IP = "203.0.113.7"


def fail_login(directory, login: str = "alice", ip: str = IP, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(LoginRefused, match="登录名或密码不正确"):
            directory.authenticate(login, WRONG, ip)


# -- accounts --------------------------------------------------------------------------


def test_an_agent_is_created_with_a_hashed_password(directory, database, clock):
    agent = directory.create("Alice", "  张  丽 ", PASSWORD, AgentRole.ADMIN, actor="cli:root")
    assert (agent.login, agent.display_name, agent.role, agent.active, agent.created_at) == (
        "Alice", "张 丽", AgentRole.ADMIN, True, clock.now)
    assert agent.is_admin and agent.actor == "agent:Alice"
    [(stored_hash,)] = rows(database, "agents", "password_hash")
    assert PASSWORD not in stored_hash and check_password(PASSWORD, stored_hash)
    assert rows(database, "audit_log", "actor, action") == [("cli:root", "agent_created")]


def test_login_names_are_unique_ignoring_case(directory, database, clock, alice):
    with pytest.raises(InvalidInput, match="已存在"):
        directory.create("ALICE", "另一个", PASSWORD)
    with pytest.raises(IntegrityError):  # the database refuses it too
        with database.session() as session:
            session.add(Agent(login="aLiCe", display_name="x", password_hash="x", role=AgentRole.AGENT,
                              active=True, created_at=clock.now))
    assert directory.by_login("ALICE") == alice


@pytest.mark.parametrize("login", ["a", "张三", "has space", "x" * 65, ""])
def test_odd_login_names_are_refused(directory, login):
    with pytest.raises(InvalidInput, match="登录名"):
        directory.create(login, "名字", PASSWORD)


@pytest.mark.parametrize("password", ["Short1!", "alllowercase1", "NoDigitsHere", "x" * 65 + "A1!"])
def test_passwords_follow_the_platform_rules(directory, password):
    with pytest.raises(InvalidInput, match="密码需要"):
        directory.create("alice", "张丽", password)
    assert directory.list() == []


def test_a_display_name_is_needed(directory):
    with pytest.raises(InvalidInput, match="显示名称"):
        directory.create("alice", "   ", PASSWORD)


def test_the_list_is_in_login_order(directory):
    for login in ("carol", "Bob", "alice"):
        directory.create(login, login.title(), PASSWORD)
    assert [agent.login for agent in directory.list()] == ["alice", "Bob", "carol"]


def test_a_new_password_replaces_the_old(directory, alice):
    with pytest.raises(InvalidInput, match="密码需要"):
        directory.set_password("alice", "weak")
    directory.set_password("ALICE", "New-Passw0rd-2")
    fail_login(directory)
    with pytest.raises(LoginRefused):
        directory.authenticate("alice", PASSWORD, IP)
    assert directory.authenticate("alice", "New-Passw0rd-2", IP) == alice
    with pytest.raises(NotFound):
        directory.set_password("nobody", "New-Passw0rd-2")


# -- login ---------------------------------------------------------------------------


def test_login_ignores_the_case_of_the_login_name(directory, alice, database):
    assert directory.authenticate(" ALICE ", PASSWORD, IP) == alice
    assert ("agent:alice", "agent_login") in rows(database, "audit_log", "actor, action")
    assert directory.last_logins() == {"alice": START}


def test_a_wrong_password_or_unknown_name_is_refused_alike(directory, alice):
    fail_login(directory, "alice")
    fail_login(directory, "nobody")
    with pytest.raises(LoginRefused, match="登录名或密码不正确"):
        directory.authenticate("alice", "", IP)


def test_a_disabled_agent_cannot_log_in(directory, alice):
    directory.disable("alice")
    with pytest.raises(LoginRefused, match="已停用"):
        directory.authenticate("alice", PASSWORD, IP)
    fail_login(directory, "alice")  # a wrong password still says only that
    assert directory.by_login("alice").active is False
    with pytest.raises(NotFound):
        directory.disable("nobody")


def throttled(directory, login: str, ip: str, password: str = PASSWORD) -> int:
    """The seconds a refused attempt is told to wait (it must be refused for that)."""
    with pytest.raises(LoginRefused, match=r"登录尝试过于频繁，请 \d+ 秒后再试。") as refusal:
        directory.authenticate(login, password, ip)
    return int(re.search(r"请 (\d+) 秒", str(refusal.value)).group(1))


def test_five_failures_delay_the_login_name_a_second_then_the_right_password_works(directory, alice, clock):
    for n in range(FREE_FAILURES):
        fail_login(directory, "alice", ip=f"198.51.100.{n}")  # from 5 addresses: the name counts
    assert throttled(directory, "ALICE", "192.0.2.1") == 1
    clock.advance(seconds=1)
    assert directory.authenticate("alice", PASSWORD, "192.0.2.1") == alice


def test_four_failures_do_not_delay(directory, alice):
    fail_login(directory, times=FREE_FAILURES - 1)
    assert directory.authenticate("alice", PASSWORD, IP) == alice


def test_an_attempt_inside_the_wait_is_refused_without_checking_the_password(directory, alice, clock,
                                                                          monkeypatch):
    fail_login(directory, times=FREE_FAILURES)

    def no_check(password, stored):
        raise AssertionError("the password was checked inside the wait")

    monkeypatch.setattr(agents_module, "check_password", no_check)
    for _ in range(20):  # a burst buys nothing and does not prolong the wait
        throttled(directory, "alice", IP, WRONG)
    monkeypatch.undo()
    clock.advance(seconds=1)
    assert directory.authenticate("alice", PASSWORD, IP) == alice


def test_a_guesser_cannot_keep_a_named_agent_out_for_more_than_a_minute(directory, alice, clock):
    # A guesser with a new address for every guess, guessing the moment each wait ends:
    waits = []
    for n in range(30):
        fail_login(directory, "alice", ip=f"198.51.{n // 250}.{n % 250}")
        if n + 1 >= FREE_FAILURES:
            waits.append(throttled(directory, "alice", "192.0.2.1"))
            clock.advance(seconds=waits[-1])
    assert waits[:8] == [1, 2, 4, 8, 16, 32, 60, 60] and set(waits[8:]) == {60}
    assert ACCOUNT_MAX_DELAY == timedelta(minutes=1)
    # ... however long it goes on, the agent waits a minute at most, then the password works
    fail_login(directory, "alice", ip="198.51.9.9")
    assert throttled(directory, "alice", "192.0.2.1") == 60
    clock.advance(seconds=60)
    assert directory.authenticate("alice", PASSWORD, "192.0.2.1") == alice


def test_an_address_the_agent_logged_in_from_is_not_delayed_by_guesses_elsewhere(directory, alice, clock):
    assert directory.authenticate("alice", PASSWORD, IP) == alice  # her usual address
    for n in range(12):
        clock.advance(seconds=60)
        fail_login(directory, "alice", ip=f"198.51.100.{n}")
    assert throttled(directory, "alice", "192.0.2.1") > 0  # a new address waits for the name's failures
    assert directory.authenticate("alice", PASSWORD, IP) == alice  # hers does not, at once
    clock.advance(days=31)  # the address is hers for 30 days after a login
    for n in range(FREE_FAILURES):
        fail_login(directory, "alice", ip=f"198.51.101.{n}")
    assert throttled(directory, "alice", IP) == 1


def test_an_address_is_delayed_up_to_15_minutes_and_a_success_does_not_reset_it(directory, alice, bob,
                                                                              clock):
    waits = []
    for n in range(16):
        fail_login(directory, f"x{n}", ip=IP)  # another name every time: the address counts
        if n + 1 >= FREE_FAILURES:
            waits.append(throttled(directory, "bob", IP))
            clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert ADDRESS_MAX_DELAY == timedelta(minutes=15)
    assert directory.authenticate("bob", PASSWORD, IP) == bob
    fail_login(directory, "x", ip=IP)
    assert throttled(directory, "alice", IP) == 900  # bob's success did not reset the address
    assert directory.authenticate("alice", PASSWORD, "203.0.113.8") == alice  # another address


def test_a_success_restarts_the_login_names_count(directory, alice, clock):
    fail_login(directory, "alice", ip="198.51.100.1", times=FREE_FAILURES - 1)
    assert directory.authenticate("alice", PASSWORD, "198.51.100.2") == alice
    clock.advance(days=31)  # no longer a known address
    fail_login(directory, "alice", ip="198.51.100.3", times=FREE_FAILURES - 1)
    assert directory.authenticate("alice", PASSWORD, "198.51.100.4") == alice


def test_failures_stop_counting_after_the_window(directory, alice, clock):
    fail_login(directory, times=FREE_FAILURES)
    for _ in range(6):
        throttled(directory, "alice", IP, WRONG)
    clock.advance(seconds=LOGIN_WINDOW.total_seconds() + 1)
    fail_login(directory, times=FREE_FAILURES - 1)
    assert directory.authenticate("alice", PASSWORD, IP) == alice


def test_every_attempt_is_recorded_and_every_refusal_audited(directory, alice, database, clock):
    fail_login(directory, times=FREE_FAILURES)
    fail_login(directory, "nobody", ip="203.0.113.9")
    with pytest.raises(LoginRefused):
        directory.authenticate("alice", PASSWORD, IP)
    directory.disable("alice")
    clock.advance(seconds=1)
    with pytest.raises(LoginRefused, match="已停用"):
        directory.authenticate("alice", PASSWORD, "203.0.113.10")
    outcomes = [outcome for (outcome,) in rows(database, "login_attempts", "outcome")]
    assert outcomes == ["failed"] * 6 + ["throttled", "disabled"]
    failed = [(actor, json.loads(detail)) for actor, action, detail
              in rows(database, "audit_log", "actor, action, detail") if action == "agent_login_failed"]
    assert failed[0] == ("agent:alice", {"reason": "failed", "client_ip": IP, "known": True})
    assert failed[5] == ("agent:nobody", {"reason": "failed", "client_ip": "203.0.113.9", "known": False})
    assert failed[6] == ("agent:alice", {"reason": "throttled", "client_ip": IP, "wait_seconds": 1})
    assert failed[7] == ("agent:alice", {"reason": "disabled", "client_ip": "203.0.113.10"})
    assert len(failed) == 8


# -- sessions ------------------------------------------------------------------------


def test_a_session_is_stored_only_as_a_hash(directory, alice, database):
    token, csrf = directory.start_session(alice)
    assert len(token) >= 40 and len(csrf) >= 40 and token != csrf
    stored = " ".join(str(value) for row in rows(database, "agent_sessions") for value in row)
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert directory.session_agent(token) == alice
    assert directory.session_csrf(token) == csrf


def test_sessions_are_distinct(directory, alice, bob):
    first, second = directory.start_session(alice), directory.start_session(bob)
    assert len({first[0], first[1], second[0], second[1]}) == 4
    assert directory.session_agent(first[0]) == alice and directory.session_agent(second[0]) == bob


def test_an_unknown_or_missing_token_has_no_agent(directory, alice):
    directory.start_session(alice)
    assert directory.session_agent("forged-token") is None
    assert directory.session_agent("") is None and directory.session_agent(None) is None


def test_using_a_session_keeps_it_beyond_8_hours(directory, alice, clock):
    used, _ = directory.start_session(alice)
    unused, _ = directory.start_session(alice)
    clock.advance(hours=3)
    assert directory.session_agent(used) == alice
    clock.advance(hours=5, minutes=30)
    assert directory.session_agent(used) == alice
    assert directory.session_agent(unused) is None


def test_a_session_expires_8_hours_after_its_last_use(directory, alice, clock):
    token, csrf = directory.start_session(alice)
    clock.advance(hours=2)
    assert directory.session_agent(token) == alice  # the use: now until 10 h after login
    clock.advance(hours=7, minutes=59)
    assert directory.csrf_valid(token, csrf)  # CSRF checks and lookups do not slide the expiry
    assert directory.session_csrf(token) == csrf
    clock.advance(minutes=1)
    assert directory.session_agent(token) is None and directory.session_csrf(token) is None


def test_an_unused_session_expires_after_8_hours(directory, alice, clock):
    token, csrf = directory.start_session(alice)
    clock.advance(hours=8)
    assert directory.session_agent(token) is None
    assert directory.csrf_valid(token, csrf) is False


def test_a_session_ends_12_hours_after_login_however_busy(directory, alice, clock):
    token, _ = directory.start_session(alice)
    for _ in range(11):
        clock.advance(hours=1)
        assert directory.session_agent(token) == alice
    clock.advance(minutes=59)
    assert directory.session_agent(token) == alice
    clock.advance(minutes=1)
    assert directory.session_agent(token) is None


def test_logout_ends_the_session(directory, alice):
    token, csrf = directory.start_session(alice)
    other, _ = directory.start_session(alice)
    assert directory.end_session(token) is True
    assert directory.session_agent(token) is None and directory.csrf_valid(token, csrf) is False
    assert directory.end_session(token) is False and directory.end_session(None) is False
    assert directory.session_agent(other) == alice  # other sessions stay


def test_disabling_an_agent_ends_their_sessions(directory, alice, database):
    token, _ = directory.start_session(alice)
    directory.disable("alice")
    assert directory.session_agent(token) is None
    assert rows(database, "agent_sessions") == []
    with pytest.raises(LoginRefused, match="已停用"):
        directory.start_session(alice)


def test_the_csrf_token_belongs_to_its_session(directory, alice, bob):
    token, csrf = directory.start_session(alice)
    other_token, other_csrf = directory.start_session(bob)
    assert directory.csrf_valid(token, csrf) is True
    assert directory.csrf_valid(token, other_csrf) is False
    assert directory.csrf_valid(other_token, csrf) is False
    assert directory.csrf_valid(token, csrf[:-1]) is False
    assert directory.csrf_valid(token, "") is False and directory.csrf_valid(token, None) is False
    assert directory.csrf_valid("forged", csrf) is False
    assert directory.csrf_valid(token, "令牌") is False  # non-ASCII input is just wrong
