"""Reading a verified user's account and saying what is wrong and what to do.

Pure functions over loaded ``Account`` rows (see ``AccountService.account``),
so every rule here is tested without a database.  The texts are shown only
after the user is verified, in the conversation's language (``language``,
Chinese by default; the texts live in bot/catalogues/<language>/diagnosis.yml).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import List, Optional, Sequence

from bot.accounts.checks import DOCUMENT_TYPE_BY_NAME, LIST_SEPARATORS, MAINLAND_ID, document_type_name
from bot.accounts.labels import realname_state_label
from bot.accounts.masking import mask_login_name
from bot.accounts.models import Account, AccountKind, Decision, Grant, RealnameState
from bot.accounts.service import REVIEW_WORKING_DAYS, add_working_days
from bot.accounts.systems import ITEM_HANDLER, System, role_name, system_name
from bot.language import DEFAULT_LANGUAGE, tr
from bot.timezones import local_time, shown_time, support_zone

# Contacts the grant diagnosis names (seeds: the foreign expert system's support, and the
# Department of Foreign Talent for overseas training).
FOREIGN_EXPERT_SUPPORT_PHONE = "010-58235529"
OVERSEAS_TRAINING_EMAIL = "otm@most.cn"
OVERSEAS_TRAINING_PHONE = "010-58884232"


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


def _edit_path(account: Account, language: str) -> str:
    return tr(
        "diagnosis.edit_path_legal" if account.kind == AccountKind.LEGAL else "diagnosis.edit_path_natural", language
    )


def _upload_button(account: Account, language: str) -> str:
    legal = account.kind == AccountKind.LEGAL
    return tr("diagnosis.upload_button_legal" if legal else "diagnosis.upload_button_natural", language)


def missing_fields(account: Account, language: str = DEFAULT_LANGUAGE) -> List[str]:
    """Required real-name fields the account lacks, by document type (domain rules table), as the
    platform's forms name them (English: with a gloss)."""
    return [tr(key, language) for key in _missing_field_keys(account)]


def _missing_field_keys(account: Account) -> List[str]:
    if account.kind == AccountKind.LEGAL:
        return _missing_unit_fields(account)
    missing = []
    if not account.doc_type:
        return ["diagnosis.field_doc_type"]
    if not account.name:
        missing.append("diagnosis.field_name")
    if not account.doc_number:
        missing.append("diagnosis.field_id_number" if account.doc_type == MAINLAND_ID else "diagnosis.field_doc_number")
    if account.doc_type == MAINLAND_ID and not account.doc_valid_from:
        missing.append("diagnosis.field_id_valid_from")
    return missing


def _missing_unit_fields(account: Account) -> List[str]:
    unit = account.unit
    if unit is None:
        return ["diagnosis.field_unit_basic"]
    missing = []
    if not unit.basic_info_complete:
        missing.append("diagnosis.field_unit_basic")
    if not unit.authorization_info_complete:
        missing.append("diagnosis.field_unit_authorization")
    if not unit.legal_rep_name:
        missing.append("diagnosis.field_legal_rep")
    if not unit.legal_rep_type:
        missing.append("diagnosis.field_legal_rep_type")
    return missing


