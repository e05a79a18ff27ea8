"""torch (查一下火炬中心的账号): an account migrated from the Torch centre.

A credit code or phone -> a code to the account's reserved phone -> which of
the four migration cases applies (``diagnosis.torch_explanation``): the login
window and the masked login name.  Nothing migrated under that number: the
same answer, and the code never comes.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from bot.accounts import checks, diagnosis
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import Steps, verification_findings


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    account_id = steps.account_in_question(ctx)
    if account_id is None:
        return steps.needs_verification(ctx)
    account = steps.service.account(account_id)
    outcome.say(diagnosis.torch_explanation(account, ctx.language))
    return None


def lookup(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """A phone (personal accounts) or a credit code (enterprises)."""
    text = checks.normalise(turn.text).upper()
    key = checks.parse_phone(text) if re.fullmatch(r"\+?\d[\d\-]{8,}", text) else checks.parse_credit_code(text)
    steps.take_lookup(ctx)
    accounts = steps.service.torch_accounts(key)
    steps.start_verification(ctx, accounts[0] if accounts else None, outcome)


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    return verification_findings(flow_data, looked_up_by="信用代码或手机号", found="已找到从火炬中心迁移过来的账号")


TORCH = Flow(
    intent="torch_lookup",
    next_step=next_step,
    lookup=lookup,
    given_values=(("account_ref", ("credit_code", "phone")),),
    findings=findings,
)
