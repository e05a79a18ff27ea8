"""registered_id / registered_unit (证件已被注册 / 单位已被注册): whose account holds it.

A document number, or a unit name / credit code -> a code to the holding
account's reserved phone -> its masked login name, kind and phone, with the
reset button (the reset then needs no second code); a former unit name: the
rename advice, after the code too.  Nobody holds it: the same answer as when
somebody does (a code "if the account exists"), and the code never comes.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from bot.accounts import checks
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.prompts import RESET, button
from bot.accounts.flows.verification import Steps, verification_findings
from bot.accounts.labels import kind_holder_label
from bot.accounts.masking import mask_login_name, mask_phone
from bot.language import tr


def _show_holder(steps: Steps, ctx: Context, outcome: Outcome, what: str) -> Optional[str]:
    """Once verified: the account that holds the document or the unit (``what``: the catalogue key of the word)."""
    account_id = steps.account_in_question(ctx)
    if account_id is None:
        return steps.needs_verification(ctx)
    account = steps.service.account(account_id)
    if ctx.data.get("renamed"):
        outcome.say(tr("flows.former_unit_name", ctx.language))
    outcome.say(
        tr(
            "flows.holder",
            ctx.language,
            what=tr(what, ctx.language),
            kind=kind_holder_label(account.kind, ctx.language),
            login=mask_login_name(account.login_name),
            phone=mask_phone(account.phone),
        ),
        [button(*RESET, ctx.language)],
    )
    return None


def next_step_id(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    return _show_holder(steps, ctx, outcome, "flows.what_document")


def next_step_unit(steps: Steps, ctx: Context, outcome: Outcome) -> Optional[str]:
    return _show_holder(steps, ctx, outcome, "flows.what_unit")


def lookup_id(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """A mainland ID number (checked) or another document's number."""
    text = checks.normalise(turn.text)
    number = (
        checks.parse_mainland_id(text)
        if re.fullmatch(r"\d{15,}[\dXx]?", text)
        else checks.parse_document_number(text, None)
    )
    steps.take_lookup(ctx)
    holders = steps.service.document_holders(number)
    steps.start_verification(ctx, holders[0] if holders else None, outcome)


def lookup_unit(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """A credit code, or a unit name (current or former)."""
    text = checks.normalise(turn.text).upper()
    if re.fullmatch(r"[0-9A-Z]{18}", text):
        reference = checks.parse_credit_code(text)
    else:
        reference = checks.parse_unit_name(turn.text)
    steps.take_lookup(ctx)
    matches = steps.service.find_units(reference)
    if not matches:
        steps.start_verification(ctx, None, outcome)
        return
    # A former name is told after verification (_show_holder): before, it would tell the unit exists.
    ctx.remember(renamed=matches[0].matched_former_name)
    steps.start_verification(ctx, steps.service.account(matches[0].account_id), outcome)


def findings_id(flow_data: Mapping[str, Any]) -> List[str]:
    return verification_findings(flow_data, looked_up_by="证件号码", found="已找到登记了这个证件号码的账号")


def findings_unit(flow_data: Mapping[str, Any]) -> List[str]:
    return verification_findings(flow_data, looked_up_by="单位名称或信用代码", found="已找到这个单位的账号")


REGISTERED_ID = Flow(
    intent="id_already_registered",
    next_step=next_step_id,
    lookup=lookup_id,
    given_values=(("account_ref", ("id_number",)),),
    findings=findings_id,
)
REGISTERED_UNIT = Flow(
    intent="unit_already_registered",
    next_step=next_step_unit,
    lookup=lookup_unit,
    given_values=(("account_ref", ("credit_code",)),),
    findings=findings_unit,
)
