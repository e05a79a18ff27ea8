"""reset (忘记密码): login name -> code to the reserved phone -> a one-time reset link.

The link is valid for ``RESET_LINK_LIFETIME`` and opens the project's own
page, which checks ``PASSWORD_RULE``; the password never travels through the
chat.  The page is Chinese; the English message says what is on it.  No
login name, or no reserved phone: the appeal.  An unknown login name gets
the same answer as a known one (verification.py): the code never comes.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from bot.accounts import checks
from bot.accounts.checks import InvalidInput, password_rule
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import Steps, looks_like_value, verification_findings
from bot.accounts.masking import mask_login_name
from bot.accounts.service import RESET_LINK_LIFETIME, minutes_of
from bot.language import tr


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    account_id = steps.account_in_question(ctx)
    if account_id is None:
        return steps.needs_verification(ctx)
    account = steps.service.account(account_id)
    link = steps.service.create_reset_link(account_id, actor=f"assistant:{ctx.sender_id}")
    outcome.say(
        tr(
            "flows.reset_link",
            ctx.language,
            minutes=minutes_of(RESET_LINK_LIFETIME),
            login=mask_login_name(account.login_name),
            link=link,
            rule=password_rule(ctx.language),
        )
    )
    return None


def lookup(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """The login name (only a login name: a number means the user does not know it)."""
    if looks_like_value(turn.text) and not re.fullmatch(r"\w+", checks.normalise(turn.text), re.ASCII):
        raise InvalidInput.of("flows.reset_needs_login_name")
    login_name = checks.parse_login_name(turn.text)
    steps.take_lookup(ctx)
    # Found or not, the same answer (a code "if the account exists"): nothing tells which.
    steps.start_verification(ctx, steps.service.account_by_login(login_name), outcome, purpose="reset")


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    return verification_findings(flow_data, looked_up_by="登录名", found="已按登录名找到账号")


RESET = Flow(
    intent="forgot_password",
    next_step=next_step,
    lookup=lookup,
    given_values=(("account_ref", ("login_name",)),),
    findings=findings,
)
