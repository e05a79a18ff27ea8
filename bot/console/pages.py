"""HTML of the agent console (``bot/channels/console.py``), rendered on the server.

Every value that comes from data goes through :func:`e` (``html.escape``,
quotes included), and no page carries inline scripts or styles: the pages are
served with ``script-src 'self'; style-src 'self'``, so the behaviour lives in
``console_static/console.js`` (which writes data with ``textContent`` only)
and the look in ``console_static/console.css``.  Charts of the reports page
are inline SVG drawn here; presentation attributes (``fill``, ``x``...) are
not styles, so the policy allows them.

The labels and the JSON shapes the script reads (``handoff_json``,
``message_json``, ``queue_row_json``) live here too, so the server-rendered
page and the live updates show the same words.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from bot.handoff.agents import AgentView
from bot.handoff.canned import CannedReply, grouped
from bot.handoff.models import AuthorKind, HandoffOutcome, HandoffReason, HandoffState
from bot.handoff.reports import HandoffReport, HandoffStats
from bot.handoff.service import REASON_LABELS, HandoffView, MessageView
from bot.timezones import local_time, support_zone

CONSOLE_PATH = "/webhooks/console/"
STATIC_VERSION = "1"  # bump when console.js/css change in an incompatible way
PRODUCT = "客服工作台"

CHANNEL_LABELS = {"widget": "网页", "telegram": "Telegram", "rest": "接口", "socketio": "网页"}
STATE_LABELS = {
    HandoffState.WAITING: "排队中",
    HandoffState.ASSIGNED: "接待中",
    HandoffState.RESOLVED: "已结束",
    HandoffState.ABANDONED: "用户已离开",
    HandoffState.CANCELLED: "用户已取消",
}
OUTCOME_LABELS = {
    HandoffOutcome.RESOLVED: "问题已解决",
    HandoffOutcome.HANDED_BACK: "已交还智能助手",
}
SUMMARY_LABELS = {
    "problem": "用户的问题",
    "topic": "话题",
    "flow": "办理流程",
    "checked": "助手已核查",
    "found": "核查结果",
    "findings": "核查结果",
    "identity": "用户身份（已脱敏）",
    "account": "账号（已脱敏）",
    "last_messages": "用户最近的话",
}
SUMMARY_ORDER = ("problem", "topic", "flow", "checked", "found", "findings", "identity", "account")
PROBLEM_CHARS = 80  # of the problem, in queue rows


def e(value: Any) -> str:
    """Text for HTML (element content and quoted attribute values)."""
    return html.escape("" if value is None else str(value), quote=True)


def url(path: str = "") -> str:
    return CONSOLE_PATH + path.lstrip("/")


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
        return "由您接待中。" if handoff.agent_id == me.id else f"由 {handoff.agent_name} 接待中。"
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
    """Which of the conversation page's forms apply now (``data-needs`` of each form)."""
    assigned = handoff.state == HandoffState.ASSIGNED
    return {
        "claim": handoff.state == HandoffState.WAITING,
        "reply": assigned and handoff.agent_id == me.id,
        "manage": assigned and (handoff.agent_id == me.id or me.is_admin),
        "note": True,
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
        "agent_name": handoff.agent_name,
        "seconds": seconds,
    }


# -- the frame ---------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """What every logged-in page carries."""

    agent: AgentView
    csrf: str
    last_event_id: int
    waiting: int  # conversations in the queue, for the badge


def document(title: str, body: str, *, page: str, frame: Optional[Frame] = None) -> str:
    badge = f"({frame.waiting}) " if frame and frame.waiting else ""
    data = f' data-page="{e(page)}" data-base="{e(CONSOLE_PATH)}" data-title="{e(title)} - {PRODUCT}"'
    head_extra, script, header = "", "", ""
    if frame is not None:
        data += (
            f' data-last-event="{frame.last_event_id}" data-agent-id="{frame.agent.id}"'
            f' data-admin="{"1" if frame.agent.is_admin else "0"}"'
        )
        head_extra = f'<meta name="csrf-token" content="{e(frame.csrf)}">\n'
        script = f'<script src="{url("static/console.js")}?v={STATIC_VERSION}" defer></script>\n'
        header = _header(frame)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
{head_extra}<title>{badge}{e(title)} - {PRODUCT}</title>
<link rel="stylesheet" href="{url("static/console.css")}?v={STATIC_VERSION}">
{script}</head><body{data}>
<a class="skip" href="#main">跳到主要内容</a>
{header}<main id="main" tabindex="-1">
{body}
</main></body></html>"""


def _header(frame: Frame) -> str:
    agent = frame.agent
    role = "管理员" if agent.is_admin else "客服"
    hidden = "" if frame.waiting else " hidden"
    return f"""<header class="topbar">
