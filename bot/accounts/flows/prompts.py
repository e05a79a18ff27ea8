"""Every question the account flows ask, and the buttons they show.

Contract: ``prompt(ctx, slot)`` is the question for ``slot`` in the running
flow, in the conversation's language (``ctx.language``), as
``{"text": ..., "buttons": [...]}`` (buttons optional); the engine adds
``cancel_hint`` to a flow's first question.  Every slot of ``FLOW_SLOTS`` has a
question here; ``account_ref`` is worded per flow (``ACCOUNT_REF_PROMPTS``,
keyed by the flow's name in the table, "default" for the others).
``asks_for_identity`` says which questions ask for an identity number or a
photo: the engine shows ``privacy_notice`` once per conversation before the
first of them.

Texts: catalogue keys (bot/catalogues/<language>/flows.yml), rendered by
``tr``.  Buttons get a title in the conversation's language; their payloads
never change (``button``): the readers understand the Chinese payload
whatever the language.  ``CANCEL_HINT`` and the ``*_BUTTON`` constants are
the Chinese ones, for callers without a conversation.

Facts in questions are formatted from where they live, never copied: the
photo formats (``uploads.photo_formats``) and the size limit (the
``MAX_UPLOAD_BYTES`` setting, read when the question is asked), the retention
of the privacy notice (``RETENTION_DAYS``, the same way), the document
types (``checks.DOCUMENT_TYPES``) and the systems (``systems.SYSTEMS``).
"""

from __future__ import annotations

from typing import Any, Dict, List

from bot import config
from bot.accounts import checks
from bot.accounts.flows.base import Context
from bot.accounts.models import AccountKind
from bot.accounts.systems import SYSTEMS, system_name
from bot.accounts.uploads import megabytes, photo_formats
from bot.language import DEFAULT_LANGUAGE, tr

# Buttons: the title's catalogue key and the payload (the same in every language).
APPEAL = ("flows.button_appeal", "/forgot_login_name")
RESET = ("flows.button_reset", "/forgot_password")
HUMAN = ("flows.button_human", "/request_human")


def button(title_key: str, payload: str, language: str) -> Dict[str, str]:
    return {"title": tr(title_key, language), "payload": payload}


def cancel_hint(language: str) -> str:
    return tr("flows.cancel_hint", language)


CANCEL_HINT = cancel_hint(DEFAULT_LANGUAGE)
APPEAL_BUTTON = button(*APPEAL, DEFAULT_LANGUAGE)
RESET_BUTTON = button(*RESET, DEFAULT_LANGUAGE)
HUMAN_BUTTON = button(*HUMAN, DEFAULT_LANGUAGE)

ACCOUNT_REF_PROMPTS = {
    "reset": "flows.ref_reset",
    "registered_id": "flows.ref_registered_id",
    "registered_unit": "flows.ref_registered_unit",
    "registration": "flows.ref_registration",
    "torch": "flows.ref_torch",
    "appeal_status": "flows.ref_appeal_status",
    "default": "flows.ref_default",
}
# What to photograph; ``photo_prompt`` adds the formats and the size limit.
PHOTOS = {"photo_front": "flows.photo_front", "photo_back": "flows.photo_back"}
# A unit's appeal: the same photos, and what a unit that changed its name sends instead (sealed
# copies and the rename statement).  Said to every unit, never only to the units found under a
# former name: that would tell, before any verification, which names were a registered unit's.
UNIT_PHOTOS = {"photo_front": "flows.unit_photo_front", "photo_back": "flows.unit_photo_back"}
# The questions of the other slots (person_name of a unit's appeal asks for the main agent).
QUESTIONS = {
    "account_kind": "flows.account_kind_prompt",
    "person_name": "flows.person_name_prompt",
    "doc_type": "flows.doc_type_prompt",
    "doc_number": "flows.doc_number_prompt",
    "phone": "flows.phone_prompt",
    "unit_name": "flows.unit_name_prompt",
    "system_name": "flows.system_name_prompt",
    "confirm_request": "flows.confirm_request_prompt",
    "verification_code": "flows.code_prompt",
}
AGENT_NAME_PROMPT = "flows.agent_name_prompt"


def _buttons(slot: str, language: str) -> List[Dict[str, str]]:
    """The answers offered with a question: titles in ``language``, payloads the readers' Chinese."""
    if slot == "account_kind":
        return [
            {"title": tr("flows.button_natural", language), "payload": "个人账号"},
            {"title": tr("flows.button_legal", language), "payload": "单位账号"},
        ]
    if slot == "doc_type":
        return [
            {"title": checks.document_type_name(doc.name, language), "payload": doc.name}
            for doc in checks.DOCUMENT_TYPES
        ]
    if slot == "system_name":
        return [{"title": system_name(system, language), "payload": system.name} for system in SYSTEMS]
    if slot == "confirm_request":
        return [
            {"title": tr("flows.button_send", language), "payload": "发"},
            {"title": tr("flows.button_no_send", language), "payload": "不用"},
        ]
    return []


# Questions that ask for an identity number or a photo of a document: the first of them in a
# conversation comes after the privacy notice.  account_ref asks for one in the flows whose
# question (ACCOUNT_REF_PROMPTS) names a document number.
IDENTITY_QUESTIONS = frozenset({"doc_number", "photo_front", "photo_back"})
ACCOUNT_REF_ASKS_DOCUMENT = frozenset({"registered_id", "registration", "appeal_status", "default"})


def asks_for_identity(ctx: Context, slot: str) -> bool:
    """Whether the question for ``slot`` in the running flow asks for an identity number or a photo."""
    if slot == "account_ref":
        return (ctx.flow if ctx.flow in ACCOUNT_REF_PROMPTS else "default") in ACCOUNT_REF_ASKS_DOCUMENT
    return slot in IDENTITY_QUESTIONS


def privacy_notice(language: str = DEFAULT_LANGUAGE) -> str:
    """What is used for what and kept how long, from ``RETENTION_DAYS`` as it is now."""
    return tr("flows.privacy_notice", language, days=config.get_int("RETENTION_DAYS"))


def upload_rule(language: str = DEFAULT_LANGUAGE) -> str:
    """ "（jpg、jpeg 或 png，不超过 1 MB）": what the upload accepts, from the setting as it is now."""
    return tr(
        "flows.upload_rule",
        language,
        formats=photo_formats(language),
        size=megabytes(config.get_int("MAX_UPLOAD_BYTES")),
    )


def photo_prompt(slot: str, unit: bool, language: str = DEFAULT_LANGUAGE) -> Dict[str, Any]:
    return {"text": tr((UNIT_PHOTOS if unit else PHOTOS)[slot], language, rule=upload_rule(language))}


def prompt(ctx: Context, slot: str) -> Dict[str, Any]:
    """The question for ``slot`` in the running flow (``ctx.flow``), in ``ctx.language``."""
    language = ctx.language
    if slot == "account_ref":
        return {"text": tr(ACCOUNT_REF_PROMPTS.get(ctx.flow, ACCOUNT_REF_PROMPTS["default"]), language)}
    if slot in PHOTOS:
        unit = ctx.flow == "appeal" and ctx.slots.get("account_kind") == AccountKind.LEGAL.value
        return photo_prompt(slot, unit, language)
    if slot == "person_name" and ctx.slots.get("account_kind") == AccountKind.LEGAL.value:
        return {"text": tr(AGENT_NAME_PROMPT, language)}
    buttons = _buttons(slot, language)
    text = tr(QUESTIONS[slot], language, digits=checks.CODE_DIGITS)  # the code's question says how many digits
    return {"text": text, **({"buttons": buttons} if buttons else {})}
