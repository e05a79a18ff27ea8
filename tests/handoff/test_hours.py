"""Service hours: the format, inside/outside, weekends, the next opening and
its Chinese phrase, time zones (times in and out are naive UTC)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.hours import ServiceHours

DEFAULT = ServiceHours.parse("mon-fri 08:30-17:30", "Asia/Shanghai")
WITH_BREAK = ServiceHours.parse("mon-fri 08:30-12:00,13:30-17:30; sat 09:00-12:00", "Asia/Shanghai")


def utc(local: str, zone: str = "Asia/Shanghai") -> datetime:
    """A wall-clock time of ``zone`` ('2026-11-23 08:30') as naive UTC."""
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def test_the_zone_is_known_here():
    # zoneinfo reads the system's tz data (no tzdata package is installed).
    assert utc("2026-11-23 08:30") == datetime(2026, 11, 23, 0, 30)


@pytest.mark.parametrize("local, inside", [
    ("2026-11-23 08:29", False), ("2026-11-23 08:30", True), ("2026-11-23 12:00", True),
    ("2026-11-23 17:29", True), ("2026-11-23 17:30", False), ("2026-11-23 23:00", False),
    ("2026-11-27 17:00", True),  # Friday
    ("2026-11-28 10:00", False), ("2026-11-29 10:00", False),  # the weekend
])
def test_inside_and_outside_the_default_hours(local, inside):
    assert DEFAULT.in_service(utc(local)) is inside


def test_the_projects_clock_is_utc():
    # START of the tests (Monday 22:00) is Tuesday 06:00 in Beijing: before opening.
    monday_night_utc = datetime(2026, 11, 23, 22, 0)
    assert not DEFAULT.in_service(monday_night_utc)
    assert DEFAULT.next_opening(monday_night_utc) == utc("2026-11-24 08:30") == datetime(2026, 11, 24, 0, 30)


def test_next_opening_across_the_weekend():
    friday_evening = utc("2026-11-27 18:00")
    assert DEFAULT.next_opening(friday_evening) == utc("2026-11-30 08:30")
    assert DEFAULT.next_opening_phrase(friday_evening) == "下一个工作时间是 11月30日（周一）08:30"
    assert DEFAULT.next_opening_phrase(utc("2026-11-29 23:59")) == "下一个工作时间是 11月30日（周一）08:30"


def test_next_opening_later_the_same_day_and_after_a_break():
    assert DEFAULT.next_opening(utc("2026-11-24 07:00")) == utc("2026-11-24 08:30")
    assert WITH_BREAK.next_opening(utc("2026-11-24 12:30")) == utc("2026-11-24 13:30")
    assert not WITH_BREAK.in_service(utc("2026-11-24 12:30"))
    assert WITH_BREAK.next_opening_phrase(utc("2026-11-27 18:00")) == "下一个工作时间是 11月28日（周六）09:00"
    assert WITH_BREAK.next_opening(utc("2026-11-28 12:00")) == utc("2026-11-30 08:30")


def test_next_opening_is_now_when_in_service():
    now = utc("2026-11-24 10:15")
    assert DEFAULT.next_opening(now) == now


def test_another_time_zone_with_summer_time():
    berlin = ServiceHours.parse("mon-fri 08:30-17:30", "Europe/Berlin")
    assert berlin.in_service(datetime(2026, 11, 23, 7, 30))  # 08:30 CET (UTC+1)
    assert not berlin.in_service(datetime(2026, 11, 23, 7, 29))
    assert berlin.in_service(datetime(2026, 7, 6, 6, 30))  # 08:30 CEST (UTC+2)
    assert not berlin.in_service(datetime(2026, 7, 6, 15, 30))  # 17:30 CEST
    assert berlin.next_opening(datetime(2026, 11, 23, 22, 0)) == datetime(2026, 11, 24, 7, 30)
    assert DEFAULT.in_service(datetime(2026, 11, 23, 7, 30))  # 15:30 in Beijing
    assert berlin.zone_label() == "Europe/Berlin"


def test_aware_times_are_accepted():
    aware = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert DEFAULT.in_service(aware)
    assert DEFAULT.next_opening(aware) == datetime(2026, 11, 23, 2, 0)


def test_always_and_the_end_of_the_day():
    always = ServiceHours.parse("always")
    assert all(always.in_service(utc(f"2026-11-{day} {hour}")) for day in (28, 29) for hour in ("00:00", "23:59"))
    assert always.describe() == "全天 24 小时"
    evening = ServiceHours.parse("sun 20:00-24:00", "Asia/Shanghai")
    assert evening.in_service(utc("2026-11-29 23:59")) and not evening.in_service(utc("2026-11-30 00:00"))


def test_day_lists_and_wrapping_ranges():
    hours = ServiceHours.parse("mon,wed 09:00-10:00; fri-sun 11:00-12:00", "Asia/Shanghai")
    assert sorted(hours.periods) == [0, 2, 4, 5, 6]
    assert sorted(ServiceHours.parse("sat-mon 09:00-10:00", "Asia/Shanghai").periods) == [0, 5, 6]
    assert hours.in_service(utc("2026-11-25 09:30")) and not hours.in_service(utc("2026-11-24 09:30"))


def test_the_hours_in_words():
    assert DEFAULT.describe() == "周一至周五 08:30-17:30（北京时间）"
    assert WITH_BREAK.describe() == "周一至周五 08:30-12:00、13:30-17:30，周六 09:00-12:00（北京时间）"


@pytest.mark.parametrize("spec, problem", [
    ("", "empty"), ("mon-fri", "days and times"), ("funday 09:00-10:00", "not a day"),
    ("mon 9-17", "not a period"), ("mon 18:00-09:00", "ends before it starts"),
    ("mon 25:00-26:00", "impossible time"), ("mon 09:00-10:00 extra", "days and times"),
])
def test_a_bad_format_is_refused_with_the_reason(spec, problem):
    with pytest.raises(ValueError, match=problem):
        ServiceHours.parse(spec, "Asia/Shanghai")


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="SUPPORT_TIMEZONE"):
        ServiceHours.parse("mon-fri 08:30-17:30", "Mars/Olympus")


def test_the_settings_are_read(monkeypatch):
    assert ServiceHours.from_settings().describe() == DEFAULT.describe()
    monkeypatch.setenv("SUPPORT_HOURS", "sat 09:00-12:00")
    monkeypatch.setenv("SUPPORT_TIMEZONE", "UTC")
    hours = ServiceHours.from_settings()
    assert hours.in_service(datetime(2026, 11, 28, 9, 0)) and not hours.in_service(datetime(2026, 11, 27, 9, 0))
    assert hours.describe() == "周六 09:00-12:00（UTC）"


# -- in English (issue 15) ---------------------------------------------------------------------


def test_the_hours_and_the_next_opening_in_english_from_the_same_periods():
    assert WITH_BREAK.describe("en") == "Mon to Fri 08:30-12:00, 13:30-17:30; Sat 09:00-12:00 (Beijing time)"
    assert ServiceHours.parse("sat-sun 09:00-12:00", "UTC").describe("en") == "Sat, Sun 09:00-12:00 (UTC)"
    assert ServiceHours.parse("always").describe("en") == "round the clock, 24 hours a day"
    friday_evening = utc("2026-11-27 18:00")
    assert DEFAULT.next_opening_phrase(friday_evening, "en") == "the next service period starts Mon 30 Nov, 08:30"
    assert DEFAULT.next_opening_phrase(friday_evening, "zh") == DEFAULT.next_opening_phrase(friday_evening)
    assert DEFAULT.describe("zh") == DEFAULT.describe() == "周一至周五 08:30-17:30（北京时间）"
