"""Plain-text views of the back-office commands (``bot/cli/``): aligned
tables, one account with its unit, grants and reviews, durations.

Identity data (names, phones, document numbers) is masked with
``bot/accounts/masking.py``; login names, unit names and credit codes are
shown as they are, since the operator works with them.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Dict, Iterable, List, Optional, Sequence

from bot.accounts.labels import ACCOUNT_KIND_LABELS, REALNAME_STATE_LABELS
from bot.accounts.masking import mask_document, mask_name, mask_phone
from bot.accounts.models import (
    Account,
    AccountKind,
    Appeal,
    Grant,
    ManualReview,
    RealnameState,
    SmsMessage,
    Unit,
)

NONE = "-"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns aligned for the terminal (Chinese characters count double)."""
    cells = [[_cell(value) for value in row] for row in [list(headers), *rows]]
    widths = [max(_width(row[column]) for row in cells) for column in range(len(headers))]
    lines = ["  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None or value == "":
        return NONE
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return " ".join(str(value).split())


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def state_label(state: object) -> str:
    value = RealnameState(state)
    return f"{value.value} ({REALNAME_STATE_LABELS[value]})"


def kind_label(kind: object) -> str:
    value = AccountKind(kind)
    return f"{value.value} ({ACCOUNT_KIND_LABELS[value]})"


def _yes(flag: Optional[bool]) -> str:
    return "yes" if flag else "no"


# -- accounts show ---------------------------------------------------------------


def describe_account(account: Account, today: date) -> str:
    """Everything about one account, identity data masked; call inside a session."""
    lines = [
        f"login name:       {account.login_name}",
        f"kind:             {kind_label(account.kind)}",
        f"real-name state:  {state_label(account.realname_state)}",
        f"reserved phone:   {mask_phone(account.phone)}",
        f"created:          {_cell(account.created_at)}",
    ]
    if account.kind == AccountKind.NATURAL:
        lines += _person_lines(account)
    if account.torch_case:
        lines.append(f"Torch centre:     case {account.torch_case}, old user name {_torch_key(account.torch_key)}")
    if account.unit is not None:
        lines += ["unit:", indent(describe_unit(account.unit, today))]
    if account.grants:
        lines += ["grants held:", indent(grants_table(account.grants, today, by_unit=True))]
    if account.reviews:
        lines += ["manual reviews:", indent(reviews_table(account.reviews, {account.id: account.login_name}))]
    if account.realname_events:
        events = account.realname_events[-5:]
        lines += [
            "real-name history (latest 5):",
            indent(
                table(
                    ["at (UTC)", "state", "note"],
                    [(event.at, RealnameState(event.state).value, event.note) for event in events],
                )
            ),
        ]
    return "\n".join(lines)


def _person_lines(account: Account) -> List[str]:
    document = NONE
    if account.doc_type or account.doc_number:
        valid = f", valid {account.doc_valid_from or '(no start date)'} to {account.doc_valid_to or '长期'}"
        document = f"{account.doc_type or '(no type)'} {mask_document(account.doc_number)}{valid}"
    return [
        f"name:             {mask_name(account.name)}",
        f"document:         {document}",
        f"overseas training registered (报备): {_yes(account.overseas_training_registered)}",
    ]


def _torch_key(key: Optional[str]) -> str:
    return mask_phone(key) if key and key.isdigit() else key or NONE


def describe_unit(unit: Unit, today: date) -> str:
    rep_type = unit.legal_rep_type or "type missing → 法定代表人类型不能为空"
    agent = unit.main_agent
    lines = [
        f"name:             {unit.name}",
        f"former names:     {', '.join(former.name for former in unit.former_names) or NONE}",
        f"credit code:      {unit.credit_code}",
        f"type / region:    {unit.legal_type} / {unit.region}",
        f"legal rep:        {mask_name(unit.legal_rep_name)} ({rep_type})",
        f"complete:         basic {_yes(unit.basic_info_complete)}, authorization "
        f"{_yes(unit.authorization_info_complete)}, other {_yes(unit.other_info_complete)}",
        "main agent:       "
        f"{agent.login_name + ' (' + RealnameState(agent.realname_state).value + ')' if agent else NONE}",
        f"systems entered:  {_systems(unit)}",
    ]
    if unit.grants:
        lines += ["grants given:", indent(grants_table(unit.grants, today, by_unit=False))]
    return "\n".join(lines)


def _systems(unit: Unit) -> str:
    entries = sorted(unit.systems, key=lambda row: row.entered_on)
    return (
        ", ".join(
            f"{row.system} since {row.entered_on}" + ("" if row.supervisor_approved else " (归口单位 approval pending)")
            for row in entries
        )
        or "none"
    )


def grants_table(grants: Iterable[Grant], today: date, by_unit: bool) -> str:
    rows = []
    for grant in sorted(grants, key=lambda row: (row.system, row.id)):
        who = f"{grant.unit.name} ({grant.unit.credit_code})" if by_unit else grant.account.login_name
        expired = grant.expires_on is not None and grant.expires_on < today
        rows.append((who, grant.system, grant.role, grant.expires_on or "no expiry", "expired" if expired else "valid"))
    return table(["unit" if by_unit else "person", "system", "role", "expires", "status"], rows)


# -- reviews, appeals, SMS ---------------------------------------------------------


def reviews_table(reviews: Sequence[ManualReview], logins: Dict[int, str]) -> str:
    rows = [
        (
            review.id,
            _value(review.state),
            logins.get(review.account_id, ""),
            review.created_at,
            review.decided_at,
            review.reason,
        )
        for review in reviews
    ]
    return table(["id", "state", "account", "created (UTC)", "decided (UTC)", "reason"], rows)


def appeals_table(appeals: Sequence[Appeal], logins: Dict[int, str]) -> str:
    rows = []
    for appeal in appeals:
        who = mask_name(appeal.person_name) if appeal.kind == AccountKind.NATURAL else appeal.unit_name
        rows.append(
            (
                appeal.number,
                _value(appeal.state),
                _value(appeal.kind),
                who,
                mask_document(appeal.doc_number) if appeal.doc_number else "",
                mask_phone(appeal.phone),
                logins.get(appeal.account_id or 0, "no match"),
                appeal.created_at,
                appeal.reason,
            )
        )
    return table(
        ["number", "state", "kind", "person / unit", "document", "phone", "account", "created (UTC)", "reason"], rows
    )


def outbox_table(messages: Sequence[SmsMessage]) -> str:
    """The operator's view of what was sent: phone and text unmasked."""
    return table(
        ["id", "time (UTC)", "phone", "purpose", "status", "text"],
        [(m.id, m.created_at, m.phone, m.purpose, m.status, m.text) for m in messages],
    )


def _value(value: object) -> str:
    return str(getattr(value, "value", value))


# -- rates and durations -----------------------------------------------------------------------


def percent(rate: Optional[float]) -> Optional[str]:
    return None if rate is None else f"{rate * 100:.1f}%"


def duration(seconds: Optional[float]) -> Optional[str]:
    """45s, 4m05s, 1h02m; None stays None (shown as -)."""
    if seconds is None:
        return None
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def photo_line(what: str, paths: Optional[Sequence[object]]) -> str:
    """Where the photos of a pending request are; imported reviews have none."""
    if paths is None:
        return f"{what}: no photos (imported from the platform)"
    front, back = paths
    return f"{what}: front {front}, back {back}"
