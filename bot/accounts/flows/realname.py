"""realname (实名认证失败): why the real-name check failed, and what to do.

Verification -> the diagnosis (``diagnosis.diagnose_realname``, remembered in
flow_data "diagnosed") -> when a manual review is the way: both photos -> the
review is opened and the account shows 实名认证审核中.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from bot.accounts import diagnosis
from bot.accounts.diagnosis import RealnameNext
from bot.accounts.flows.base import Context, Outcome
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.prompts import APPEAL, HUMAN, button
from bot.accounts.flows.verification import Steps, verification_findings
from bot.accounts.labels import realname_state_label
from bot.accounts.models import RealnameState
from bot.language import tr

PHOTO_SLOTS = ("photo_front", "photo_back")
# The diagnosis in words, for the agent.
DIAGNOSES = {
    RealnameNext.NOTHING: "诊断：实名认证已经通过，不需要处理",
    RealnameNext.WAIT: "诊断：人工审核正在进行中，已告诉用户等待结果",
    RealnameNext.FIX_FIELDS: "诊断：账号里的实名信息要补全或重新保存，系统才会核验",
    RealnameNext.OTHER_ACCOUNT: "诊断：这个证件已在另一个账号上实名，应找回那个账号",
    RealnameNext.UPLOAD: "诊断：需要上传证件照片做人工审核",
    RealnameNext.HUMAN: "诊断：人工审核已两次未通过，需要人工客服看一下材料",
}


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    account_id = steps.account_in_question(ctx)
    if account_id is None:
        return steps.needs_verification(ctx)
    if not ctx.data.get("diagnosed"):
        account = steps.service.account(account_id)
        holders = steps.service.document_holders(account.doc_number) if account.doc_number else []
        result = diagnosis.diagnose_realname(account, holders, steps.today(), ctx.language)
        ctx.remember(diagnosed=result.next.value)
        buttons = {
            RealnameNext.HUMAN: [button(*HUMAN, ctx.language)],
            RealnameNext.OTHER_ACCOUNT: [button(*APPEAL, ctx.language)],
        }.get(result.next)
        for finding in result.findings[:-1]:
            outcome.say(finding)
        outcome.say(result.findings[-1], buttons)
    if ctx.data["diagnosed"] != RealnameNext.UPLOAD.value:
        return None
    for slot in PHOTO_SLOTS:
        if not ctx.slots.get(slot):
            return slot
    steps.service.open_review(account_id, ctx.slots["photo_front"], ctx.slots["photo_back"], ctx.sender_id)
    outcome.say(
        tr(
            "flows.review_opened",
            ctx.language,
            state=realname_state_label(RealnameState.IN_REVIEW, ctx.language),
            review=diagnosis.review_duration(ctx.language),
        )
    )
    return None


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    words = verification_findings(flow_data)
    diagnosed = flow_data.get("diagnosed")
    if isinstance(diagnosed, str) and diagnosed in DIAGNOSES:  # RealnameNext is a str enum
        words.append(DIAGNOSES[RealnameNext(diagnosed)])
    return words


REALNAME = Flow(
    intent="realname_failed",
    next_step=next_step,
    given_values=(("account_ref", ("login_name", "id_number")),),
    findings=findings,
)
