"""What the assistant does when a person is needed: why, what the agent should
know (the summary), and what the user is told.  Used by ``actions/handoff.py``
(the request) and ``bot/channels/handoff_bridge.py`` (rating and return); no Rasa here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from bot import SUPPORT_EMAIL, SUPPORT_PHONE
from bot.accounts.flows import FLOW_OF_INTENT, findings_of
from bot.accounts.masking import mask_login_name, mask_phone
from bot.accounts.service import AccountService
from bot.handoff.hours import ServiceHours
from bot.handoff.models import HandoffReason
from bot.handoff.service import HandoffService, HandoffView
from bot.store import NotFound
from bot.topics import CORE_TOPICS

CANCEL_BUTTON = {"title": "取消，回到助手", "payload": "/cancel_handoff"}
RATING_PAYLOAD = re.compile(r"^/rate_handoff\s*([0-9]+)$")
RATING_BUTTONS = [{"title": f"{stars} 分", "payload": f"/rate_handoff {stars}"} for stars in range(5, 0, -1)]
FLOW_PROBLEMS = {flow: CORE_TOPICS.get(intent, intent) for intent, flow in FLOW_OF_INTENT.items()}
CONTACTS = f"平台技术支持电话 {SUPPORT_PHONE}，邮箱 {SUPPORT_EMAIL}"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: Optional[List[Dict[str, str]]] = None


def reason_of(
    latest_intent: Optional[str],
    clarification_slot: Optional[str],
    previous_bot_buttons: List[Dict[str, Any]],
    flow_was_running: bool,
) -> HandoffReason:
    """Why the conversation goes to a person, from what came just before."""
    if latest_intent == "negative_feedback":
        return HandoffReason.NEGATIVE_FEEDBACK
    if clarification_slot == "offer_human":
        return HandoffReason.MISUNDERSTOOD
    offered_a_person = any(button.get("payload") == "/request_human" for button in previous_bot_buttons)
    if flow_was_running and offered_a_person:
        return HandoffReason.FLOW_DEAD_END
    return HandoffReason.USER_REQUEST


def summary_of(
    slots: Dict[str, Any], user_texts: List[str], latest_intent: Optional[str], accounts: AccountService
) -> Dict[str, Any]:
    """The agent's first look: the problem, what was checked and found, who it is (masked)."""
    flow = slots.get("flow")
    problem = FLOW_PROBLEMS.get(flow or "") or CORE_TOPICS.get(latest_intent or "") or "用户要求人工客服"
    summary: Dict[str, Any] = {"problem": problem, "identity": _identity(slots.get("verified_account"), accounts)}
    flow_data = slots.get("flow_data") or {}
    if flow:
        summary["flow"] = FLOW_PROBLEMS.get(flow, flow)
    checked = findings_of(flow, flow_data)  # in words: flow_data's keys are the engine's own
    if checked:
        summary["checked"] = checked
    summary["last_messages"] = [text for text in user_texts if text and not text.startswith("/")][-5:]
    return summary


def _identity(verified: Optional[str], accounts: AccountService) -> str:
    if not verified:
        return "未验证身份"
    account_id = verified.partition("|")[0]
    try:
        account = accounts.account(int(account_id))
    except (NotFound, ValueError):
        return "未验证身份"
    kind = "单位账号" if account.kind.value == "legal" else "个人账号"
    return (
        f"已验证：{kind} {mask_login_name(account.login_name)}，预留手机 {mask_phone(account.phone)}，"
        f"实名状态 {account.realname_state.value}"
    )


def queued_reply(handoffs: HandoffService, handoff: HandoffView, hours: ServiceHours, now: datetime) -> Reply:
    """Tells the user a person is coming: their place and an estimate, or when outside hours."""
    if not hours.in_service(now):
        return Reply(
            "好的，已为您转人工客服。现在不在人工服务时间（"
            + hours.describe()
            + "），您的留言已经保存，"
            + hours.next_opening_phrase(now)
            + "，客服上班后会按顺序回复您，届时在这里就能看到。\n"
            "您可以继续留言说明情况；想先回到助手，点下面的按钮。急事请联系" + CONTACTS + "。",
            [CANCEL_BUTTON],
        )
    position = handoffs.position(handoff.id) or 1
    ahead = "前面没有人排队" if position == 1 else f"前面还有 {position - 1} 位"
    return Reply(
        f"好的，正在为您转接人工客服，{ahead}，预计等待约 {handoffs.estimated_wait_minutes(position)} 分钟。\n"
        "客服接入前您可以继续留言说明情况，客服都能看到；想先回到助手，点下面的按钮。",
        [CANCEL_BUTTON],
    )


BACK_TO_ASSISTANT = Reply(
    "人工客服已结束本次服务，接下来由我继续为您服务。\n" "请为这次人工服务打个分（5 分最满意）：", RATING_BUTTONS
)
CANCELLED = Reply("已取消人工排队，继续由我为您服务。请直接描述您的问题。")


def rating_of(text: str) -> Optional[int]:
    match = RATING_PAYLOAD.match((text or "").strip())
    return int(match.group(1)) if match else None


def thanks_for(rating: int) -> Reply:
    if rating <= 2:
        return Reply(
            f"收到您的 {rating} 分评价，抱歉这次没能让您满意，我们会改进。还有问题可以继续问我，" "或再次转人工。"
        )
    return Reply(f"感谢您的 {rating} 分评价！还有其他问题可以继续问我。")
