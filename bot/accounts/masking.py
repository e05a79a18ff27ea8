"""How identity data is shown: always partly hidden."""

from __future__ import annotations

from typing import Optional


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