<a class="brand" href="{url()}">{PRODUCT}</a>
<nav aria-label="主导航"><ul>
<li><a href="{url()}">排队与会话 <span class="badge" id="waiting-badge" data-testid="waiting-badge"
 aria-label="排队中的会话数"{hidden}>{frame.waiting}</span></a></li>
<li><a href="{url("reports")}">统计报表</a></li>
</ul></nav>
<span class="connection" id="connection" role="status" aria-live="polite"></span>
<label class="sound"><input type="checkbox" id="sound-toggle" checked> 新会话提示音</label>
<span class="whoami">{e(agent.display_name)}（{role} · {e(agent.login)}）</span>
<form method="post" action="{url("logout")}" class="logout">{csrf_field(frame.csrf)}
<button type="submit">退出登录</button></form>
</header>
"""


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def alert(error: str) -> str:
    return f'<p class="error" role="alert" data-testid="error">{e(error)}</p>' if error else ""


def notice(text: str) -> str:
    return f'<p class="notice" role="status">{e(text)}</p>' if text else ""


# -- login ---------------------------------------------------------------------------


def login_page(login_csrf: str, login: str = "", error: str = "", message: str = "") -> str:
    body = f"""<div class="login-box">
<h1>{PRODUCT}登录</h1>
<p class="muted">科技部政务服务平台 · 人工客服</p>
{alert(error)}{notice(message)}
<form method="post" action="{url("login")}" class="stack">
{csrf_field(login_csrf)}
<label for="login">登录名</label>
<input id="login" name="login" autocomplete="username" required maxlength="64" value="{e(login)}"
 autocapitalize="off" spellcheck="false"{"" if login else " autofocus"}>
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
 maxlength="200"{" autofocus" if login else ""}>
<button type="submit" class="primary">登录</button>
</form>
<p class="muted small">客服账号由管理员创建；连续输错密码会暂时锁定登录。</p>
</div>"""
    return document("登录", body, page="login")


def message_page(title: str, text: str, frame: Optional[Frame] = None) -> str:
    link = f'<p><a href="{url()}">返回排队与会话</a></p>' if frame else f'<p><a href="{url("login")}">去登录</a></p>'
    return document(title, f"<h1>{e(title)}</h1>\n{alert(text)}\n{link}", page="message", frame=frame)


# -- the queue -----------------------------------------------------------------------


def queue_page(
    frame: Frame,
    waiting: Sequence[Dict[str, Any]],
    mine: Sequence[Dict[str, Any]],
    others: Sequence[Dict[str, Any]],
    error: str = "",
) -> str:
    waiting_rows = "".join(_waiting_row(row, position, frame.csrf) for position, row in enumerate(waiting, 1))
    body = f"""<h1>排队与会话</h1>
{alert(error)}
<section aria-labelledby="waiting-heading" class="panel">
<h2 id="waiting-heading">排队等待 <span class="count" id="waiting-count">{len(waiting)}</span></h2>
<table class="list" data-testid="waiting-table"><thead><tr>
<th scope="col">序号</th><th scope="col">已等待</th><th scope="col">原因</th><th scope="col">渠道</th>
<th scope="col">用户的问题</th><th scope="col">操作</th></tr></thead>
<tbody id="waiting-rows">{waiting_rows}</tbody>
</table>
<p class="empty" id="waiting-empty"{" hidden" if waiting else ""}>暂无排队的会话。</p>
</section>
<section aria-labelledby="mine-heading" class="panel">
<h2 id="mine-heading">我接待的会话 <span class="count" id="mine-count">{len(mine)}</span></h2>
<table class="list" data-testid="mine-table"><thead><tr>
<th scope="col">会话</th><th scope="col">接手至今</th><th scope="col">原因</th><th scope="col">渠道</th>
<th scope="col">用户的问题</th><th scope="col">操作</th></tr></thead>
<tbody id="mine-rows">{"".join(_assigned_row(row, mine=True) for row in mine)}</tbody>
</table>
<p class="empty" id="mine-empty"{" hidden" if mine else ""}>您当前没有接待中的会话。</p>
</section>
<section aria-labelledby="others-heading" class="panel">
<h2 id="others-heading">其他客服接待中 <span class="count" id="others-count">{len(others)}</span></h2>
<table class="list" data-testid="others-table"><thead><tr>
<th scope="col">会话</th><th scope="col">客服</th><th scope="col">原因</th><th scope="col">渠道</th>
<th scope="col">用户的问题</th><th scope="col">操作</th></tr></thead>
<tbody id="others-rows">{"".join(_assigned_row(row, mine=False) for row in others)}</tbody>
</table>
<p class="empty" id="others-empty"{" hidden" if others else ""}>没有其他客服接待中的会话。</p>
</section>"""
    return document("排队与会话", body, page="queue", frame=frame)


def _waiting_row(row: Dict[str, Any], position: int, csrf: str) -> str:
    handoff_id = row["id"]
    return f"""<tr data-handoff-id="{handoff_id}" data-testid="waiting-row">
