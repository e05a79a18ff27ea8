"""How identity data is shown: always partly hidden.  The ``mask_*`` of a
value hide part of a known field; ``mask_text`` and ``mask_value`` hide
whatever looks like a mainland ID number or a mobile phone number inside free
text (what agents see of a handoff: summaries before they are stored,
transcripts when shown)."""

from __future__ import annotations

import re
from typing import Any, Optional

# Not part of a longer run of digits: an order number is not an ID number.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![0-9])")


def mask_phone(phone: Optional[str]) -> str:
    if not phone:
        return "（无）"
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def mask_document(number: Optional[str]) -> str:
    if not number:
        return "（无）"
    if len(number) <= 2:
        return "*" * len(number)
    if len(number) <= 10:
        return number[:1] + "*" * (len(number) - 3) + number[-2:]
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_login_name(login_name: Optional[str]) -> str:
    if not login_name:
        return "（无）"
    if len(login_name) <= 3:
        return login_name[:1] + "*" * (len(login_name) - 1)
    if len(login_name) <= 5:
        return login_name[:1] + "*" * (len(login_name) - 2) + login_name[-1:]
    keep_start = 2 if len(login_name) < 8 else 3
    return login_name[:keep_start] + "*" * (len(login_name) - keep_start - 2) + login_name[-2:]


def mask_name(name: Optional[str]) -> str:
    if not name:
        return "（无）"
    return name[:1] + "*" * (len(name) - 1)


def mask_text(text: str) -> str:
    """``text`` with ID numbers and mobile numbers partly hidden."""
    text = _ID_NUMBER.sub(lambda match: mask_document(match.group(0).upper()), text)
    return _PHONE.sub(lambda match: mask_phone("".join(match.groups())), text)


def mask_value(value: Any) -> Any:
    """Every string inside lists and dicts (keys too) masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(str(key)): mask_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item) for item in value]
    return value
