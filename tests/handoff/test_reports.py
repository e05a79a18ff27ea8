"""Per-day reports on a constructed history, on SQLite and PostgreSQL: days in
Beijing time, conversations from Rasa's tracker ``events`` table (or 0 without
it), handoffs by reason, reply and resolution times, ratings, abandonment."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.handoff.models import HandoffReason
from bot.handoff.reports import handoff_report, percentile

REPORT_TIME = "2026-11-24 20:00"


def utc(local: str) -> datetime:
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def add_tracker_events(database, events) -> None:
    """Rasa's SQLTrackerStore table, as far as the report reads it."""
    metadata = sa.MetaData()
    table = sa.Table("events", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("sender_id", sa.String(255), nullable=False),
                     sa.Column("type_name", sa.String(255), nullable=False),
                     sa.Column("timestamp", sa.Float), sa.Column("data", sa.Text))
    metadata.create_all(database.engine)
    epoch = datetime(1970, 1, 1)
    with database.engine.begin() as connection:
        connection.execute(table.insert(), [
            {"sender_id": sender, "type_name": kind, "timestamp": (utc(local) - epoch).total_seconds(),
             "data": "{}"} for sender, kind, local in events])


@pytest.fixture
def history(service, clock, alice):
    """Five handoffs over two Beijing days (see the expectations below)."""
    def at(local: str) -> None:
        clock.now = utc(local)

    at("2026-11-23 09:00")
    h1 = service.request("s1", "widget", HandoffReason.USER_REQUEST, {}).id
    clock.advance(minutes=2)
    service.claim(h1, alice.id)
    clock.advance(minutes=1)
    service.reply(h1, alice.id, "您好")  # first reply after 180 s
    clock.advance(minutes=17)
    service.resolve(h1, alice.id)  # resolved after 1200 s
    service.rate("s1", 5)

    at("2026-11-23 10:00")
    h2 = service.request("s2", "widget", HandoffReason.MISUNDERSTOOD, {}).id
    service.claim(h2, alice.id)
    clock.advance(minutes=1)
    service.reply(h2, alice.id, "您好")  # 60 s
    clock.advance(minutes=9)
    service.hand_back(h2, alice.id)  # 600 s
    service.rate("s2", 3)

    at("2026-11-23 11:00")
    service.request("s3", "widget", HandoffReason.FLOW_DEAD_END, {})
    clock.advance(minutes=31)
    service.abandon_stale()

    at("2026-11-24 01:00")  # still 23 November in UTC
    h4 = service.request("s5", "telegram", HandoffReason.NEGATIVE_FEEDBACK, {}).id
    service.claim(h4, alice.id)
    clock.advance(minutes=10)
    service.reply(h4, alice.id, "您好")  # 600 s, never closed

    at("2026-11-24 09:00")
    service.request("s4", "widget", HandoffReason.USER_REQUEST, {})
    service.cancel("s4")
    at(REPORT_TIME)


def test_a_report_over_three_days(database, history):
    add_tracker_events(database, [
        ("s0", "user", "2026-11-21 12:00"),  # before the period
        ("s1", "user", "2026-11-23 08:59"), ("s1", "user", "2026-11-23 09:10"),
        ("s2", "user", "2026-11-23 09:59"), ("s3", "user", "2026-11-23 10:59"),
        ("s9", "action", "2026-11-23 12:00"),  # no user message: not a conversation
        ("s5", "user", "2026-11-24 00:59"),  # 23 November in UTC, 24th in Beijing
        ("s1", "user", "2026-11-24 08:00"), ("s4", "user", "2026-11-24 08:59"),
        ("s6", "user", "2026-11-25 00:00"),  # after the report's last day
    ])
    report = handoff_report(database, days=3, now=utc(REPORT_TIME), timezone_name="Asia/Shanghai")
    assert report.timezone == "Asia/Shanghai"
    assert [stats.day for stats in report.days] == [date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)]
    empty, monday, tuesday = report.days

    assert (empty.conversations, empty.handoffs, empty.handoff_rate, empty.rating_count) == (0, 0, None, 0)
    assert set(empty.by_reason.values()) == {0} and len(empty.by_reason) == len(HandoffReason)
    assert empty.first_reply_median_seconds is None and empty.resolution_median_seconds is None

    assert (monday.conversations, monday.handoffs, monday.handoff_rate) == (3, 3, 1.0)
    assert monday.by_reason == {HandoffReason.USER_REQUEST: 1, HandoffReason.MISUNDERSTOOD: 1,
                                HandoffReason.FLOW_DEAD_END: 1, HandoffReason.NEGATIVE_FEEDBACK: 0}
    assert (monday.first_reply_median_seconds, monday.first_reply_p90_seconds) == (120, 180)
    assert monday.resolution_median_seconds == 900
    assert (monday.rating_average, monday.rating_count, monday.abandoned) == (4.0, 2, 1)

    assert (tuesday.conversations, tuesday.handoffs, tuesday.handoff_rate) == (3, 2, pytest.approx(2 / 3))
    assert tuesday.by_reason[HandoffReason.NEGATIVE_FEEDBACK] == 1
    assert tuesday.by_reason[HandoffReason.USER_REQUEST] == 1
    assert (tuesday.first_reply_median_seconds, tuesday.first_reply_p90_seconds) == (600, 600)
    assert tuesday.resolution_median_seconds is None  # one cancelled, one still open
    assert (tuesday.rating_average, tuesday.rating_count, tuesday.abandoned) == (None, 0, 0)

    total = report.total
    assert total.day is None
    assert (total.conversations, total.handoffs) == (5, 5)  # s1 counted once
    assert (total.first_reply_median_seconds, total.first_reply_p90_seconds) == (180, 600)
    assert (total.resolution_median_seconds, total.rating_average, total.abandoned) == (900, 4.0, 1)