<td>{position}</td>
<td class="js-ticking" data-seconds="{int(row["seconds"])}">{e(duration_zh(row["seconds"]))}</td>
<td>{e(row["reason"])}</td><td>{e(row["channel"])}</td><td class="problem">{e(row["problem"])}</td>
<td class="row-actions"><a href="{url(f"conversations/{handoff_id}")}">查看</a>
<form method="post" action="{url(f"conversations/{handoff_id}/claim")}" class="inline">{csrf_field(csrf)}
<button type="submit" aria-label="接手会话 {handoff_id}">接手</button></form></td></tr>"""


def _assigned_row(row: Dict[str, Any], mine: bool) -> str:
    handoff_id = row["id"]
    second = (
        f'<td class="js-ticking" data-seconds="{int(row["seconds"])}">{e(duration_zh(row["seconds"]))}</td>'
        if mine
        else f"<td>{e(row['agent_name'])}</td>"
    )
    return f"""<tr data-handoff-id="{handoff_id}" data-testid="{"mine" if mine else "others"}-row">
<td>#{handoff_id}</td>{second}
<td>{e(row["reason"])}</td><td>{e(row["channel"])}</td><td class="problem">{e(row["problem"])}</td>
<td class="row-actions"><a href="{url(f"conversations/{handoff_id}")}">打开</a></td></tr>"""


# -- a conversation --------------------------------------------------------------------


def conversation_page(
    frame: Frame,
    handoff: HandoffView,
    messages: Sequence[MessageView],
    transfer_targets: Sequence[AgentView],
    canned: Sequence[CannedReply],
    error: str = "",
    reply_draft: str = "",
    note_draft: str = "",
) -> str:
    can = abilities(handoff, frame.agent)
    last_message = messages[-1].id if messages else 0
    body = f"""<p class="back"><a href="{url()}">← 返回排队与会话</a></p>
<h1>会话 #{handoff.id}</h1>
<p class="status" id="status" role="status" data-testid="status"
 data-state="{e(handoff.state.value)}">{e(status_line(handoff, frame.agent))}</p>
