"""Reading a verified user's account and saying what is wrong and what to do.

Pure functions over loaded ``Account`` rows (see ``AccountService.account``),
so every rule here is tested without a database.  The texts are shown only
after the user is verified.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import List, Optional, Sequence

from bot.accounts.checks import DOCUMENT_TYPE_BY_NAME, MAINLAND_ID
from bot.accounts.labels import REALNAME_STATE_LABELS
from bot.accounts.masking import mask_login_name
from bot.accounts.models import Account, AccountKind, Decision, Grant, RealnameState
from bot.accounts.service import REVIEW_DURATION, REVIEW_WORKING_DAYS, add_working_days
from bot.accounts.systems import ITEM_HANDLER, System
from bot.timezones import local_time, shown_time, support_zone


class RealnameNext(str, enum.Enum):
    NOTHING = "nothing"  # verified already
    WAIT = "wait"  # a review is pending
    FIX_FIELDS = "fix_fields"  # the user must complete the account data first
    OTHER_ACCOUNT = "other_account"  # the document is verified on another account
    UPLOAD = "upload"  # photos for manual review
    HUMAN = "human"  # a second rejection: a person should look at it


@dataclass
class RealnameDiagnosis:
    next: RealnameNext
    findings: List[str] = field(default_factory=list)


def _edit_path(account: Account) -> str:
    if account.kind == AccountKind.LEGAL:
        return "在线办事 → 我的信息 → 修改法人信息（主代办人的信息在“修改主代办人信息”）"
    return "在线办事 → 我的信息 → 修改个人信息"


def _upload_button(account: Account) -> str:
    return "上传法人信息（或上传主代办人信息）" if account.kind == AccountKind.LEGAL else "上传自然人信息"


def missing_fields(account: Account) -> List[str]:
    """Required real-name fields the account lacks, by document type (domain rules table)."""
    if account.kind == AccountKind.LEGAL:
        return _missing_unit_fields(account)
    missing = []
    if not account.doc_type:
        return ["证件类型"]
    if not account.name:
        missing.append("姓名")
    if not account.doc_number:
        missing.append("身份证号" if account.doc_type == MAINLAND_ID else "证件号")
    if account.doc_type == MAINLAND_ID and not account.doc_valid_from:
        missing.append("身份证有效起始日期")
    return missing


def _missing_unit_fields(account: Account) -> List[str]:
    unit = account.unit
    if unit is None:
        return ["法人单位基本信息"]
    missing = []
    if not unit.basic_info_complete:
        missing.append("法人单位基本信息")
    if not unit.authorization_info_complete:
        missing.append("法人授权信息")
    if not unit.legal_rep_name:
        missing.append("法定代表人信息")
    if not unit.legal_rep_type:
        missing.append("法定代表人类型（页面提示“法定代表人类型不能为空”时，在法定代表人信息里勾选类型即可）")
    return missing


def diagnose_realname(account: Account, other_holders: Sequence[Account], today: date) -> RealnameDiagnosis:
    state = account.state
    label = f"您的账号当前状态：{REALNAME_STATE_LABELS[state]}。"
    if state.is_verified:
        return RealnameDiagnosis(
            RealnameNext.NOTHING,
            [label + "实名认证已经通过，不需要再处理。如果页面仍显示失败，请退出后重新登录，或换用最新版谷歌浏览器。"],
        )
    if state == RealnameState.IN_REVIEW:
        return RealnameDiagnosis(RealnameNext.WAIT, [_pending_review_text(account, today)])
    holder = next((other for other in other_holders if other.id != account.id and other.state.is_verified), None)
    if holder is not None:
        return RealnameDiagnosis(
            RealnameNext.OTHER_ACCOUNT,
            [
                label
                + f"原因：您的证件已经在另一个账号（登录名 {mask_login_name(holder.login_name)}）上完成了实名认证，"
                "一个证件只能在一个账号上实名。请找回并使用那个账号：记得它的预留手机号就用“登录名重置密码”，"
                "否则走“自然人申诉找回密码”。"
            ],
        )
    missing = missing_fields(account)
    if missing:
        return RealnameDiagnosis(
            RealnameNext.FIX_FIELDS,
            [
                label + "原因：账号里缺少实名认证必填的信息：" + "、".join(missing) + "。",
                f"请到 {_edit_path(account)}，补全后点保存，系统会重新核验；状态显示在页面右上角。",
            ],
        )
    doc_type = DOCUMENT_TYPE_BY_NAME.get(account.doc_type or "")
    online = account.kind == AccountKind.NATURAL and doc_type is not None and doc_type.online
    if state == RealnameState.UNVERIFIED and online:
        return RealnameDiagnosis(
            RealnameNext.FIX_FIELDS,
            [
                label + "必填信息都已填写，但还没有提交过在线核验。",
                f"请到 {_edit_path(account)}，核对后点保存，系统会自动核验；"
                "核验失败再告诉我“实名认证失败”，我帮您申请人工审核。",
            ],
        )
    findings = [label]
    rejected = [review for review in account.reviews if review.state == Decision.REJECTED]
    if len(rejected) >= 2:
        findings.append(
            f"您的人工审核已经两次未通过（最近一次原因：{rejected[-1].reason}）。"
            "这种情况需要人工客服帮您看一下材料。"
        )
        return RealnameDiagnosis(RealnameNext.HUMAN, findings)
    if rejected:
        findings.append(f"上次人工审核未通过，原因：{rejected[-1].reason}。请按这个原因重新拍照上传。")
    if doc_type is not None and not doc_type.online:
        findings.append(f"{doc_type.name}不做在线核验，直接进入人工审核，这是正常的。")
    elif not rejected:
        findings.append("必填信息都已填写，在线核验仍未通过，需要人工审核。")
    findings.append(
        f"请上传本人签字的证件正反面照片（页面上的按钮是“{_upload_button(account)}”，"
        f"我也可以在这里直接帮您提交）。人工审核约 {REVIEW_DURATION}，结果短信通知。"
    )
    return RealnameDiagnosis(RealnameNext.UPLOAD, findings)


def _pending_review_text(account: Account, today: date) -> str:
    pending = [review for review in account.reviews if review.state == Decision.PENDING]
    if not pending:
        return f"您的账号正在人工审核中，约 {REVIEW_DURATION}出结果，结果会短信通知，不需要重复提交。"
    zone = support_zone()
    since = pending[-1].created_at
    expected = add_working_days(local_time(since, zone).date(), REVIEW_WORKING_DAYS)
    late = "，已经超过了通常的时间，我可以为您转人工客服催办" if today > expected else ""
    return (
        f"您的账号正在人工审核中（{shown_time(since, zone)} 提交），通常 {REVIEW_DURATION}出结果，"
        f"预计 {expected:%Y-%m-%d} 前短信通知{late}。审核期间不需要重复提交。"
    )


# -- grants ------------------------------------------------------------------


@dataclass
class GrantRequest:
    """What the unit's admin should grant; the assistant can text them."""

    unit_id: int
    unit_name: str
    role: str


