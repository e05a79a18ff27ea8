"""appeal_status (我的申诉进度): the states of the user's appeals.

This conversation's appeals are shown at once (``begin``); otherwise a phone
or document number -> a code to the phone the appeal gave -> each appeal's
state, with the reason of a rejection.  No appeal with that number: the same
answer, and the code never comes.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Sequence

from bot import SUPPORT_PHONE
from bot.accounts import checks
from bot.accounts.diagnosis import review_duration
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import FINISHED, HIDDEN_PHONE, NO_PHONE, Steps
from bot.accounts.labels import decision_label
from bot.accounts.masking import mask_phone
from bot.accounts.models import Appeal, Decision
from bot.accounts.service import CODE_LIFETIME, REVIEW_WORKING_DAYS, minutes_of
from bot.language import tr
from bot.timezones import shown_time

SHOWN_APPEALS = 5


def begin(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> bool:
    """Once per flow: this conversation's own appeals, shown at once (True: nothing more to ask)."""
    if ctx.data.get("started"):
        return False
    ctx.remember(started=True)
    appeals = steps.service.appeals_for(sender_id=turn.sender_id)
    if appeals:
        outcome.say(appeal_lines(appeals, ctx.language))
    return bool(appeals)


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    if not ctx.data.get("appeal_phone"):
        return "account_ref"
    if not ctx.data.get("code_ok"):
        return "verification_code"
    outcome.say(appeal_lines(steps.service.appeals_for(phone=ctx.data["appeal_phone"]), ctx.language))
    return None


def lookup(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """The appeals filed with a phone or a document number; the code goes to the appeal's phone."""
    text = checks.normalise(turn.text)
    by_phone = re.fullmatch(r"\+?\d{11,13}", text)
    reference = checks.parse_phone(text) if by_phone else text.upper()
    steps.take_lookup(ctx)
    appeals = (
        steps.service.appeals_for(phone=reference) if by_phone else steps.service.appeals_for(doc_number=reference)
    )
    # Found or not, the same answer: whether anyone appealed with a number is told after the code only.
    phone = appeals[0].phone if appeals else None
    ctx.remember(appeal_phone=phone or NO_PHONE, code_phone=phone or NO_PHONE, purpose="appeal_status", hidden=True)
    steps.send_code(
        ctx,
        outcome,
        phone,
        "appeal_status",
        tr(
            "flows.appeal_status_code_sent",
            ctx.language,
            phone=HIDDEN_PHONE,
            minutes=minutes_of(CODE_LIFETIME),
            days=REVIEW_WORKING_DAYS,
            support=SUPPORT_PHONE,
        ),
        quiet=True,
    )


def appeal_lines(appeals: Sequence[Appeal], language: str) -> str:
    lines = []
    for appeal in appeals[:SHOWN_APPEALS]:
        rejected = appeal.reason and appeal.state == Decision.REJECTED
        lines.append(
            tr(
                "flows.appeal_line",
                language,
                number=appeal.number,
                time=shown_time(appeal.created_at, language=language),
                state=decision_label(appeal.state, language),
                reason=tr("flows.appeal_reason", language, reason=appeal.reason) if rejected else "",
            )
        )
    return tr("flows.appeal_lines", language, lines="\n".join(lines), review=review_duration(language))


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    words = []
    if flow_data.get("started"):  # had this conversation filed any, they would have ended the flow
        words.append("这次对话里没有提交过申诉")
    phone = flow_data.get("appeal_phone")
    if phone == NO_PHONE:
        words.append("按用户给的号码没有查到申诉（用户看到的回答和查到时一样，验证码没有发出）")
    elif phone:
        words.append(f"已找到用户的申诉，申诉时填写的手机 {mask_phone(phone)}")
        if flow_data.get("code_ok"):
            words.append("申诉手机的短信验证码已通过")
        else:
            words.append("验证码已发往申诉手机，还没有验证通过")
    if flow_data.get("finished"):
        words.append(FINISHED)
    return words


APPEAL_STATUS = Flow(
    intent="appeal_status",
    begin=begin,
    next_step=next_step,
    lookup=lookup,
    given_values=(("account_ref", ("phone", "id_number")),),
    findings=findings,
)