<div id="action-error">{alert(error)}</div>
<div class="conversation" id="conversation" data-handoff-id="{handoff.id}" data-last-message="{last_message}">
<div class="main-column">
{summary_section(handoff)}
<section aria-labelledby="transcript-heading" class="panel">
<h2 id="transcript-heading">对话记录</h2>
<ol class="transcript" id="transcript" aria-live="polite" data-testid="transcript">
{"".join(_message_item(message) for message in messages)}
</ol>
</section>
</div>
<aside class="side-column" aria-label="操作">
{_actions(frame, handoff, can, transfer_targets, canned, reply_draft, note_draft)}
</aside>
</div>"""
    return document(f"会话 #{handoff.id}", body, page="conversation", frame=frame)


def summary_section(handoff: HandoffView) -> str:
    summary = handoff.summary or {}
    rows = [
        ("转人工原因", e(reason_label(handoff.reason))),
        ("渠道", e(channel_label(handoff.channel))),
        ("发起时间", e(clock_time(handoff.created_at, with_date=True))),
    ]
    keys = [key for key in SUMMARY_ORDER if key in summary] + [key for key in summary if key not in SUMMARY_ORDER]
    rows += [(SUMMARY_LABELS.get(str(key), str(key)), _summary_value(summary[key])) for key in keys]
    items = "\n".join(f"<dt>{e(label)}</dt><dd>{value}</dd>" for label, value in rows)
    return f"""<section aria-labelledby="summary-heading" class="panel summary" data-testid="summary">
<h2 id="summary-heading">助手的摘要</h2>
<dl>
{items}
</dl>
</section>"""


def _summary_value(value: Any) -> str:
    """A summary value as HTML: lists as lists, mappings as nested definition lists."""
    if isinstance(value, (list, tuple)):
        if not value:
            return "（无）"
        return "<ul>" + "".join(f"<li>{_summary_value(item)}</li>" for item in value) + "</ul>"
    if isinstance(value, dict):
        if not value:
            return "（无）"
        return (
            '<dl class="nested">'
            + "".join(
                f"<dt>{e(SUMMARY_LABELS.get(str(key), key))}</dt><dd>{_summary_value(item)}</dd>"
                for key, item in value.items()
            )
            + "</dl>"
        )
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or value == "":
        return "（无）"
    return f'<span class="pre">{e(value)}</span>'


def _message_item(message: MessageView) -> str:
    return (
        f'<li class="msg msg-{e(message.kind.value)}" data-message-id="{message.id}" data-testid="message">'
        f'<div class="meta"><span class="who">{e(message_label(message))}</span> '
        f"<time>{e(clock_time(message.at))}</time></div>"
        f'<div class="text">{e(message.text)}</div></li>'
    )


def _hidden(can: Dict[str, bool], need: str) -> str:
    return "" if can.get(need) else " hidden"


def _actions(
    frame: Frame,
    handoff: HandoffView,
    can: Dict[str, bool],
    targets: Sequence[AgentView],
    canned: Sequence[CannedReply],
    reply_draft: str,
    note_draft: str,
) -> str:
    base = url(f"conversations/{handoff.id}/")
    csrf = csrf_field(frame.csrf)
    options = "".join(
        f'<option value="{target.id}">{e(target.display_name)}（{e(target.login)}）</option>' for target in targets
    )
    groups = "".join(
        f'<optgroup label="{e(group)}">'
        + "".join(
            f'<option value="{e(reply.key)}" data-text="{e(reply.text)}">{e(reply.title)}</option>' for reply in replies
        )
        + "</optgroup>"
        for group, replies in grouped(canned)
    )
    return f"""<section class="panel" data-needs="claim"{_hidden(can, "claim")}>
<h2>接手</h2>
<p class="muted">接手后由您回复用户；其他客服会看到这个会话已有人接待。</p>
<form method="post" action="{base}claim">{csrf}
<button type="submit" class="primary" data-testid="claim">接手这个会话</button></form>
</section>
<section class="panel" data-needs="reply"{_hidden(can, "reply")}>
<h2 id="reply-heading">回复用户</h2>
<form method="post" action="{base}reply" class="stack js-async" id="reply-form" data-testid="reply-form">{csrf}
<label for="canned">常用回复（来自常见问题答案）</label>
<div class="row"><select id="canned" data-testid="canned">
<option value="">— 选择一条常用回复 —</option>{groups}</select>
<button type="button" id="canned-insert">填入回复框</button></div>
<label for="reply-text">回复内容（用户会看到；Ctrl+Enter 发送）</label>
<textarea id="reply-text" name="text" rows="5" maxlength="4000" required
 data-testid="reply-text">{e(reply_draft)}</textarea>
