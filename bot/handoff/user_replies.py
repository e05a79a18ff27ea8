"""What the assistant tells the user around a handoff: the agent it was
assigned to, the place in the queue, or the service hours when it is outside
them or nobody of the team is online (``queued_reply``), the return to the assistant with the
rating buttons, the cancellation, and the thanks for a rating (``rating_of``
reads it).  Used by ``actions/handoff.py`` (the request) and
``bot/channels/handoff_bridge.py`` (rating and return); no Rasa here.  What
the agent is handed is ``bot.handoff.request_summary``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from bot import SUPPORT_EMAIL, SUPPORT_PHONE
from bot.handoff.hours import ServiceHours
from bot.handoff.models import HandoffState
from bot.handoff.service import HandoffService, HandoffView

CANCEL_BUTTON = {"title": "取消，回到助手", "payload": "/cancel_handoff"}
RATING_PAYLOAD = re.compile(r"^/rate_handoff\s*([0-9]+)$")
RATING_BUTTONS = [{"title": f"{stars} 分", "payload": f"/rate_handoff {stars}"} for stars in range(5, 0, -1)]
CONTACTS = f"平台技术支持电话 {SUPPORT_PHONE}，邮箱 {SUPPORT_EMAIL}"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: Optional[List[Dict[str, str]]] = None


def queued_reply(handoffs: HandoffService, handoff: HandoffView, hours: ServiceHours, now: datetime) -> Reply:
    """Tells the user a person is coming: who (auto-assigned), when (outside hours, or
    nobody of the team online: the service hours at once), or their place and an estimate."""
    if handoff.state == HandoffState.ASSIGNED:
        return Reply(f"好的，已为您接入人工客服 {handoff.agent_name}，请直接向客服说明您的情况。")
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
    if not handoffs.available_agents(handoff.team_id):
        return Reply(
            "好的，已为您转人工客服。"
            + (f"负责这类问题的{handoff.team_name}客服" if handoff.team_name else "客服")
            + "现在都不在线，您的留言已经保存，客服上线后会按顺序回复您，届时在这里就能看到"
            "（人工服务时间：" + hours.describe() + "）。\n"
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
