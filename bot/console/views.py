"""What the console shows, as data: the words and numbers of its pages and the
JSON its page script reads, with no HTML (that is in ``templates/``).

The queue's rows are one shape (:func:`queue_row_json`) for ``api/queue`` and
for the rows the queue page renders; a conversation's messages likewise
(:func:`message_json`), so a page and its live updates show the same words.
Durations are written by :func:`duration_zh`; the page script only advances
the ticking ones each second (``durationZh`` in ``static/console.js``, held to
the same output by a test; exact halves round to even here, up there, as
before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from zoneinfo import ZoneInfo

from bot.handoff.agents import AgentView
from bot.handoff.conversation_log import LogEntry
from bot.handoff.labels import CHANNEL_LABELS, LANGUAGE_LABELS, OUTCOME_LABELS, REASON_LABELS, STATE_LABELS
from bot.handoff.models import AuthorKind, HandoffOutcome, HandoffReason, HandoffState
from bot.handoff.reports import AgentStats, HandoffReport, HandoffStats, TeamStats
from bot.handoff.request_summary import LANGUAGE_SUMMARY_KEY, summary_language
from bot.handoff.service import EventView, HandoffView, MessageView
from bot.timezones import local_time, support_zone

CONSOLE_PATH = "/webhooks/console/"
STATIC_VERSION = "2"  # bump when console.js/css change in an incompatible way
PRODUCT = "客服工作台"

SUMMARY_LABELS = {
    "problem": "用户的问题",
    "topic": "话题",
    "flow": "办理流程",
    "checked": "助手已核查",
    "told": "助手已告诉用户",
    "found": "核查结果",
    "findings": "核查结果",
    "identity": "用户身份（已脱敏）",
    "account": "账号（已脱敏）",
    "last_messages": "用户最近的话",
}
SUMMARY_ORDER = ("problem", "topic", "flow", "checked", "found", "findings", "told", "identity", "account")
PROBLEM_CHARS = 80  # of the problem, in queue rows
NOTHING = "（无）"
REPORT_DAY_CHOICES = (7, 14, 30, 90)
NO_TEAM = "未分组"


def url(path: str = "") -> str:
    return CONSOLE_PATH + path.lstrip("/")


def conversation_url(handoff_id: int, action: str = "") -> str:
    """A conversation's page, or the address its form ``action`` posts to."""
    return url(f"conversations/{handoff_id}/{action}" if action else f"conversations/{handoff_id}")


# -- words and numbers -------------------------------------------------------------


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def reason_label(reason: HandoffReason) -> str:
    return REASON_LABELS.get(reason, str(getattr(reason, "value", reason)))


def duration_zh(seconds: Optional[float]) -> str:
    """45 秒, 4 分 05 秒, 1 小时 02 分; "-" for None."""
    if seconds is None:
        return "-"
    whole = max(0, int(round(seconds)))
    if whole < 60:
        return f"{whole} 秒"
    if whole < 3600:
        return f"{whole // 60} 分 {whole % 60:02d} 秒"
    return f"{whole // 3600} 小时 {whole % 3600 // 60:02d} 分"


def _zone() -> ZoneInfo:
    try:
        return support_zone()
    except ValueError:  # a wrong SUPPORT_TIMEZONE is reported elsewhere; show UTC meanwhile
        return ZoneInfo("UTC")


def clock_time(moment: Optional[datetime], with_date: bool = False) -> str:
    """Wall-clock time in SUPPORT_TIMEZONE: 14:03:09, or 11-23 14:03."""
    if moment is None:
        return "-"
    local = local_time(moment, _zone())
    return local.strftime("%m-%d %H:%M") if with_date else local.strftime("%H:%M:%S")


