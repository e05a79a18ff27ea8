"""Checks on what users type into the account flows.

Each ``parse_*`` function returns the normalised value or raises
``InvalidInput`` whose message tells the user, in Chinese, what is wrong;
the flow shows it and asks again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Dict, List, Optional, Tuple


class InvalidInput(ValueError):
    """The value cannot be used; ``str(error)`` is the explanation for the user."""


@dataclass(frozen=True)
class DocumentType:
    name: str
    region: str  # 中国大陆, 港澳台, 其他
    online: bool  # False: real-name goes straight to manual review
    required_fields: Tuple[str, ...]
    aliases: Tuple[str, ...] = ()


DOCUMENT_TYPES: Tuple[DocumentType, ...] = (
    DocumentType(
        "居民身份证",
        "中国大陆",
        True,
        ("姓名", "身份证号", "身份证有效起始日期"),
        ("身份证", "二代身份证", "大陆身份证", "id card"),
    ),
    DocumentType("外国人永久居留证", "中国大陆", False, ("姓名", "证件号"), ("永久居留证", "永居证", "绿卡")),
    DocumentType("往来港澳通行证", "港澳台", True, ("姓名", "证件号"), ("港澳通行证",)),
    DocumentType("往来台湾通行证", "港澳台", True, ("姓名", "证件号"), ("台湾通行证", "大陆居民往来台湾通行证")),
    DocumentType("港澳居民往来内地通行证", "港澳台", True, ("姓名", "证件号"), ("回乡证",)),
    DocumentType("台湾居民来往大陆通行证", "港澳台", True, ("姓名", "证件号"), ("台胞证",)),
    DocumentType("境外护照", "其他", False, ("姓名", "证件号"), ("护照", "外国护照", "passport")),
)
DOCUMENT_TYPE_BY_NAME: Dict[str, DocumentType] = {doc.name: doc for doc in DOCUMENT_TYPES}
MAINLAND_ID = "居民身份证"

# What the platform's forms refuse (seed 000): SQL words, quotes and = ; < > %.
# Whole words only: "account_01" or "Scott Counts" are not SQL.
_FORBIDDEN_WORDS = re.compile(r"(?<![A-Za-z])(?:select|update|delete|exec|count|insert|drop|union)(?![A-Za-z])", re.I)
_FORBIDDEN_CHARS = set("'\"‘’“”=;；<>%")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def normalise(text: Optional[str]) -> str:
    """Full-width letters and digits to half-width, outer and inner blanks removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def refuse_forbidden(text: str, what: str) -> None:
    bad_chars = sorted({char for char in text if char in _FORBIDDEN_CHARS})
    bad_word = _FORBIDDEN_WORDS.search(text)
    if bad_chars:
        shown = " ".join(bad_chars)
    elif bad_word:
        shown = bad_word.group(0)
    else:
        return
    raise InvalidInput(
        f"{what}里不能含有 {shown} 这类字符或词语（平台不接受引号、= ; < > % 以及 "
        "select、update、delete 等词）。请重新输入。"
    )


def parse_document_type(text: str) -> DocumentType:
    wanted = normalise(text).lower()
    # Aliases normalised like the input ("id card" → "idcard"), or they never match.
    for doc in DOCUMENT_TYPES:
        aliases = [normalise(alias).lower() for alias in doc.aliases]
        if wanted == doc.name or wanted in aliases:
            return doc
    for doc in DOCUMENT_TYPES:
        aliases = [normalise(alias).lower() for alias in doc.aliases]
        if doc.name in wanted or any(alias in wanted for alias in aliases if len(alias) > 2):
            return doc
    raise InvalidInput(
        "没有识别出证件类型。平台支持：" + "、".join(doc.name for doc in DOCUMENT_TYPES) + "。请从中选一个。"
    )


