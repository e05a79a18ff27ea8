"""The reports page's bar charts as geometry: where each bar, value and label
goes.  The SVG is drawn by ``templates/chart.mako`` (inline SVG: its
presentation attributes such as ``fill`` and ``x`` are not styles, so the
console's Content-Security-Policy allows them).

A :class:`Chart` lists its marks in drawing order: the value axis
(:attr:`Chart.ticks`), then per bar its rectangle(s) and the value written
above it, then the labels under the bars (every one, or every n-th of many).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

from bot.console.views import day_of, reason_label
from bot.handoff.models import HandoffReason
from bot.handoff.reports import AgentStats, HandoffReport

CHART_WIDTH, CHART_HEIGHT = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 12, 28, 42
PLOT_WIDTH = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
PLOT_HEIGHT = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
BOTTOM = CHART_HEIGHT - PLOT_BOTTOM
LABELS_Y = CHART_HEIGHT - PLOT_BOTTOM + 16
MAX_VALUES_SHOWN = 31  # bars beyond this many carry no value above them
DEFAULT_COLOUR = "#2563eb"
REASON_COLOURS = {
    HandoffReason.USER_REQUEST: "#2563eb",
    HandoffReason.MISUNDERSTOOD: "#d97706",
    HandoffReason.FLOW_DEAD_END: "#7c3aed",
    HandoffReason.NEGATIVE_FEEDBACK: "#dc2626",
}

Format = Callable[[float], str]


@dataclass(frozen=True)
class Tick:
    """A grid line of the value axis at ``y``, with its value."""

    y: float
    text: str


@dataclass(frozen=True)
class Bar:
    """A rectangle; ``value`` (bar charts) is also written as ``data-value``."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str
    value: Optional[str] = None


@dataclass(frozen=True)
class Value:
    """The value written above a bar."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Label:
    """A label under the bars."""

    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str  # every value in words, for screen readers
    ticks: Sequence[Tick]
    marks: Sequence[Union[Bar, Value]]
    labels: Sequence[Label]
    legend: Sequence[Tuple[str, str]] = field(default=())  # (name, CSS class suffix) of a stacked chart's parts


def _nice_top(value: float) -> float:
    """A round upper end of the value axis, at least ``value``."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _ticks(top: float, fmt: Format) -> List[Tick]:
    return [Tick(BOTTOM - fraction * PLOT_HEIGHT, fmt(top * fraction)) for fraction in (0, 0.5, 1)]


def _labels(labels: Sequence[str], slot: float) -> List[Label]:
    every = max(1, math.ceil(len(labels) / 15))
    return [
        Label(PLOT_LEFT + slot * (index + 0.5), label)
        for index, label in enumerate(labels)
        if index % every == 0 or index == len(labels) - 1
    ]


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[Optional[float]],
    fmt: Format,
    top: Optional[float] = None,
    colours: Optional[Sequence[str]] = None,
) -> Chart:
    """Bars with their value written above; None: no bar, "-" written."""
    present = [value for value in values if value is not None]
    top = top or _nice_top(max(present, default=0))
    slot = PLOT_WIDTH / max(1, len(values))
    width = max(2.0, slot * 0.6)
    marks: List[Union[Bar, Value]] = []
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        x = PLOT_LEFT + slot * index + (slot - width) / 2
        shown = "-" if value is None else fmt(value)
        height = 0.0 if value is None else PLOT_HEIGHT * min(value, top) / top
        if value is not None:
            colour = colours[index] if colours else DEFAULT_COLOUR
            marks.append(Bar(x, BOTTOM - height, width, height, colour, f"{label}：{shown}", shown))
        if len(values) <= MAX_VALUES_SHOWN:
            marks.append(Value(x + width / 2, BOTTOM - height - 4, shown))
    description = "；".join(
        f"{label}：{'-' if value is None else fmt(value)}" for label, value in zip(labels, values, strict=False)
    )
    return Chart(chart_id, title, description, _ticks(top, fmt), marks, _labels(labels, slot))