@dataclass
class GrantDiagnosis:
    findings: List[str]
    request: Optional[GrantRequest] = None


def _grants_for(account: Account, system: System) -> List[Grant]:
    return [grant for grant in account.grants if grant.system == system.key]


def diagnose_grant(account: Account, system: System, today: date) -> GrantDiagnosis:
    if account.kind == AccountKind.LEGAL:
        return _diagnose_unit_entry(account, system)
    if system.natural_only:
        return _diagnose_overseas_training(account, system)
    if not account.state.is_verified:
        return GrantDiagnosis(
            [
                f"您的账号还没有通过实名认证（当前：{REALNAME_STATE_LABELS[account.state]}）。单位授权时只能搜到已实名的用户，"
                "请先完成实名认证（告诉我“实名认证失败”，我帮您查原因），再请单位管理员按您的真实姓名搜索授权。"
            ]
        )
    grants = _grants_for(account, system)
    if not grants:
        return GrantDiagnosis(
            [
                f"您的账号没有任何单位授予的“{system.name}”权限。请单位管理员用法人账号登录 → 在线办事 → "
                "用户授权管理 → 授权操作，按您的真实姓名搜索并勾选角色。"
            ]
        )
    grant = grants[0]
    unit = grant.unit
    role_needed = ITEM_HANDLER if system.handler_role_required else grant.role
    if grant.expires_on and grant.expires_on < today:
        return GrantDiagnosis(
            [
                f"“{unit.name}”授予您的“{system.name}”权限（{grant.role}）已于 {grant.expires_on:%Y-%m-%d} 过期。"
                "授权过期后需要单位管理员重新授权（授权用户管理 → 修改授权）。"
            ],
            GrantRequest(unit.id, unit.name, role_needed),
        )
    if system.handler_role_required and grant.role != ITEM_HANDLER:
        return GrantDiagnosis(
            [
                f"您在“{unit.name}”的“{system.name}”角色是{grant.role}，新建项目需要“{ITEM_HANDLER}”角色。"
                "请单位管理员在 用户授权管理 → 授权用户管理 → 修改授权 里给您勾选事项办理员。"
            ],
            GrantRequest(unit.id, unit.name, ITEM_HANDLER),
        )
    unit_entry = next((entry for entry in unit.systems if entry.system == system.key), None)
    if system.needs_supervisor and unit_entry is not None and not unit_entry.supervisor_approved:
        return GrantDiagnosis(
            [
                f"授权没有问题，但“{unit.name}”进入“{system.name}”还在等归口单位审核，审核通过后才能使用。"
                "请单位联系归口单位；外国专家系统技术支持电话 010-58235529。"
            ]
        )
    if system.needs_other_info and not unit.other_info_complete:
        return GrantDiagnosis(
            [
                f"授权没有问题，但“{unit.name}”的法人单位其他信息还没填完整（每一项都要填），"
                f"“{system.name}”要求先补全。请单位管理员用法人账号在 我的信息 → 修改法人信息 里补全。"
            ]
        )
    expiry = f"，有效期到 {grant.expires_on:%Y-%m-%d}" if grant.expires_on else ""
    return GrantDiagnosis(
        [
            f"您的授权是正常的：“{unit.name}”授予您“{system.name}”的{grant.role}角色{expiry}。"
            "请从 服务事项 → 办理入口 进入；仍提示没有权限，请退出重新登录，或换用最新版谷歌浏览器。"
        ]
    )


