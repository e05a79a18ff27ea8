"""Times shown to people: the support time zone (``SUPPORT_TIMEZONE``) and its name.

The services keep naive UTC (``datetime.utcnow()``); whatever shows a time to
a user or an agent converts it here, and names the zone, so "14:03" never
means two different moments.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import config
from bot.language import tr

# Zones on Beijing time, named as users in China say it.
_BEIJING_TIME_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"})


def support_zone(name: Optional[str] = None) -> ZoneInfo:
    """The zone ``name``, by default ``SUPPORT_TIMEZONE``."""
    name = name or config.get("SUPPORT_TIMEZONE")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"SUPPORT_TIMEZONE {name!r} is not a known time zone (e.g. Asia/Shanghai)") from None


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` (naive UTC, or aware) as an aware wall-clock time of ``zone``."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(zone)


def day_start_utc(day: date, zone: ZoneInfo) -> datetime:
    """Midnight starting ``day`` in ``zone``, as naive UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def zone_label(zone: ZoneInfo, language: Optional[str] = None) -> str:
    """北京时间 (Beijing time in English) for Beijing time, else the zone's IANA name."""
    return tr("common.beijing_time", language) if zone.key in _BEIJING_TIME_ZONES else zone.key


def shown_time(
    moment: datetime, zone: Optional[ZoneInfo] = None, with_clock: bool = True, language: Optional[str] = None
) -> str:
    """``moment`` for a user: "2026-11-30 22:03 北京时间" ("… Beijing time" in English), or the
    local date alone."""
    zone = zone or support_zone()
    local = local_time(moment, zone)
    return f"{local:%Y-%m-%d %H:%M} {zone_label(zone, language)}" if with_clock else f"{local:%Y-%m-%d}"
