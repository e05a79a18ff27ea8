"""Every question the account flows ask, and the buttons they show.

Contract: ``prompt(ctx, slot)`` is the question for ``slot`` in the running
flow, as ``{"text": ..., "buttons": [...]}`` (buttons optional); the engine
adds ``CANCEL_HINT`` to a flow's first question.  Every slot of ``FLOW_SLOTS``
has a question here; ``account_ref`` is worded per flow (``ACCOUNT_REF_PROMPTS``,
keyed by the flow's name in the table, "default" for the others).
``asks_for_identity`` says which questions ask for an identity number or a
photo: the engine shows ``privacy_notice`` once per conversation before the
first of them.

Facts in questions are formatted from where they live, never copied: the
photo formats (``uploads.PHOTO_FORMATS``) and the size limit (the
``MAX_UPLOAD_BYTES`` setting, read when the question is asked), the retention
of the privacy notice (``RETENTION_DAYS``, the same way), the document
types (``checks.DOCUMENT_TYPES``) and the systems (``systems.SYSTEMS``).
"""

from __future__ import annotations

from typing import Any, Dict

from bot import config
from bot.accounts import checks
from bot.accounts.flows.base import Context
from bot.accounts.models import AccountKind
from bot.accounts.systems import SYSTEMS
from bot.accounts.uploads import PHOTO_FORMATS, megabytes

CANCEL_HINT = "（随时可以说“取消”）"
APPEAL_BUTTON = {"title": "申诉找回账号", "payload": "/forgot_login_name"}
RESET_BUTTON = {"title": "重置这个账号的密码", "payload": "/forgot_password"}
HUMAN_BUTTON = {"title": "转人工客服", "payload": "/request_human"}

ACCOUNT_REF_PROMPTS = {
    "reset": "请告诉我您的登录名（只含字母、数字和下划线）。",
    "registered_id": "请告诉我提示已被注册的证件号码。",
    "registered_unit": "请告诉我单位名称或统一社会信用代码。",
    "registration": "请告诉我注册时填的登录名或证件号码，我查一下注册有没有成功。",
    "torch": "请告诉我在火炬中心注册用的统一社会信用代码（企业）或手机号（个人）。",
    "appeal_status": "请告诉我申诉时填写的手机号或证件号码。",
    "default": "请告诉我您的登录名、证件号码或单位的统一社会信用代码，我先给账号的预留手机发验证码确认是您本人。",
}
VERIFICATION_CODE_PROMPT = "请输入短信里的 6 位验证码（没收到可以说“重发”；手机号已经不用了请说“手机号不用了”）。"
# The main agent of a unit account (account_kind legal) instead of the holder of a document.
AGENT_NAME_PROMPT = "请告诉我主代办人的姓名（单位任意一人都可以，审核结果发给他）。"
# What to photograph; ``photo_prompt`` adds the formats and the size limit.
PHOTOS = {
    "photo_front": "请上传本人签字的证件正面照片",
    "photo_back": "请上传证件反面照片",
}
# A unit's appeal: the same photos, and what a unit that changed its name sends instead (sealed
# copies and the rename statement).  Said to every unit, never only to the units found under a
# former name: that would tell, before any verification, which names were a registered unit's.
UNIT_PHOTOS = {
    "photo_front": "请上传本人签字的证件正面照片；单位改过名、按旧名称申诉的，"
    "请上传证件正反面复印件（本人签字并加盖公章）的照片",
    "photo_back": "请上传证件反面照片；单位改过名、按旧名称申诉的，请上传单位名称变更声明（加盖公章）的照片",
}
PROMPTS: Dict[str, Dict[str, Any]] = {
    "account_kind": {
        "text": "您要找回的是个人（自然人）账号，还是单位（法人）账号？",
        "buttons": [{"title": "个人账号", "payload": "个人账号"}, {"title": "单位账号", "payload": "单位账号"}],
    },
    "person_name": {"text": "请告诉我证件上的姓名。"},
    "doc_type": {
        "text": "请选择证件类型：",
        "buttons": [{"title": doc.name, "payload": doc.name} for doc in checks.DOCUMENT_TYPES],
    },
    "doc_number": {"text": "请输入证件号码。"},
    "phone": {"text": "请输入现在能收短信的手机号，审核结果和登录名会发到这个号码。"},
    "unit_name": {"text": "请输入注册单位账号时用的单位全称（改过名的请用旧名称）。"},
    "system_name": {
        "text": "您要进入哪个系统？",
        "buttons": [{"title": system.name, "payload": system.name} for system in SYSTEMS],
    },
    "confirm_request": {
        "text": "要我给单位管理员发短信，请他为您授权吗？",
        "buttons": [{"title": "发短信提醒", "payload": "发"}, {"title": "不用", "payload": "不用"}],
    },
}


# Questions that ask for an identity number or a photo of a document: the first of them in a
# conversation comes after the privacy notice.  account_ref asks for one in the flows whose
# question (ACCOUNT_REF_PROMPTS) names 证件号码.
IDENTITY_QUESTIONS = frozenset({"doc_number", "photo_front", "photo_back"})
ACCOUNT_REF_ASKS_DOCUMENT = frozenset({"registered_id", "registration", "appeal_status", "default"})


def asks_for_identity(ctx: Context, slot: str) -> bool:
    """Whether the question for ``slot`` in the running flow asks for an identity number or a photo."""
    if slot == "account_ref":
        return (ctx.flow if ctx.flow in ACCOUNT_REF_PROMPTS else "default") in ACCOUNT_REF_ASKS_DOCUMENT
    return slot in IDENTITY_QUESTIONS


def privacy_notice() -> str:
    """What is used for what and kept how long, from ``RETENTION_DAYS`` as it is now."""
    return (
        "个人信息提示：您提供的证件号码、手机号和证件照片只用于核实身份、办理这次业务；"
        "对话记录里只保存打码后的号码，对话和照片保存 "
        f"{config.get_int('RETENTION_DAYS')} 天后删除。"
    )


def upload_rule() -> str:
    """ "（jpg、jpeg 或 png，不超过 1 MB）": what the upload accepts, from the setting as it is now."""
    return f"（{PHOTO_FORMATS}，不超过 {megabytes(config.get_int('MAX_UPLOAD_BYTES'))} MB）"


def photo_prompt(slot: str, unit: bool) -> Dict[str, Any]:
    return {"text": (UNIT_PHOTOS if unit else PHOTOS)[slot] + upload_rule() + "。"}


def prompt(ctx: Context, slot: str) -> Dict[str, Any]:
    """The question for ``slot`` in the running flow (``ctx.flow``)."""
    if slot == "account_ref":
        return {"text": ACCOUNT_REF_PROMPTS.get(ctx.flow, ACCOUNT_REF_PROMPTS["default"])}
    if slot == "verification_code":
        return {"text": VERIFICATION_CODE_PROMPT}
    if slot in PHOTOS:
        return photo_prompt(
            slot, unit=ctx.flow == "appeal" and ctx.slots.get("account_kind") == AccountKind.LEGAL.value
        )
    if slot == "person_name" and ctx.slots.get("account_kind") == AccountKind.LEGAL.value:
        return {"text": AGENT_NAME_PROMPT}
    return PROMPTS[slot]