def diagnose_realname(
    account: Account, other_holders: Sequence[Account], today: date, language: str = DEFAULT_LANGUAGE
) -> RealnameDiagnosis:
    """What is wrong with the account's real-name verification and what to do, in ``language``."""
    state = account.state
    label = tr("diagnosis.state", language, state=realname_state_label(state, language))
    review = review_duration(language)
    if state.is_verified:
        return RealnameDiagnosis(RealnameNext.NOTHING, [tr("diagnosis.realname_done", language, label=label)])
    if state == RealnameState.IN_REVIEW:
        return RealnameDiagnosis(RealnameNext.WAIT, [_pending_review_text(account, today, language)])
    holder = next((other for other in other_holders if other.id != account.id and other.state.is_verified), None)
    if holder is not None:
        return RealnameDiagnosis(
            RealnameNext.OTHER_ACCOUNT,
            [tr("diagnosis.other_account", language, label=label, login=mask_login_name(holder.login_name))],
        )
    missing = missing_fields(account, language)
    if missing:
        return RealnameDiagnosis(
            RealnameNext.FIX_FIELDS,
            [
                tr("diagnosis.missing", language, label=label, fields=LIST_SEPARATORS[language].join(missing)),
                tr("diagnosis.fill_in", language, path=_edit_path(account, language)),
            ],
        )
    doc_type = DOCUMENT_TYPE_BY_NAME.get(account.doc_type or "")
    online = account.kind == AccountKind.NATURAL and doc_type is not None and doc_type.online
    if state == RealnameState.UNVERIFIED and online:
        return RealnameDiagnosis(
            RealnameNext.FIX_FIELDS,
            [
                tr("diagnosis.never_checked", language, label=label),
                tr("diagnosis.save_to_check", language, path=_edit_path(account, language)),
            ],
        )
    findings = [label]
    rejected = [review for review in account.reviews if review.state == Decision.REJECTED]
    if len(rejected) >= 2:
        findings.append(tr("diagnosis.rejected_twice", language, reason=rejected[-1].reason))
        return RealnameDiagnosis(RealnameNext.HUMAN, findings)
    if rejected:
        findings.append(tr("diagnosis.rejected_once", language, reason=rejected[-1].reason))
    if doc_type is not None and not doc_type.online:
        findings.append(
            tr("diagnosis.offline_document", language, document=document_type_name(doc_type.name, language))
        )
    elif not rejected:
        findings.append(tr("diagnosis.online_failed", language))
    findings.append(tr("diagnosis.upload", language, button=_upload_button(account, language), review=review))
    return RealnameDiagnosis(RealnameNext.UPLOAD, findings)


def review_duration(language: str) -> str:
    """How long a manual review takes ("1–2 个工作日"), from ``REVIEW_WORKING_DAYS``."""
    return tr("diagnosis.review_duration", language, days=REVIEW_WORKING_DAYS)


