"""Service hours of the human agents (``SUPPORT_HOURS`` in ``SUPPORT_TIMEZONE``).

The format, parts separated by ``;``::

    mon-fri 08:30-17:30
    mon-fri 08:30-12:00,13:30-17:30; sat 09:00-12:00
    mon,wed,fri 09:00-18:00; sat-sun 10:00-14:00
    always

A part is days (``mon`` .. ``sun``; ranges ``mon-fri``, wrapping ``fri-mon``
too; lists with commas) and one or more ``HH:MM-HH:MM`` periods (start
inclusive, end exclusive; ``24:00`` ends the day; a period does not cross
midnight: write two).  ``always``: round the clock.  Public holidays are not
modelled.

The phrases for users (``describe``, ``next_opening_phrase``) are in the
conversation's language (``language``: one of ``bot.language.LANGUAGES``,
Chinese when not given), from the ``handoff.*`` catalogue keys.

Times passed in and returned are naive UTC, like the clocks of the services
(``AccountService`` uses ``datetime.utcnow()``); aware datetimes are
accepted too.  Wall-clock times only ever exist inside this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, FrozenSet, List, Optional, Set, Tuple
from zoneinfo import ZoneInfo

from bot import config
from bot.language import language_of, tr
from bot.timezones import local_time, support_zone

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The catalogue keys of the weekdays' and months' names (Monday first; January first).
WEEKDAY_KEYS = (
    "handoff.day_mon", "handoff.day_tue", "handoff.day_wed", "handoff.day_thu",
    "handoff.day_fri", "handoff.day_sat", "handoff.day_sun",
)  # fmt: skip
MONTH_KEYS = (
    "handoff.month_1", "handoff.month_2", "handoff.month_3", "handoff.month_4",
    "handoff.month_5", "handoff.month_6", "handoff.month_7", "handoff.month_8",
    "handoff.month_9", "handoff.month_10", "handoff.month_11", "handoff.month_12",
)  # fmt: skip
# How a language lists days' periods: between groups of days, between the periods of a day,
# the zone after them, and between two days (punctuation only; the words are the catalogue's).
LIST_PUNCTUATION: Dict[str, Tuple[str, str, str, str]] = {
    "zh": ("，", "、", "{periods}（{zone}）", "、"),
    "en": ("; ", ", ", "{periods} ({zone})", ", "),
}
_PERIOD = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
END_OF_DAY = time.max  # stands for 24:00


@dataclass(frozen=True)
class Period:
    start: time
    end: time  # exclusive; END_OF_DAY for 24:00

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end or (self.end == END_OF_DAY and moment >= self.start)

    def label(self) -> str:
        end = "24:00" if self.end == END_OF_DAY else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


class ServiceHours:
    def __init__(self, periods: Dict[int, Tuple[Period, ...]], zone: ZoneInfo, always: bool = False) -> None:
        self.periods = periods  # weekday (0 = Monday) → its periods, in order
        self.zone = zone
        self.always = always

    @classmethod
    def parse(cls, spec: str, timezone_name: Optional[str] = None) -> "ServiceHours":
        """``timezone_name`` defaults to SUPPORT_TIMEZONE; ValueError names what is wrong."""
        zone = support_zone(timezone_name)
        if spec.strip().lower() == "always":
            return cls({day: (Period(time(0, 0), END_OF_DAY),) for day in range(7)}, zone, always=True)
        periods: Dict[int, List[Period]] = {}
        parts = [part.strip() for part in spec.split(";") if part.strip()]
        if not parts:
            raise ValueError("SUPPORT_HOURS is empty; write e.g. 'mon-fri 08:30-17:30' or 'always'")
        for part in parts:
            days, day_periods = _parse_part(part)
            for day in days:
                periods.setdefault(day, []).extend(day_periods)
        return cls({day: tuple(sorted(items, key=lambda p: p.start)) for day, items in periods.items()}, zone)

    @classmethod
    def from_settings(cls) -> "ServiceHours":
        return cls.parse(config.get("SUPPORT_HOURS"), config.get("SUPPORT_TIMEZONE"))

    # -- questions ------------------------------------------------------------

    def in_service(self, now_utc: datetime) -> bool:
        local = self.local(now_utc)
        return any(period.contains(local.time()) for period in self.periods.get(local.weekday(), ()))

    def next_opening(self, now_utc: datetime) -> datetime:
        """``now_utc`` itself when in service, else the next start of a period (naive UTC)."""
        if self.in_service(now_utc):
            return _naive_utc(now_utc)
        local_now = self.local(now_utc)
        for offset in range(8):
            day = local_now.date() + timedelta(days=offset)
            for period in self.periods.get(day.weekday(), ()):
                opening = datetime.combine(day, period.start, tzinfo=self.zone)
                if opening > local_now:
                    return opening.astimezone(timezone.utc).replace(tzinfo=None)
        raise ValueError("SUPPORT_HOURS has no period")  # parse() refuses that

    def next_opening_phrase(self, now_utc: datetime, language: Optional[str] = None) -> str:
        """E.g. 下一个工作时间是 11月24日（周一）08:30 / the next service period starts Mon 24 Nov, 08:30"""
        opening = self.local(self.next_opening(now_utc))
        return tr("handoff.next_opening", language, day=_day_label(opening.date(), language), clock=f"{opening:%H:%M}")

    def describe(self, language: Optional[str] = None) -> str:
        """E.g. 周一至周五 08:30-17:30，周六 09:00-12:00（北京时间） /
        Mon to Fri 08:30-17:30; Sat 09:00-12:00 (Beijing time)"""
        if self.always:
            return tr("handoff.hours_always", language)
        groups: List[Tuple[List[int], Tuple[Period, ...]]] = []
        for day in range(7):
            periods = self.periods.get(day)
            if not periods:
                continue
            if groups and groups[-1][1] == periods and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], periods))
        between_groups, between_periods, with_zone, _ = LIST_PUNCTUATION[language_of(language)]
        text = between_groups.join(
            f"{_days_label(days, language)} {between_periods.join(p.label() for p in periods)}"
            for days, periods in groups
        )
        return with_zone.format(periods=text, zone=self.zone_label(language))

    def zone_label(self, language: Optional[str] = None) -> str:
        if self.zone.key in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
            return tr("handoff.beijing_time", language)
        return self.zone.key

    def local(self, moment: datetime) -> datetime:
        """``moment`` (naive UTC, or aware) as a wall-clock time of the service zone."""
        return local_time(moment, self.zone)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _parse_part(part: str) -> Tuple[FrozenSet[int], List[Period]]:
    words = part.split()
    if len(words) != 2:
        raise ValueError(f"SUPPORT_HOURS part {part!r}: write days and times, e.g. 'mon-fri 08:30-17:30'")
    return _parse_days(words[0], part), [_parse_period(text, part) for text in words[1].split(",")]


def _parse_days(text: str, part: str) -> FrozenSet[int]:
    days: Set[int] = set()
    for item in text.lower().split(","):
        first, _, last = item.partition("-")
        start, end = _day(first, part), _day(last or first, part)
        days.update((start + step) % 7 for step in range((end - start) % 7 + 1))
    return frozenset(days)


def _day(name: str, part: str) -> int:
    try:
        return DAY_NAMES.index(name)
    except ValueError:
        raise ValueError(f"SUPPORT_HOURS part {part!r}: {name!r} is not a day " f"({', '.join(DAY_NAMES)})") from None


def _parse_period(text: str, part: str) -> Period:
    match = _PERIOD.fullmatch(text)
    if not match:
        raise ValueError(f"SUPPORT_HOURS part {part!r}: {text!r} is not a period like 08:30-17:30")
    start_hour, start_minute, end_hour, end_minute = (int(group) for group in match.groups())
    try:
        start = time(start_hour, start_minute)
        end = END_OF_DAY if (end_hour, end_minute) == (24, 0) else time(end_hour, end_minute)
    except ValueError:
        raise ValueError(f"SUPPORT_HOURS part {part!r}: {text!r} has an impossible time") from None
    if end <= start:
        raise ValueError(
            f"SUPPORT_HOURS part {part!r}: {text!r} ends before it starts " "(a period cannot cross midnight)"
        )
    return Period(start, end)


def _weekday(day: int, language: Optional[str]) -> str:
    return tr(WEEKDAY_KEYS[day], language)


def _day_label(day: date, language: Optional[str]) -> str:
    month = tr(MONTH_KEYS[day.month - 1], language)
    return tr("handoff.day_label", language, month=month, day=day.day, weekday=_weekday(day.weekday(), language))


def _days_label(days: List[int], language: Optional[str]) -> str:
    if len(days) == 1:
        return _weekday(days[0], language)
    first, last = _weekday(days[0], language), _weekday(days[-1], language)
    if len(days) == 2:
        return LIST_PUNCTUATION[language_of(language)][3].join((first, last))
    return tr("handoff.day_range", language, first=first, last=last)