def _diagnose_overseas_training(account: Account, system: System) -> GrantDiagnosis:
    if account.overseas_training_registered:
        return GrantDiagnosis(
            [
                f"您的账号已在科技部引智司报备，可以使用“{system.name}”。请从 服务事项 → 办理入口 进入；"
                "仍提示没有权限请联系 otm@most.cn，010-58884232。"
            ]
        )
    return GrantDiagnosis(
        [
            f"“{system.name}”只对自然人账号开放，并且要先在科技部引智司报备。您的账号还没有报备记录，"
            "请联系 otm@most.cn 或 010-58884232 办理报备。"
        ]
    )


def _diagnose_unit_entry(account: Account, system: System) -> GrantDiagnosis:
    if system.natural_only:
        return GrantDiagnosis([f"“{system.name}”只能用自然人账号登录使用，法人账号没有这个系统。"])
    if not account.state.is_verified:
        return GrantDiagnosis(
            [
                f"单位账号还没有通过实名认证（当前：{REALNAME_STATE_LABELS[account.state]}），要先实名认证，"
                "再从服务事项进入系统，之后才能授权给别人。"
            ]
        )
    unit = account.unit
    entered = unit is not None and any(entry.system == system.key for entry in unit.systems)
    if not entered:
        return GrantDiagnosis(
            [
                f"单位还没有进入过“{system.name}”。法人只能授出自己拥有的权限：请先用法人账号从 服务事项 → "
                "办理入口 进入一次该系统，之后在 用户授权管理 → 授权操作 里就能授权了。"
            ]
        )
    return GrantDiagnosis(
        [
            f"单位已经进入过“{system.name}”，可以授权。授权时搜不到人，是因为对方还没实名认证，"
            "或没有按真实姓名（不是登录名）搜索。"
        ]
    )


# -- Torch centre accounts -------------------------------------------------------


def torch_explanation(account: Account) -> str:
    """Which of the four migration cases (seed 003) applies, where to log in, with what."""
    by_phone = (account.torch_key or "").isdigit()
    window = "自然人登录" if account.kind == AccountKind.NATURAL else "法人登录"
    login = mask_login_name(account.login_name)
    case = account.torch_case
    if case == 1:
        return f"您的账号原样迁移了：用原来的用户名（{login}）和原来的密码，在“{window}”窗口登录。"
    if case == 2:
        return (
            f"平台上原来就有以这个{'手机号' if by_phone else '信用代码'}命名的账号（{login}），"
            f"请用这个账号自己的密码在“{window}”窗口登录；密码不记得就用“登录名重置密码”。"
        )
    if case == 3:
        return (
            f"迁移时这个{'手机号' if by_phone else '信用代码'}已被别的账号占用，"
            f"所以登录名改成了 HJ_ 加原用户名（{login}），"
            f"密码不变，在“{window}”窗口登录。"
        )
    if case == 4 and not by_phone:
        return (
            f"用户名（{login}）在平台上是自然人账号：请在“自然人登录”窗口登录，完成实名认证后，"
            "会自动获得高企认定、科小企评价的权限。"
        )
    if case == 4:
        return "这个手机号的主人已经在平台上实名了另一个账号。请用“自然人申诉找回密码”找回那个账号。"
    return f"账号登录名是 {login}，在“{window}”窗口登录。"