def test_without_the_tracker_table_there_are_no_conversations(database, history):
    report = handoff_report(database, days=2, now=utc(REPORT_TIME), timezone_name="Asia/Shanghai")
    assert [stats.conversations for stats in report.days] == [0, 0]
    assert [stats.handoffs for stats in report.days] == [3, 2]
    assert report.days[0].handoff_rate is None


def test_days_follow_the_time_zone(database, history):
    report = handoff_report(database, days=2, now=utc(REPORT_TIME), timezone_name="UTC")
    # In UTC the handoff of 01:00 Beijing time belongs to the 23rd.
    assert [(stats.day, stats.handoffs) for stats in report.days] == [
        (date(2026, 11, 23), 4), (date(2026, 11, 24), 1)]


def test_the_period_ends_today(database, history):
    one_day = handoff_report(database, days=1, now=utc(REPORT_TIME), timezone_name="Asia/Shanghai")
    assert [stats.day for stats in one_day.days] == [date(2026, 11, 24)]
    later = handoff_report(database, days=1, now=utc(REPORT_TIME) + timedelta(days=1),
                           timezone_name="Asia/Shanghai")
    assert later.total.handoffs == 0
    with pytest.raises(ValueError):
        handoff_report(database, days=0)


def test_nearest_rank_percentiles():
    assert percentile([], 90) is None
    assert percentile([7], 90) == 7
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(20, 0, -1)), 90) == 18
    assert percentile([1, 2], 50) == 1


def test_per_agent_figures(database, history, bob):
    from bot.handoff.reports import agent_report

    alice, nobody = agent_report(database, days=3, now=utc(REPORT_TIME), timezone_name="Asia/Shanghai")
    assert (alice.login, alice.name, alice.handoffs, alice.resolved, alice.handed_back) == ("alice", "张丽", 3, 1, 1)
    assert alice.first_reply_median_seconds == 60  # from her claim: 60, 60 and 600 seconds
    assert alice.handling_median_seconds == 840  # claim to close: 1080 and 600 seconds; the open one not yet
    assert (alice.rating_average, alice.rating_count) == (4.0, 2)
    assert (nobody.login, nobody.handoffs, nobody.first_reply_median_seconds, nobody.rating_count) == ("bob", 0, None, 0)
    # only handoffs requested in the period count
    today = agent_report(database, days=1, now=utc(REPORT_TIME), timezone_name="Asia/Shanghai")
    assert [stats.handoffs for stats in today] == [1, 0]
    with pytest.raises(ValueError):
        agent_report(database, days=0)


def test_per_team_figures(database, service, clock, alice):
    from bot.handoff.reports import NO_TEAM, team_report
    from bot.handoff.teams import TeamDirectory

    teams = TeamDirectory(database, clock=clock)
    teams.create("法人账号")
    teams.create("自然人账号")
    teams.route("unit_already_registered", "法人账号")
    routed = service.request("t1", "widget", HandoffReason.USER_REQUEST, {}, "unit_already_registered").id
    service.claim(routed, alice.id)
    clock.advance(minutes=1)
    service.reply(routed, alice.id, "您好")  # first reply 60 s after the claim
    clock.advance(minutes=4)
    service.resolve(routed, alice.id)  # handled in 300 s
    service.rate("t1", 4)
    service.request("t2", "widget", HandoffReason.USER_REQUEST, {}, "forgot_password")  # routed nowhere
    found = {stats.name: stats for stats in team_report(database, days=1, now=service.now())}
    legal, natural, unrouted = found["法人账号"], found["自然人账号"], found[NO_TEAM]
    assert (legal.handoffs, legal.resolved, legal.handed_back) == (1, 1, 0)
    assert (legal.first_reply_median_seconds, legal.handling_median_seconds) == (60, 300)
    assert (legal.rating_average, legal.rating_count) == (4.0, 1)
    assert (natural.handoffs, natural.first_reply_median_seconds, natural.rating_count) == (0, None, 0)
    assert (unrouted.team_id, unrouted.handoffs, unrouted.resolved) == (None, 1, 0)
    assert len(found) == 3