def stacked_bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    stacks: Sequence[Sequence[int]],
    series: Sequence[Tuple[str, str]],
    legend: Sequence[Tuple[str, str]] = (),
) -> Chart:
    """One bar per label, its parts in the colours of ``series`` (name, colour), total above."""
    totals = [sum(stack) for stack in stacks]
    top = _nice_top(max(totals, default=0))
    slot = PLOT_WIDTH / max(1, len(stacks))
    width = max(2.0, slot * 0.6)
    marks: List[Union[Bar, Value]] = []
    for index, (label, stack) in enumerate(zip(labels, stacks, strict=False)):
        x = PLOT_LEFT + slot * index + (slot - width) / 2
        y = float(BOTTOM)
        for (name, colour), value in zip(series, stack, strict=False):
            if not value:
                continue
            height = PLOT_HEIGHT * value / top
            y -= height
            marks.append(Bar(x, y, width, height, colour, f"{label} {name}：{value}"))
        if len(stacks) <= MAX_VALUES_SHOWN:
            marks.append(Value(x + width / 2, y - 4, str(totals[index])))
    description = "；".join(f"{label}：{total}" for label, total in zip(labels, totals, strict=False))
    return Chart(
        chart_id, title, description, _ticks(top, lambda value: f"{value:g}"), marks, _labels(labels, slot), legend
    )


def _minutes(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else seconds / 60


def _one_decimal(value: float) -> str:
    return f"{value:.1f}"


def report_charts(report: HandoffReport, days: int) -> List[Chart]:
    """The reports page's six charts, in the page's order."""
    labels = [day_of(stats).strftime("%m-%d") for stats in report.days]
    reasons = list(HandoffReason)
    return [
        stacked_bar_chart(
            "chart-handoffs",
            "每天转人工次数（按原因）",
            labels,
            [[stats.by_reason[reason] for reason in reasons] for stats in report.days],
            [(reason_label(reason), REASON_COLOURS[reason]) for reason in reasons],
            legend=[(reason_label(reason), reason.value) for reason in reasons],
        ),
        bar_chart(
            "chart-rate",
            "每天转人工率（转人工次数 ÷ 会话数）",
            labels,
            [None if stats.handoff_rate is None else stats.handoff_rate * 100 for stats in report.days],
            lambda value: f"{value:.1f}%",
        ),
        bar_chart(
            "chart-first-reply",
            "首次回复用时中位数（分钟）",
            labels,
            [_minutes(stats.first_reply_median_seconds) for stats in report.days],
            _one_decimal,
        ),
        bar_chart(
            "chart-resolution",
            "解决用时中位数（分钟）",
            labels,
            [_minutes(stats.resolution_median_seconds) for stats in report.days],
            _one_decimal,
        ),
        bar_chart(
            "chart-rating",
            "平均评分（1–5 分）",
            labels,
            [stats.rating_average for stats in report.days],
            _one_decimal,
            top=5,
        ),
        bar_chart(
            "chart-reasons",
            f"转人工原因（最近 {days} 天合计）",
            [reason_label(reason) for reason in reasons],
            [report.total.by_reason[reason] for reason in reasons],
            lambda value: f"{value:g}",
            colours=[REASON_COLOURS[reason] for reason in reasons],
        ),
    ]


def agent_charts(agents: Sequence[AgentStats], days: int) -> List[Chart]:
    """The per-agent charts of the reports page (agents with a handoff in the period)."""
    working = [stats for stats in agents if stats.handoffs]
    labels = [stats.name for stats in working]
    return [
        bar_chart(
            "chart-agent-handoffs",
            f"每位客服接待的转人工（最近 {days} 天）",
            labels,
            [stats.handoffs for stats in working],
            lambda value: f"{value:g}",
        ),
        bar_chart(
            "chart-agent-first-reply",
            "每位客服接手到首次回复的中位数（分钟）",
            labels,
            [_minutes(stats.first_reply_median_seconds) for stats in working],
            _one_decimal,
        ),
        bar_chart(
            "chart-agent-handling",
            "每位客服处理用时中位数（分钟）",
            labels,
            [_minutes(stats.handling_median_seconds) for stats in working],
            _one_decimal,
        ),
        bar_chart(
            "chart-agent-rating",
            "每位客服的平均评分（1–5 分）",
            labels,
            [stats.rating_average for stats in working],
            _one_decimal,
            top=5,
        ),
    ]