<button type="submit" class="primary">发送给用户</button>
</form>
</section>
<section class="panel" data-needs="note"{_hidden(can, "note")}>
<h2>内部备注</h2>
<form method="post" action="{base}note" class="stack js-async" id="note-form">{csrf}
<label for="note-text">备注内容（只有客服能看到，不会发给用户）</label>
<textarea id="note-text" name="text" rows="3" maxlength="4000" required
 data-testid="note-text">{e(note_draft)}</textarea>
<button type="submit">添加备注</button>
</form>
</section>
<section class="panel" data-needs="manage"{_hidden(can, "manage")}>
<h2>转接与结束</h2>
<form method="post" action="{base}transfer" class="stack">{csrf}
<label for="transfer-to">转给其他客服</label>
<div class="row"><select id="transfer-to" name="agent_id" required data-testid="transfer-to">
<option value="">— 选择客服 —</option>{options}</select>
<button type="submit">转接</button></div>
</form>
<form method="post" action="{base}hand-back" class="stack">{csrf}
<p class="muted">交还：问题没有解决完或需要助手继续办理，会话回到智能助手，用户会被请求评分。</p>
<button type="submit" data-testid="hand-back">交还智能助手</button>
</form>
<form method="post" action="{base}resolve" class="stack">{csrf}
<p class="muted">已解决：问题已经解决，结束人工服务，会话回到智能助手，用户会被请求评分。</p>
<button type="submit" class="primary" data-testid="resolve">已解决，结束会话</button>
</form>
</section>
<section class="panel" data-needs="closed"{_hidden(can, "closed")}>
<h2>会话已结束</h2>
<p class="muted">这个会话已经不在人工服务中；对话记录和备注仍可查看。</p>
</section>"""


# -- reports -----------------------------------------------------------------------------

REPORT_DAY_CHOICES = (7, 14, 30, 90)
REASON_COLOURS = {
    HandoffReason.USER_REQUEST: "#2563eb",
    HandoffReason.MISUNDERSTOOD: "#d97706",
    HandoffReason.FLOW_DEAD_END: "#7c3aed",
    HandoffReason.NEGATIVE_FEEDBACK: "#dc2626",
}


def reports_page(frame: Frame, report: HandoffReport, days: int) -> str:
    labels = [_day(stats).strftime("%m-%d") for stats in report.days]
    choices = "".join(
        f'<option value="{n}"{" selected" if n == days else ""}>最近 {n} 天</option>'
        for n in sorted(set(REPORT_DAY_CHOICES) | {days})
    )
    charts = [
        stacked_bar_chart(
            "chart-handoffs",
            "每天转人工次数（按原因）",
            labels,
            [[stats.by_reason[reason] for reason in HandoffReason] for stats in report.days],
            [(reason_label(reason), REASON_COLOURS[reason]) for reason in HandoffReason],
        )
        + legend([(reason_label(reason), reason.value) for reason in HandoffReason]),
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
            lambda value: f"{value:.1f}",
        ),
        bar_chart(
            "chart-resolution",
            "解决用时中位数（分钟）",
            labels,
            [_minutes(stats.resolution_median_seconds) for stats in report.days],
            lambda value: f"{value:.1f}",
        ),
        bar_chart(
            "chart-rating",
            "平均评分（1–5 分）",
            labels,
            [stats.rating_average for stats in report.days],
            lambda value: f"{value:.1f}",
            top=5,
        ),
        bar_chart(
            "chart-reasons",
            f"转人工原因（最近 {days} 天合计）",
            [reason_label(reason) for reason in HandoffReason],
            [report.total.by_reason[reason] for reason in HandoffReason],
            lambda value: f"{value:g}",
            colours=[REASON_COLOURS[reason] for reason in HandoffReason],
        ),
    ]
    body = f"""<h1>统计报表</h1>