def _pending_review_text(account: Account, today: date, language: str) -> str:
    pending = [review for review in account.reviews if review.state == Decision.PENDING]
    if not pending:
        return tr("diagnosis.review_pending", language, review=review_duration(language))
    zone = support_zone()
    since = pending[-1].created_at
    expected = add_working_days(local_time(since, zone).date(), REVIEW_WORKING_DAYS)
    late = tr("diagnosis.review_late", language) if today > expected else ""
    return tr(
        "diagnosis.review_pending_since",
        language,
        since=shown_time(since, zone, language=language),
        review=review_duration(language),
        expected=f"{expected:%Y-%m-%d}",
        late=late,
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


def diagnose_grant(account: Account, system: System, today: date, language: str = DEFAULT_LANGUAGE) -> GrantDiagnosis:
    """Why the account cannot use ``system`` and what to do, in ``language``; with the grant the
    unit's admin should give, when that is the fix."""
    name = system_name(system, language)
    if account.kind == AccountKind.LEGAL:
        return _diagnose_unit_entry(account, system, language)
    if system.natural_only:
        return _diagnose_overseas_training(account, system, language)
    if not account.state.is_verified:
        return GrantDiagnosis(
            [tr("diagnosis.grant_unverified", language, state=realname_state_label(account.state, language))]
        )
    grants = _grants_for(account, system)
    if not grants:
        return GrantDiagnosis([tr("diagnosis.grant_none", language, system=name)])
    grant = grants[0]
    unit = grant.unit
    role = role_name(grant.role, language)
    role_needed = ITEM_HANDLER if system.handler_role_required else grant.role
    if grant.expires_on and grant.expires_on < today:
        return GrantDiagnosis(
            [
                tr(
                    "diagnosis.grant_expired",
                    language,
                    unit=unit.name,
                    system=name,
                    role=role,
                    date=f"{grant.expires_on:%Y-%m-%d}",
                )
            ],
            GrantRequest(unit.id, unit.name, role_needed),
        )
    if system.handler_role_required and grant.role != ITEM_HANDLER:
        return GrantDiagnosis(
            [
                tr(
                    "diagnosis.grant_needs_handler",
                    language,
                    unit=unit.name,
                    system=name,
                    role=role,
                    handler=role_name(ITEM_HANDLER, language),
                )
            ],
            GrantRequest(unit.id, unit.name, ITEM_HANDLER),
        )
    unit_entry = next((entry for entry in unit.systems if entry.system == system.key), None)
    if system.needs_supervisor and unit_entry is not None and not unit_entry.supervisor_approved:
        return GrantDiagnosis(
            [
                tr(
                    "diagnosis.grant_supervisor",
                    language,
                    unit=unit.name,
                    system=name,
                    phone=FOREIGN_EXPERT_SUPPORT_PHONE,
                )
            ]
        )
    if system.needs_other_info and not unit.other_info_complete:
        return GrantDiagnosis([tr("diagnosis.grant_other_info", language, unit=unit.name, system=name)])
    expiry = (
        tr("diagnosis.grant_valid_until", language, date=f"{grant.expires_on:%Y-%m-%d}") if grant.expires_on else ""
    )
    return GrantDiagnosis([tr("diagnosis.grant_ok", language, unit=unit.name, system=name, role=role, expiry=expiry)])


def _diagnose_overseas_training(account: Account, system: System, language: str) -> GrantDiagnosis:
    key = "diagnosis.training_registered" if account.overseas_training_registered else "diagnosis.training_unregistered"
    return GrantDiagnosis(
        [
            tr(
                key,
                language,
                system=system_name(system, language),
                email=OVERSEAS_TRAINING_EMAIL,
                phone=OVERSEAS_TRAINING_PHONE,
            )
        ]
    )


def _diagnose_unit_entry(account: Account, system: System, language: str) -> GrantDiagnosis:
    name = system_name(system, language)
    if system.natural_only:
        return GrantDiagnosis([tr("diagnosis.unit_natural_only", language, system=name)])
    if not account.state.is_verified:
        return GrantDiagnosis(
            [tr("diagnosis.unit_unverified", language, state=realname_state_label(account.state, language))]
        )
    unit = account.unit
    entered = unit is not None and any(entry.system == system.key for entry in unit.systems)
    return GrantDiagnosis(
        [tr("diagnosis.unit_entered" if entered else "diagnosis.unit_not_entered", language, system=name)]
    )


# -- Torch centre accounts -------------------------------------------------------


def torch_explanation(account: Account, language: str = DEFAULT_LANGUAGE) -> str:
    """Which of the four migration cases (seed 003) applies, where to log in, with what."""
    by_phone = (account.torch_key or "").isdigit()
    window = tr(
        "diagnosis.torch_window_natural" if account.kind == AccountKind.NATURAL else "diagnosis.torch_window_legal",
        language,
    )
    what = tr("diagnosis.torch_by_phone" if by_phone else "diagnosis.torch_by_code", language)
    login = mask_login_name(account.login_name)
    case = account.torch_case
    if case == 1:
        return tr("diagnosis.torch_as_is", language, login=login, window=window)
    if case == 2:
        return tr("diagnosis.torch_existing", language, what=what, login=login, window=window)
    if case == 3:
        return tr("diagnosis.torch_renamed", language, what=what, login=login, window=window)
    if case == 4 and not by_phone:
        return tr("diagnosis.torch_natural", language, login=login)
    if case == 4:
        return tr("diagnosis.torch_phone_taken", language)
    return tr("diagnosis.torch_other", language, login=login, window=window)
