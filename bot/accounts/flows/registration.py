"""registration (the button under the garbled-page answer): did the registration go through?

A login name or document number -> a code to the account's reserved phone
"if the account exists" -> registered.  Whether a login name or document is
registered is told only after the code, like everything about an account: a
registration that did not go through gets the same answer, and the code never
comes (the answer says what that means).
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import Steps, parse_reference, verification_findings
from bot.language import tr


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    if steps.account_in_question(ctx) is None:
        return steps.needs_verification(ctx)
    outcome.say(tr("flows.registration_done", ctx.language))
    return None


def lookup(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    reference = parse_reference(turn.text)
    steps.take_lookup(ctx)
    accounts = steps.service.accounts_for_reference(reference)
    steps.start_verification(ctx, accounts[0] if accounts else None, outcome, purpose="registration")
    outcome.say(tr("flows.registration_no_code", ctx.language))


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    return verification_findings(flow_data, looked_up_by="登录名或证件号码", found="已找到注册的账号")


REGISTRATION = Flow(
    intent="check_registration",
    next_step=next_step,
    lookup=lookup,
    given_values=(("account_ref", ("login_name", "id_number")),),
    findings=findings,
)