<form method="get" action="{url("reports")}" class="row filters">
<label for="days">时间范围</label>
<select id="days" name="days">{choices}</select>
<button type="submit">查看</button>
</form>
<p class="muted">日期按 {e(report.timezone)} 时区计算，含今天；转人工的各项数据都算在发起转人工的那一天。
命令行：<code>python -m bot handoff report --days {days}</code></p>
{_totals(report.total)}
<div class="charts">
{"".join(f'<figure class="panel chart">{chart}</figure>' for chart in charts)}
</div>
<section class="panel" aria-labelledby="table-heading">
<h2 id="table-heading">每日明细</h2>
<div class="table-scroll">{report_table(report)}</div>
</section>"""
    return document("统计报表", body, page="reports", frame=frame)


def _day(stats: HandoffStats) -> date:
    """The day of one of ``HandoffReport.days`` (only the report's total has none)."""
    if stats.day is None:
        raise ValueError("the figures of the whole period have no day")
    return stats.day


def _minutes(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else seconds / 60


def _totals(total: HandoffStats) -> str:
    rating = f"{total.rating_average:.1f} 分（{total.rating_count} 人）" if total.rating_count else "-"
    rate = "-" if total.handoff_rate is None else f"{total.handoff_rate * 100:.1f}%"
    figures = [
        ("会话数", str(total.conversations)),
        ("转人工", str(total.handoffs)),
        ("转人工率", rate),
        ("首次回复中位数", duration_zh(total.first_reply_median_seconds)),
        ("解决用时中位数", duration_zh(total.resolution_median_seconds)),
        ("平均评分", rating),
        ("用户离开", str(total.abandoned)),
    ]
    return (
        '<dl class="totals" data-testid="totals">'
        + "".join(f"<div><dt>{e(label)}</dt><dd>{e(value)}</dd></div>" for label, value in figures)
        + "</dl>"
    )


def report_table(report: HandoffReport) -> str:
    reasons = "".join(f'<th scope="col">{e(reason_label(reason))}</th>' for reason in HandoffReason)
    head = (
        f'<tr><th scope="col">日期</th><th scope="col">会话数</th><th scope="col">转人工</th>'
        f'<th scope="col">转人工率</th>{reasons}<th scope="col">首次回复 中位数</th>'
        f'<th scope="col">首次回复 P90</th><th scope="col">解决用时 中位数</th>'
        f'<th scope="col">评分（人数）</th><th scope="col">用户离开</th></tr>'
    )
    rows = "".join(_report_row(_day(stats).isoformat(), stats) for stats in report.days)
    return (
        f'<table class="list numbers" data-testid="report-table"><thead>{head}</thead>'
        f'<tbody>{rows}</tbody><tfoot>{_report_row("合计", report.total)}</tfoot></table>'
    )


def _report_row(label: str, stats: HandoffStats) -> str:
    rate = "-" if stats.handoff_rate is None else f"{stats.handoff_rate * 100:.1f}%"
    rating = f"{stats.rating_average:.1f}（{stats.rating_count}）" if stats.rating_count else "-"
    cells = [
        stats.conversations,
        stats.handoffs,
        rate,
        *(stats.by_reason[reason] for reason in HandoffReason),
        duration_zh(stats.first_reply_median_seconds),
        duration_zh(stats.first_reply_p90_seconds),
        duration_zh(stats.resolution_median_seconds),
        rating,
        stats.abandoned,
    ]
    return f'<tr><th scope="row">{e(label)}</th>' + "".join(f"<td>{e(cell)}</td>" for cell in cells) + "</tr>"


# -- SVG charts -----------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 12, 28, 42
DEFAULT_COLOUR = "#2563eb"


def _nice_top(value: float) -> float:
    """A round upper end of the value axis, at least ``value``."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _label_every(count: int) -> int:
    return max(1, math.ceil(count / 15))


def _svg(chart_id: str, title: str, inner: str, description: str) -> str:
    return (
        f'<svg class="chart-svg" id="{e(chart_id)}" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'aria-labelledby="{e(chart_id)}-title {e(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{e(chart_id)}-title">{e(title)}</title><desc id="{e(chart_id)}-desc">{e(description)}</desc>'
        f'<text x="{PLOT_LEFT}" y="16" class="chart-title" font-size="14" fill="#111827">{e(title)}</text>'
        f"{inner}</svg>"
    )


def _axes(top: float, fmt) -> str:
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    bottom = CHART_HEIGHT - PLOT_BOTTOM
    parts = []
    for fraction in (0, 0.5, 1):
        y = bottom - fraction * plot_height
        parts.append(
            f'<line x1="{PLOT_LEFT}" x2="{CHART_WIDTH - PLOT_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text x="{PLOT_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#6b7280">{e(fmt(top * fraction))}</text>'
        )
    return "".join(parts)


def _x_labels(labels: Sequence[str], slot: float) -> str:
    every = _label_every(len(labels))
    y = CHART_HEIGHT - PLOT_BOTTOM + 16
    return "".join(
        f'<text x="{PLOT_LEFT + slot * (index + 0.5):.1f}" y="{y}" text-anchor="middle" '
        f'font-size="11" fill="#374151">{e(label)}</text>'
        for index, label in enumerate(labels)
        if index % every == 0 or index == len(labels) - 1
    )


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[Optional[float]],
    fmt,
    top: Optional[float] = None,
    colours: Optional[Sequence[str]] = None,
) -> str:
    """Bars with their value written above; None: no bar, "-" written."""
    present = [value for value in values if value is not None]
    top = top or _nice_top(max(present, default=0))
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    bottom = CHART_HEIGHT - PLOT_BOTTOM
    slot = plot_width / max(1, len(values))
    width = max(2.0, slot * 0.6)
    show_values = len(values) <= 31
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        x = PLOT_LEFT + slot * index + (slot - width) / 2
        shown = "-" if value is None else fmt(value)
        if value is not None:
            height = plot_height * min(value, top) / top
            colour = colours[index] if colours else DEFAULT_COLOUR
            bars.append(
                f'<rect x="{x:.1f}" y="{bottom - height:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill="{e(colour)}" data-value="{e(shown)}"><title>{e(label)}：{e(shown)}</title></rect>'
            )
        if show_values:
            y = bottom - (plot_height * min(value, top) / top if value is not None else 0) - 4
            bars.append(
                f'<text x="{x + width / 2:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
                f'fill="#111827" class="bar-value">{e(shown)}</text>'
            )
    description = "；".join(
        f"{label}：{'-' if value is None else fmt(value)}" for label, value in zip(labels, values, strict=False)
    )
    return _svg(chart_id, title, _axes(top, fmt) + "".join(bars) + _x_labels(labels, slot), description)


def stacked_bar_chart(
    chart_id: str, title: str, labels: Sequence[str], stacks: Sequence[Sequence[int]], series: Sequence[Tuple[str, str]]
) -> str:
    """One bar per label, its parts in the colours of ``series`` (name, colour), total above."""
    totals = [sum(stack) for stack in stacks]
    top = _nice_top(max(totals, default=0))
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    bottom = CHART_HEIGHT - PLOT_BOTTOM
    slot = plot_width / max(1, len(stacks))
    width = max(2.0, slot * 0.6)
    parts = []
    for index, (label, stack) in enumerate(zip(labels, stacks, strict=False)):
        x = PLOT_LEFT + slot * index + (slot - width) / 2
        y = float(bottom)
        for (name, colour), value in zip(series, stack, strict=False):
            if not value:
                continue
            height = plot_height * value / top
            y -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill="{e(colour)}"><title>{e(label)} {e(name)}：{value}</title></rect>'
            )
        if len(stacks) <= 31:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" '
                f'fill="#111827" class="bar-value">{totals[index]}</text>'
            )
    description = "；".join(f"{label}：{total}" for label, total in zip(labels, totals, strict=False))
    return _svg(
        chart_id, title, _axes(top, lambda value: f"{value:g}") + "".join(parts) + _x_labels(labels, slot), description
    )


def legend(series: Sequence[Tuple[str, str]]) -> str:
    """The key of a stacked chart: (name, CSS class suffix) pairs."""
    return (
        '<ul class="legend">'
        + "".join(
            f'<li><span class="swatch swatch-{e(key)}" aria-hidden="true"></span>{e(name)}</li>' for name, key in series
        )
        + "</ul>"
    )
