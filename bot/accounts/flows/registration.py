"""registration (the button under the garbled-page answer): did the registration go through?

A login name or document number -> registered or not.  Existence only, as the
platform's own search shows it: no code, nothing of the account.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.verification import FINISHED, Steps, parse_reference


def next_step(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    return None if ctx.slots.get("account_ref") else "account_ref"


def lookup(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    reference = parse_reference(turn.text)
    if steps.service.registration_exists(reference):
        outcome.say(
            "查到了：这个账号已经注册成功，最后一步的乱码不影响注册结果，直接登录即可" "（建议用最新版谷歌浏览器）。"
        )
    else:
        outcome.say("没有查到这个登录名或证件号码的账号，说明注册没有完成。请换用最新版谷歌浏览器重新注册。")


def findings(flow_data: Mapping[str, Any]) -> List[str]:
    # The lookup leaves nothing in flow_data: the flow ends with its answer.
    return [FINISHED] if flow_data.get("finished") else []


REGISTRATION = Flow(
    intent="check_registration",
    next_step=next_step,
    lookup=lookup,
    given_values=(("account_ref", ("login_name", "id_number")),),
    findings=findings,
)
