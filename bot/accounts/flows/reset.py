"""reset (忘记密码): login name -> code to the reserved phone -> a one-time reset link.

The link is valid for ``RESET_LINK_LIFETIME`` and opens the project's own
page, which checks ``PASSWORD_RULE``; the password never travels through the
chat.  No login name, or no reserved phone: the appeal.  An unknown login name
gets the same answer as a known one (verification.py): the code never comes.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from bot.accounts import checks
from bot.accounts.checks import PASSWORD_RULE, InvalidInput
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import Steps, looks_like_value, verification_findings
from bot.accounts.masking import mask_login_name
from bot.accounts.service import RESET_LINK_LIFETIME, minutes_of


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    account_id = steps.account_in_question(ctx)
    if account_id is None:
        return steps.needs_verification(ctx)
    account = steps.service.account(account_id)
    link = steps.service.create_reset_link(account_id, actor=f"assistant:{ctx.sender_id}")
    outcome.say(
        f"请在 {minutes_of(RESET_LINK_LIFETIME)} 分钟内打开下面的链接，"
        f"为账号 {mask_login_name(account.login_name)} 设置新密码（链接只能用一次）：\n{link}\n"
        f"{PASSWORD_RULE}密码只在那个页面上输入，请不要发在对话里。"
    )
    return None


def lookup(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """The login name (only a login name: a number means the user does not know it)."""
    if looks_like_value(turn.text) and not re.fullmatch(r"\w+", checks.normalise(turn.text), re.ASCII):
        raise InvalidInput("重置密码需要的是登录名。登录名忘了，请说“忘记登录名”，我带您申诉找回。")
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