def summary_text(value: Any) -> str:
    """A summary value as one line."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "；".join(summary_text(item) for item in value if item not in (None, ""))
    if isinstance(value, dict):
        return "；".join(f"{key}：{summary_text(item)}" for key, item in value.items())
    return str(value)


def problem_of(handoff: HandoffView) -> str:
    problem = summary_text(handoff.summary.get("problem")) or "（助手没有写明问题）"
    return problem if len(problem) <= PROBLEM_CHARS else problem[: PROBLEM_CHARS - 1] + "…"


def status_line(handoff: HandoffView, me: AgentView) -> str:
    if handoff.state == HandoffState.WAITING:
        return "排队中，等待客服接手。"
    if handoff.state == HandoffState.ASSIGNED:
        mine = "由您接待中" if handoff.agent_id == me.id else f"由 {handoff.agent_name} 接待中"
        return mine + ("（自动分配）。" if handoff.auto_assigned else "。")
    if handoff.state == HandoffState.RESOLVED:
        ended = (
            "已结束：问题已解决，会话已回到智能助手。"
            if handoff.outcome == HandoffOutcome.RESOLVED
            else "已结束：会话已交还智能助手。"
        )
        if handoff.rating is not None:
            ended += f"用户评分：{handoff.rating} 分。"
        return ended
    if handoff.state == HandoffState.CANCELLED:
        return "已结束：用户取消了转人工，会话已回到智能助手。"
    return "已结束：用户长时间没有回应，会话已关闭。"


def abilities(handoff: HandoffView, me: AgentView) -> Dict[str, bool]:
    """Which of the conversation page's forms apply now (``data-needs`` of each form); none
    of the actions on a conversation she only reads (her team's: ``access.may_act``)."""
    assigned = handoff.state == HandoffState.ASSIGNED
    return {
        "claim": handoff.state == HandoffState.WAITING,
        "reply": assigned and handoff.agent_id == me.id,
        "manage": assigned and (handoff.agent_id == me.id or me.is_admin),
        "note": handoff.may_act(me.id, me.is_admin),
        "closed": not handoff.is_open,
    }


def message_label(message: MessageView) -> str:
    if message.kind == AuthorKind.USER:
        return "用户"
    if message.kind == AuthorKind.AGENT:
        return f"客服 {message.agent_name or ''}".strip()
    if message.kind == AuthorKind.NOTE:
        return f"内部备注 · {message.agent_name or '客服'}（用户看不到）"
    return "助手 / 系统"


# -- the summary of a handoff --------------------------------------------------------


@dataclass(frozen=True)
class SummaryValue:
    """A summary value for the page: ``text`` (plain words), ``span`` (the
    assistant's text, line breaks kept), ``list`` or ``map`` of ``items``
    (label, value); the labels of a list's items are empty."""

    kind: str
    text: str = ""
    items: Tuple[Tuple[str, "SummaryValue"], ...] = ()


def summary_value(value: Any) -> SummaryValue:
    """Lists as lists, mappings as nested definition lists, yes/no in words."""
    if isinstance(value, (list, tuple)):
        if not value:
            return SummaryValue("text", NOTHING)
        return SummaryValue("list", items=tuple(("", summary_value(item)) for item in value))
    if isinstance(value, dict):
        if not value:
            return SummaryValue("text", NOTHING)
        return SummaryValue(
            "map",
            items=tuple((str(SUMMARY_LABELS.get(str(key), key)), summary_value(item)) for key, item in value.items()),
        )
    if isinstance(value, bool):
        return SummaryValue("text", "是" if value else "否")
    if value is None or value == "":
        return SummaryValue("text", NOTHING)
    return SummaryValue("span", str(value))


def summary_rows(handoff: HandoffView) -> List[Tuple[str, SummaryValue]]:
    """The summary section: why, where and when, then what the assistant wrote
    (the known keys in their order first)."""
    summary = handoff.summary or {}
    rows = [
        ("转人工原因", SummaryValue("text", reason_label(handoff.reason))),
        ("渠道", SummaryValue("text", channel_label(handoff.channel))),
        ("用户语言", SummaryValue("text", LANGUAGE_LABELS[summary_language(handoff.summary)])),
        ("团队", SummaryValue("text", handoff.team_name or NO_TEAM)),
        ("发起时间", SummaryValue("text", clock_time(handoff.created_at, with_date=True))),
    ]
    keys = [key for key in SUMMARY_ORDER if key in summary] + [
        key
        for key in summary
        if key not in SUMMARY_ORDER and key != LANGUAGE_SUMMARY_KEY  # a row of its own
    ]
    rows += [(SUMMARY_LABELS.get(str(key), str(key)), summary_value(summary[key])) for key in keys]
    return rows


# -- the conversation before the handoff, the user's history, search results ----------


def photo_url(handoff_id: int, upload_id: str, via: Optional[int] = None) -> str:
    """Where the console serves a photo's masked thumbnail (read as ``handoff_id``, or through ``via``)."""
    address = conversation_url(handoff_id, f"photos/{upload_id}")
    return f"{address}?via={via}" if via is not None else address


def log_entry_view(entry: LogEntry, handoff_id: int, via: Optional[int] = None) -> Dict[str, Any]:
    """An entry of the conversation before the handoff ``handoff_id`` (``templates/conversation.mako``)."""
    if entry.kind == "user":
        label = "用户"
    elif entry.kind == "step":
        label = "办理步骤"
    elif entry.agent_name:
        label = f"客服 {entry.agent_name}（之前的人工服务）"
    else:
        label = "智能助手"
    return {
        "kind": entry.kind,
        "label": label,
        "text": entry.text,
        "at": clock_time(entry.at, with_date=True) if entry.at else "",
        "buttons": [{"title": button.title, "clicked": button.clicked} for button in entry.buttons],
        "upload_id": entry.upload_id,
        "photo_url": photo_url(handoff_id, entry.upload_id, via) if entry.upload_id else "",
        "understood": entry.understood,
    }


def state_words(handoff: HandoffView) -> str:
    """A handoff's state in a list: 已结束（已解决）, 接待中 …"""
    words = STATE_LABELS.get(handoff.state, handoff.state.value)
    if handoff.outcome is not None:
        words += f"（{OUTCOME_LABELS.get(handoff.outcome, handoff.outcome.value)}）"
    return words


def handoff_row(handoff: HandoffView) -> Dict[str, Any]:
    """A row of the search results and of the user's history."""
    return {
        "id": handoff.id,
        "when": clock_time(handoff.created_at, with_date=True),
        "day": local_time(handoff.created_at, _zone()).strftime("%Y-%m-%d"),
        "state": state_words(handoff),
        "reason": reason_label(handoff.reason),
        "channel": channel_label(handoff.channel),
        "problem": problem_of(handoff),
        "agent_name": handoff.agent_name or "-",
        "rating": f"{handoff.rating} 分" if handoff.rating is not None else "-",
    }


SEARCH_FIELDS = ("q", "problem", "from", "to", "state", "channel", "team", "agent")  # the search form's fields


def state_choices() -> List[Tuple[str, str]]:
    return [(state.value, label) for state, label in STATE_LABELS.items()]


def channel_choices() -> List[Tuple[str, str]]:
    return [(channel, label) for channel, label in CHANNEL_LABELS.items() if channel != "socketio"]


# -- JSON for the script -------------------------------------------------------------


def message_json(message: MessageView) -> Dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind.value,
        "label": message_label(message),
        "text": message.text,
        "at": clock_time(message.at),
    }


