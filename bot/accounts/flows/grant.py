"""grant (没有权限): why the user cannot enter a system, and a nudge to the unit's admin.

Verification -> which system -> the diagnosis (``diagnosis.diagnose_grant``;
what the admin should grant is remembered in flow_data "request") -> when a
grant is missing: offer to text the unit's admin -> an SMS to the legal
account's reserved phone.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from bot.accounts import diagnosis
from bot.accounts.flows.base import Context, Outcome
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import Steps, verification_findings
from bot.accounts.systems import parse_system, role_name
from bot.language import tr


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    account_id = steps.account_in_question(ctx)
    if account_id is None:
        return steps.needs_verification(ctx)
    if not ctx.slots.get("system_name"):
        return "system_name"
    if "request" not in ctx.data:
        account = steps.service.account(account_id)
        system = parse_system(ctx.slots["system_name"])
        result = diagnosis.diagnose_grant(account, system, steps.today(), ctx.language)
        for finding in result.findings:
            outcome.say(finding)
        ctx.remember(request=result.request.__dict__ if result.request else None)
    if not ctx.data["request"]:
        return None
    if not ctx.slots.get("confirm_request"):
        return "confirm_request"
    if ctx.slots["confirm_request"] == "yes":
        request = ctx.data["request"]
        masked = steps.service.request_grant(
            account_id,
            request["unit_id"],
            parse_system(ctx.slots["system_name"]).name,
            request["role"],
            steps.requester(ctx),
        )
        outcome.say(
            tr("flows.grant_sms_sent", ctx.language, phone=masked, role=role_name(request["role"], ctx.language))
        )
    else:
        outcome.say(tr("flows.grant_no_sms", ctx.language))
    return None


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    words = verification_findings(flow_data)
    if "request" in flow_data:
        request = flow_data["request"]
        if isinstance(request, Mapping):
            words.append(f"诊断：需要“{request.get('unit_name')}”的管理员授予“{request.get('role')}”角色")
        else:
            words.append("诊断：原因和办法已告诉用户，不需要给单位管理员发短信")
    return words


GRANT = Flow(
    intent="missing_grant",
    next_step=next_step,
    given_values=(("account_ref", ("login_name", "id_number")), ("system_name", ("system",))),
    findings=findings,
)