def parse_mainland_id(text: str) -> str:
    number = normalise(text).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise InvalidInput(
            f"居民身份证号应为 18 位（前 17 位是数字，最后一位是数字或 X），您输入的是 {len(number)} 位。"
            "请核对后重新输入。"
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidInput("身份证号中的出生日期（第 7–14 位）不是有效日期，请核对后重新输入。") from None
    if birth > date.today() or birth.year < 1900:
        raise InvalidInput("身份证号中的出生日期（第 7–14 位）不可能，请核对后重新输入。")
    checksum = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK_CHARS[checksum % 11] != number[17]:
        raise InvalidInput("这个身份证号的校验位不对，可能有一位输错了，请核对后重新输入。")
    return number


def parse_document_number(text: str, doc_type: Optional[str]) -> str:
    if doc_type == MAINLAND_ID:
        return parse_mainland_id(text)
    number = normalise(text).upper()
    refuse_forbidden(number, "证件号码")
    if not re.fullmatch(r"[A-Z0-9\-()（）]{5,24}", number):
        raise InvalidInput("证件号码应由 5–24 位字母和数字组成，请核对证件后重新输入。")
    return number


def parse_phone(text: str) -> str:
    phone = re.sub(r"[\s\-]", "", normalise(text))
    phone = re.sub(r"^(\+?86)", "", phone)
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        raise InvalidInput("手机号应为 11 位、以 1 开头的中国大陆手机号，例如 13800138000。请重新输入。")
    return phone


def parse_code(text: str) -> str:
    code = normalise(text)
    match = re.fullmatch(r"(?:验证码(?:是|为)?[:：]?)?(\d{6})", code)
    if not match:
        raise InvalidInput("验证码是短信里的 6 位数字，请重新输入。")
    return match.group(1)


def parse_login_name(text: str) -> str:
    name = normalise(text)
    name = re.sub(r"^(?:我的)?(?:登录名|用户名|账号|帐号)(?:是|为)?[:：]?", "", name)
    refuse_forbidden(name, "登录名")
    if not re.fullmatch(r"\w{1,64}", name, re.ASCII):
        raise InvalidInput("登录名只包含字母、数字和下划线，请按注册时的登录名重新输入。")
    return name


def parse_credit_code(text: str) -> str:
    code = normalise(text).upper()
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", code):
        raise InvalidInput("统一社会信用代码是 18 位数字和大写字母，请对照营业执照重新输入。")
    return code


def parse_person_name(text: str) -> str:
    # Latin names keep single blanks, but full-width letters are made half-width too.
    name = (
        normalise(text)
        if re.search(r"[\u4e00-\u9fff]", text or "")
        else " ".join(unicodedata.normalize("NFKC", text or "").split())
    )
    name = re.sub(r"^(?:我(?:叫|的名字是|的姓名是)|姓名(?:是)?[:：]?)", "", name)
    refuse_forbidden(name, "姓名")
    if not re.fullmatch(r"[\u4e00-\u9fff·•]{2,20}|[A-Za-z][A-Za-z .'\-]{1,59}", name):
        raise InvalidInput("请输入证件上的真实姓名（中文 2–20 个字，或证件上的外文姓名），不要带数字和符号。")
    return name


def parse_unit_name(text: str) -> str:
    name = normalise(text)
    name = re.sub(r"^(?:我们?(?:单位|公司)(?:是|叫)?|单位(?:名称)?(?:是)?[:：]?)", "", name)
    refuse_forbidden(name, "单位名称")
    if not 4 <= len(name) <= 100 or not re.search(r"[\u4e00-\u9fffA-Za-z]", name):
        raise InvalidInput("请输入单位的全称（与营业执照或登记证书上的一致），例如“北京某某科技有限公司”。")
    return name


# The platform's password rule as users are told it (the reset link's message
# and the reset page); password_problems enforces it.
PASSWORD_RULE = "新密码至少 8 位，包含大写字母、小写字母、数字、特殊符号中的至少 3 种。"


def password_problems(password: str) -> List[str]:
    """Why a new password breaks the platform's rules (``PASSWORD_RULE``); empty when it is fine."""
    problems = []
    if len(password) < 8:
        problems.append("至少 8 位")
    classes = sum(bool(re.search(pattern, password)) for pattern in (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z0-9]"))
    if classes < 3:
        problems.append("包含大写字母、小写字母、数字、特殊符号中的至少 3 种")
    if len(password) > 64:
        problems.append("不超过 64 位")
    return problems