def handoff_json(handoff: HandoffView, me: AgentView) -> Dict[str, Any]:
    return {
        "id": handoff.id,
        "state": handoff.state.value,
        "agent_id": handoff.agent_id,
        "agent_name": handoff.agent_name,
        "status": status_line(handoff, me),
        "can": abilities(handoff, me),
        "rating": handoff.rating,
    }


def queue_row_json(handoff: HandoffView, seconds: int) -> Dict[str, Any]:
    """A row of the queue page; ``seconds`` is the waiting time (waiting) or since the claim."""
    return {
        "id": handoff.id,
        "reason": reason_label(handoff.reason),
        "channel": channel_label(handoff.channel),
        "problem": problem_of(handoff),
        "team": handoff.team_name or NO_TEAM,
        "agent_name": handoff.agent_name,
        "seconds": seconds,
    }


def event_json(event: EventView) -> Dict[str, Any]:
    return {
        "id": event.id,
        "handoff_id": event.handoff_id,
        "kind": event.kind,
        "agent_id": event.agent_id,
        "data": event.data,
        "at": event.at.isoformat() + "Z",
    }


# -- reports -------------------------------------------------------------------------


def day_of(stats: HandoffStats) -> date:
    """The day of one of ``HandoffReport.days`` (only the report's total has none)."""
    if stats.day is None:
        raise ValueError("the figures of the whole period have no day")
    return stats.day


def _percent(rate: Optional[float]) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def report_totals(total: HandoffStats) -> List[Tuple[str, str]]:
    """The figures above the charts: (label, value)."""
    rating = f"{total.rating_average:.1f} 分（{total.rating_count} 人）" if total.rating_count else "-"
    return [
        ("会话数", str(total.conversations)),
        ("转人工", str(total.handoffs)),
        ("转人工率", _percent(total.handoff_rate)),
        ("首次回复中位数", duration_zh(total.first_reply_median_seconds)),
        ("解决用时中位数", duration_zh(total.resolution_median_seconds)),
        ("平均评分", rating),
        ("用户离开", str(total.abandoned)),
    ]


