"""appeal (忘记登录名, 手机号不用了): the account is found again by a person's review.

个人 or 单位 -> natural: name, document type, number, new phone; legal: unit
name (current or former: a former name is the rename case with its own
documents), main agent's name, phone -> front and back photos -> a code to the
new phone (it must receive the result) -> the appeal is filed; the review
takes ``REVIEW_WORKING_DAYS`` (``diagnosis.review_duration``).
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from bot.accounts.diagnosis import review_duration
from bot.accounts.flows.base import Context, Outcome
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import Steps, verification_findings
from bot.accounts.masking import mask_phone
from bot.accounts.models import AccountKind
from bot.accounts.service import AppealDraft
from bot.language import tr

NATURAL_SLOTS = ("person_name", "doc_type", "doc_number", "phone", "photo_front", "photo_back")
LEGAL_SLOTS = ("unit_name", "person_name", "phone", "photo_front", "photo_back")


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    order = ["account_kind"]
    if ctx.slots["account_kind"] == AccountKind.LEGAL.value:
        order += LEGAL_SLOTS
    elif ctx.slots["account_kind"] == AccountKind.NATURAL.value:
        order += NATURAL_SLOTS
    missing = next((slot for slot in order if not ctx.slots.get(slot)), None)
    if missing:
        return missing
    if not ctx.data.get("code_ok"):
        if not ctx.data.get("code_phone"):
            phone = ctx.slots["phone"]
            ctx.remember(code_phone=phone, purpose="appeal")
            steps.send_code(
                ctx,
                outcome,
                phone,
                "appeal",
                tr("flows.appeal_code_sent", ctx.language, phone=mask_phone(phone)),
            )
        return "verification_code"
    file_appeal(steps, ctx, outcome)
    return None


def file_appeal(steps: Steps, ctx: Context, outcome: Outcome) -> None:
    kind = AccountKind(ctx.slots["account_kind"])
    draft = AppealDraft(
        kind=kind,
        phone=ctx.slots["phone"],
        front_upload_id=ctx.slots["photo_front"],
        back_upload_id=ctx.slots["photo_back"],
        person_name=ctx.slots["person_name"],
        doc_type=ctx.slots["doc_type"],
        doc_number=ctx.slots["doc_number"],
        unit_id=ctx.data.get("unit_id"),
        unit_name=ctx.slots["unit_name"],
        renamed=bool(ctx.data.get("renamed")),
    )
    appeal = steps.service.create_appeal(draft, ctx.sender_id)
    outcome.say(
        tr(
            "flows.appeal_filed",
            ctx.language,
            number=appeal.number,
            review=review_duration(ctx.language),
            phone=mask_phone(appeal.phone),
        )
    )


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    words = []
    if flow_data.get("unit_id"):
        words.append("已按单位名称找到单位账号")
    if flow_data.get("renamed"):
        words.append("用户给的是单位改名前的名称，按改名申诉办理（需要加盖公章的复印件和单位名称变更声明）")
    return words + verification_findings(flow_data, looked_up_by="单位名称", confirmed="新手机号能收到审核结果")


APPEAL = Flow(
    intent="forgot_login_name",
    next_step=next_step,
    given_values=(("doc_type", ("doc_type",)), ("doc_number", ("id_number",))),
    findings=findings,
)
