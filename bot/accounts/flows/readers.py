"""The readers of the form's answers: slot -> the function that reads its answer.

Contract: ``READERS`` has one reader for every slot of ``FLOW_SLOTS``.  A
reader ``(steps, ctx, turn, outcome)`` sets its slot (and flow_data), may say
something, and raises ``InvalidInput`` with the reason when the answer cannot
be used (the engine says it, in the conversation's language, and asks again).
Answers are read in either language: the Chinese words, the buttons' Chinese
payloads, and the English words a user of the English conversation types.  The ``account_ref`` answer is
read by the running flow's own lookup (``Flow.lookup``), or by the shared
``verification.lookup_account``.
"""

from __future__ import annotations

import re
from typing import Dict

from bot.accounts import checks
from bot.accounts.checks import InvalidInput
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.flow import Reader
from bot.accounts.flows.table import FLOWS
from bot.accounts.flows.verification import Steps, lookup_account, take_verification_code
from bot.accounts.models import AccountKind
from bot.accounts.systems import parse_system


def take_account_ref(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    flow = FLOWS.get(ctx.flow)
    lookup = flow.lookup if flow is not None and flow.lookup is not None else lookup_account
    lookup(steps, ctx, turn, outcome)
    ctx.set("account_ref", "given")


LEGAL_WORDS = re.compile(
    r"单位|法人|公司|企业|机构|\b(?:unit|company|organi[sz]ation|legal|enterprise|institute|institution|employer)\b",
    re.I,
)
NATURAL_WORDS = re.compile(r"个人|自然人|自己|本人|\b(?:personal|individual|natural|private|myself|my own)\b", re.I)


def take_account_kind(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    text = checks.normalise(turn.text)
    said = (text, turn.text or "")  # English words by their word boundaries, in the text as typed
    if any(LEGAL_WORDS.search(version) for version in said):
        ctx.set("account_kind", AccountKind.LEGAL.value)
    elif any(NATURAL_WORDS.search(version) for version in said):
        ctx.set("account_kind", AccountKind.NATURAL.value)
    else:
        raise InvalidInput.of("flows.kind_invalid")


def take_person_name(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    ctx.set("person_name", checks.parse_person_name(turn.text))


def take_doc_type(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    ctx.set("doc_type", checks.parse_document_type(turn.text).name)


def take_doc_number(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    ctx.set("doc_number", checks.parse_document_number(turn.text, ctx.slots["doc_type"]))


def take_phone(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    ctx.set("phone", checks.parse_phone(turn.text))


def take_unit_name(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """The unit's name, current or former, taken as given: whether a unit has that name is for the
    reviewer (flow_data "unit_id", and "renamed" for a former name), never told before verification."""
    name = checks.parse_unit_name(turn.text)
    steps.take_lookup(ctx)
    matches = steps.service.find_units(name)
    ctx.set("unit_name", name)
    if matches:
        ctx.remember(unit_id=matches[0].unit_id, renamed=matches[0].matched_former_name)


def _take_photo(steps: Steps, ctx: Context, turn: Turn, slot: str) -> None:
    upload_id = turn.metadata.get("upload_id")
    if not upload_id:
        raise InvalidInput.of("flows.photo_needed")
    upload = steps.service.upload_of_sender(str(upload_id), turn.sender_id)
    if upload.id in (ctx.slots.get("photo_front"), ctx.slots.get("photo_back")):
        raise InvalidInput.of("flows.photo_repeated")
    ctx.set(slot, upload.id)


def take_photo_front(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    _take_photo(steps, ctx, turn, "photo_front")


def take_photo_back(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    _take_photo(steps, ctx, turn, "photo_back")


def take_system_name(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    ctx.set("system_name", parse_system(turn.text).key)


def take_confirm_request(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    text = checks.normalise(turn.text)
    if turn.intent == "affirm" or re.search(r"^(好|是|要|可以|发|行|嗯|ok|yes|yeah|yep|sure|send|please)", text, re.I):
        ctx.set("confirm_request", "yes")
    elif turn.intent == "deny" or re.search(r"^(不|别|算了|no|don'?t|dont)", text, re.I):
        ctx.set("confirm_request", "no")
    else:
        raise InvalidInput.of("flows.confirm_invalid")


READERS: Dict[str, Reader] = {
    "account_kind": take_account_kind,
    "account_ref": take_account_ref,
    "verification_code": take_verification_code,
    "person_name": take_person_name,
    "doc_type": take_doc_type,
    "doc_number": take_doc_number,
    "phone": take_phone,
    "unit_name": take_unit_name,
    "photo_front": take_photo_front,
    "photo_back": take_photo_back,
    "system_name": take_system_name,
    "confirm_request": take_confirm_request,
}