def report_cells(stats: HandoffStats) -> List[Any]:
    """A row of the report table after its label, in the order of the head."""
    rating = f"{stats.rating_average:.1f}（{stats.rating_count}）" if stats.rating_count else "-"
    return [
        stats.conversations,
        stats.handoffs,
        _percent(stats.handoff_rate),
        *(stats.by_reason[reason] for reason in HandoffReason),
        duration_zh(stats.first_reply_median_seconds),
        duration_zh(stats.first_reply_p90_seconds),
        duration_zh(stats.resolution_median_seconds),
        rating,
        stats.abandoned,
    ]


def report_day_choices(days: int) -> Sequence[int]:
    return sorted(set(REPORT_DAY_CHOICES) | {days})


# The figures an agent's and a team's row share (reports.AgentStats and TeamStats).
FIGURES_HEAD = ("已解决", "交还助手", "首次回复 中位数", "处理用时 中位数", "评分（人数）")
FIGURES_CSV_HEAD = ["已解决", "交还助手", "首次回复中位数（秒）", "处理用时中位数（秒）", "平均评分", "评分人数"]
AGENT_REPORT_HEAD = ("客服", "登录名", "转人工（接待）", *FIGURES_HEAD)
TEAM_REPORT_HEAD = ("团队", "转人工（分到本团队）", *FIGURES_HEAD)


def _figure_cells(stats: Union[AgentStats, TeamStats]) -> List[Any]:
    rating = f"{stats.rating_average:.1f}（{stats.rating_count}）" if stats.rating_count else "-"
    return [
        stats.handoffs,
        stats.resolved,
        stats.handed_back,
        duration_zh(stats.first_reply_median_seconds),
        duration_zh(stats.handling_median_seconds),
        rating,
    ]


def _figure_csv(stats: Union[AgentStats, TeamStats]) -> List[Any]:
    return [
        stats.handoffs,
        stats.resolved,
        stats.handed_back,
        _csv_seconds(stats.first_reply_median_seconds),
        _csv_seconds(stats.handling_median_seconds),
        _csv_number(stats.rating_average),
        stats.rating_count,
    ]


def agent_report_cells(stats: AgentStats) -> List[Any]:
    """A row of the per-agent table, in the order of :data:`AGENT_REPORT_HEAD`."""
    name = stats.name if stats.active else f"{stats.name}（已停用）"
    return [name, stats.login, *_figure_cells(stats)]


def team_report_cells(stats: TeamStats) -> List[Any]:
    """A row of the per-team table, in the order of :data:`TEAM_REPORT_HEAD`."""
    return [stats.name, *_figure_cells(stats)]


def team_csv_rows(teams: Sequence[TeamStats]) -> List[List[Any]]:
    """The per-team report for a spreadsheet, a head row first."""
    rows: List[List[Any]] = [["团队", "转人工（分到本团队）", *FIGURES_CSV_HEAD]]
    rows += [[stats.name, *_figure_csv(stats)] for stats in teams]
    return rows


def _csv_seconds(seconds: Optional[float]) -> str:
    return "" if seconds is None else f"{seconds:.0f}"


def _csv_number(value: Optional[float], digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report_csv_rows(report: HandoffReport) -> List[List[Any]]:
    """The per-day report for a spreadsheet: raw numbers (seconds, fractions), a head row first."""
    head = ["日期", "会话数", "转人工", "转人工率"]
    head += [reason_label(reason) for reason in HandoffReason]
    head += ["首次回复中位数（秒）", "首次回复P90（秒）", "解决用时中位数（秒）", "平均评分", "评分人数", "用户离开"]
    rows: List[List[Any]] = [head]
    for stats in [*report.days, report.total]:
        rows.append(
            [
                stats.day.isoformat() if stats.day else "合计",
                stats.conversations,
                stats.handoffs,
                _csv_number(stats.handoff_rate, 4),
                *(stats.by_reason[reason] for reason in HandoffReason),
                _csv_seconds(stats.first_reply_median_seconds),
                _csv_seconds(stats.first_reply_p90_seconds),
                _csv_seconds(stats.resolution_median_seconds),
                _csv_number(stats.rating_average),
                stats.rating_count,
                stats.abandoned,
            ]
        )
    return rows


def agent_csv_rows(agents: Sequence[AgentStats]) -> List[List[Any]]:
    """The per-agent report for a spreadsheet, a head row first."""
    rows: List[List[Any]] = [["客服", "登录名", "在职", "转人工（接待）", *FIGURES_CSV_HEAD]]
    rows += [[stats.name, stats.login, "是" if stats.active else "否", *_figure_csv(stats)] for stats in agents]
    return rows


# -- the frame ---------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """What every logged-in page carries."""

    agent: AgentView
    csrf: str
    last_event_id: int
    waiting: int  # conversations in the queue, for the badge
