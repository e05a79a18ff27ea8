"""Checks on what users type into the account flows.

Each ``parse_*`` function returns the normalised value or raises
``InvalidInput`` saying what is wrong; the flow shows it and asks again.

Languages: the checks know no conversation, so an ``InvalidInput`` made by
``InvalidInput.of(key, **values)`` carries its catalogue key
(bot/catalogues/<language>/checks.yml …) and values; ``str(error)`` stays the
Chinese text (callers without a language, the back office, the tests) and
``error.text(language)`` renders it in the conversation's language.  A value
that is itself worded per language is a ``Worded`` (a callable of the
language), rendered with the rest.  An ``InvalidInput`` made from a plain
message (subclasses raised elsewhere) says that message in every language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from bot.language import DEFAULT_LANGUAGE, tr

# A value of a message that is itself worded per language: called with the language.
Worded = Callable[[str], str]
# How a list of names is joined in a sentence (not in the catalogues: a separator alone is no text).
LIST_SEPARATORS: Dict[str, str] = {"zh": "、", "en": ", "}

# The platform's rules (../shared/domain-rules.md), each written once: the catalogues' texts are
# formatted from them, and tests/accounts/test_rules_in_texts.py holds the domain's answers to them.
CODE_DIGITS = 6  # an SMS verification code
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 64
PASSWORD_KINDS = (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z0-9]")  # capitals, small letters, digits, symbols
PASSWORD_MIN_KINDS = 3
PASSWORD_FIGURES = {
    "min_length": PASSWORD_MIN_LENGTH,
    "max_length": PASSWORD_MAX_LENGTH,
    "min_kinds": PASSWORD_MIN_KINDS,
}


def render(key: str, language: str, values: Mapping[str, Any]) -> str:
    """The catalogue text of ``key`` in ``language``, its ``Worded`` values worded in that language too."""
    return tr(key, language, **{name: value(language) if callable(value) else value for name, value in values.items()})


def worded(key: str, **values: Any) -> Worded:
    """A value worded per language by a catalogue key."""
    return lambda language: render(key, language, values)


def listed(names: Callable[[str], List[str]]) -> Worded:
    """A list of names, each worded per language, joined the way the language joins them."""
    return lambda language: LIST_SEPARATORS[language].join(names(language))


class InvalidInput(ValueError):
    """The value cannot be used; ``str(error)`` is the explanation in Chinese, ``text(language)``
    in the conversation's language (see the module docstring)."""

    def __init__(self, message: str = "", key: Optional[str] = None, values: Optional[Mapping[str, Any]] = None):
        super().__init__(message)
        self.key = key
        self.values: Dict[str, Any] = dict(values or {})

    @classmethod
    def of(cls, key: str, **values: Any) -> "InvalidInput":
        """The refusal worded by the catalogue key ``key`` (str() in the default language)."""
        return cls(render(key, DEFAULT_LANGUAGE, values), key, values)

    def text(self, language: str) -> str:
        """The explanation in ``language`` (the plain message when the error carries no key)."""
        return str(self) if self.key is None else render(self.key, language, self.values)


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
        ("身份证", "二代身份证", "大陆身份证", "id card", "chinese id card", "resident identity card"),
    ),
    DocumentType(
        "外国人永久居留证",
        "中国大陆",
        False,
        ("姓名", "证件号"),
        (
            "永久居留证",
            "永居证",
            "绿卡",
            "permanent residence card",
            "permanent resident card",
            "permanent resident id card",
            "green card",
        ),
    ),
    DocumentType("往来港澳通行证", "港澳台", True, ("姓名", "证件号"), ("港澳通行证",)),
    DocumentType("往来台湾通行证", "港澳台", True, ("姓名", "证件号"), ("台湾通行证", "大陆居民往来台湾通行证")),
    DocumentType("港澳居民往来内地通行证", "港澳台", True, ("姓名", "证件号"), ("回乡证", "home return permit")),
    DocumentType("台湾居民来往大陆通行证", "港澳台", True, ("姓名", "证件号"), ("台胞证", "taiwan compatriot permit")),
    DocumentType("境外护照", "其他", False, ("姓名", "证件号"), ("护照", "外国护照", "passport", "foreign passport")),
)
DOCUMENT_TYPE_BY_NAME: Dict[str, DocumentType] = {doc.name: doc for doc in DOCUMENT_TYPES}
MAINLAND_ID = "居民身份证"
# Each document type's catalogue key: the name users read.  The Chinese text is the type's name
# (the platform's own); the English one has it beside the English name, as users find it on the
# platform's forms.  tests/accounts/test_flows_english.py holds the catalogues to both.
DOCUMENT_TYPE_KEYS: Dict[str, str] = {
    "居民身份证": "checks.doc_mainland_id",
    "外国人永久居留证": "checks.doc_permanent_residence",
    "往来港澳通行证": "checks.doc_hk_macao_permit",
    "往来台湾通行证": "checks.doc_taiwan_permit",
    "港澳居民往来内地通行证": "checks.doc_hk_macao_residents_permit",
    "台湾居民来往大陆通行证": "checks.doc_taiwan_residents_permit",
    "境外护照": "checks.doc_foreign_passport",
}


def document_type_name(name: str, language: str) -> str:
    """A document type's name as users of ``language`` read it (an unknown name as it is)."""
    key = DOCUMENT_TYPE_KEYS.get(name)
    return tr(key, language) if key else name


def document_type_names(language: str) -> List[str]:
    return [document_type_name(doc.name, language) for doc in DOCUMENT_TYPES]


# What the platform's forms refuse (seed 000): SQL words, quotes and = ; < > %.
# Whole words only: "account_01" or "Scott Counts" are not SQL.
_FORBIDDEN_WORDS = re.compile(r"(?<![A-Za-z])(?:select|update|delete|exec|count|insert|drop|union)(?![A-Za-z])", re.I)
_FORBIDDEN_CHARS = set("'\"‘’“”=;；<>%")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def normalise(text: Optional[str]) -> str:
    """Full-width letters and digits to half-width, outer and inner blanks removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


# The English names of a login name ("login name", "username", "user ID", "account name"),
# and the bare words that name one only with "is" or a colon after them in an answer
# ("account: li_01", "my login is li_01").  The flows' reader strips them before the
# value; bot/nlu/values.py finds a login name after them in any message.
LOGIN_NAME_LABELS_EN = r"log[\s-]*in[\s-]*(?:name|id)|user[\s-]*(?:name|id)|account[\s-]*(?:name|id)"
LOGIN_NAME_BARE_LABELS_EN = r"account|login"


def strip_english_label(text: Optional[str], labels: str) -> str:
    """``text`` without an English lead-in such as "my login name is" / "code:" (``labels``: the
    alternatives of the label's words); only with "is" or a colon after it, so a value that merely
    starts with those letters ("account_01") keeps them."""
    return re.sub(rf"^\s*(?:my\s+)?(?:{labels})\s*(?:is\b|[:：])\s*", "", text or "", flags=re.I)


def refuse_forbidden(text: str, what: str) -> None:
    """Refuses what the platform's forms refuse; ``what`` is the catalogue key of the field's name
    (``checks.field_*``)."""
    bad_chars = sorted({char for char in text if char in _FORBIDDEN_CHARS})
    bad_word = _FORBIDDEN_WORDS.search(text)
    if bad_chars:
        shown = " ".join(bad_chars)
    elif bad_word:
        shown = bad_word.group(0)
    else:
        return
    raise InvalidInput.of("checks.forbidden", what=worded(what), shown=shown)


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
    raise InvalidInput.of("checks.doc_type_unknown", types=listed(document_type_names))


def parse_mainland_id(text: str) -> str:
    number = normalise(text).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise InvalidInput.of("checks.id_length", length=len(number))
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidInput.of("checks.id_birth_invalid") from None
    if birth > date.today() or birth.year < 1900:
        raise InvalidInput.of("checks.id_birth_impossible")
    checksum = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK_CHARS[checksum % 11] != number[17]:
        raise InvalidInput.of("checks.id_checksum")
    return number


def parse_document_number(text: str, doc_type: Optional[str]) -> str:
    if doc_type == MAINLAND_ID:
        return parse_mainland_id(text)
    number = normalise(text).upper()
    refuse_forbidden(number, "checks.field_document_number")
    if not re.fullmatch(r"[A-Z0-9\-()（）]{5,24}", number):
        raise InvalidInput.of("checks.document_number")
    return number


def parse_phone(text: str) -> str:
    phone = re.sub(r"[\s\-]", "", normalise(text))
    phone = re.sub(r"^(\+?86)", "", phone)
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        raise InvalidInput.of("checks.phone")
    return phone


def parse_code(text: str) -> str:
    code = normalise(strip_english_label(text, r"(?:verification\s+|sms\s+)?code"))
    match = re.fullmatch(r"(?:验证码(?:是|为)?[:：]?)?(\d{" + str(CODE_DIGITS) + "})", code)
    if not match:
        raise InvalidInput.of("checks.code", digits=CODE_DIGITS)
    return match.group(1)


def parse_login_name(text: str) -> str:
    name = normalise(strip_english_label(text, f"{LOGIN_NAME_LABELS_EN}|{LOGIN_NAME_BARE_LABELS_EN}"))
    name = re.sub(r"^(?:我的)?(?:登录名|用户名|账号|帐号)(?:是|为)?[:：]?", "", name)
    refuse_forbidden(name, "checks.field_login_name")
    if not re.fullmatch(r"\w{1,64}", name, re.ASCII):
        raise InvalidInput.of("checks.login_name")
    return name


def parse_credit_code(text: str) -> str:
    code = normalise(text).upper()
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", code):
        raise InvalidInput.of("checks.credit_code")
    return code


def parse_person_name(text: str) -> str:
    text = strip_english_label(text, r"(?:full\s+)?name")
    # Latin names keep single blanks, but full-width letters are made half-width too.
    name = (
        normalise(text)
        if re.search(r"[\u4e00-\u9fff]", text or "")
        else " ".join(unicodedata.normalize("NFKC", text or "").split())
    )
    name = re.sub(r"^(?:我(?:叫|的名字是|的姓名是)|姓名(?:是)?[:：]?)", "", name)
    refuse_forbidden(name, "checks.field_person_name")
    if not re.fullmatch(r"[\u4e00-\u9fff·•]{2,20}|[A-Za-z][A-Za-z .'\-]{1,59}", name):
        raise InvalidInput.of("checks.person_name")
    return name


def parse_unit_name(text: str) -> str:
    name = normalise(text)
    name = re.sub(r"^(?:我们?(?:单位|公司)(?:是|叫)?|单位(?:名称)?(?:是)?[:：]?)", "", name)
    refuse_forbidden(name, "checks.field_unit_name")
    if not 4 <= len(name) <= 100 or not re.search(r"[\u4e00-\u9fffA-Za-z]", name):
        raise InvalidInput.of("checks.unit_name")
    return name


def password_rule(language: str) -> str:
    """The platform's password rule as users are told it (the reset link's message and the reset
    page); password_problems enforces it."""
    return tr("checks.password_rule", language, **PASSWORD_FIGURES)


# The rule in Chinese: the reset page is Chinese (docs/english.md).
PASSWORD_RULE = password_rule(DEFAULT_LANGUAGE)


def password_problems(password: str) -> List[str]:
    """Why a new password breaks the platform's rules (``PASSWORD_RULE``); empty when it is fine."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append("checks.password_too_short")
    kinds = sum(bool(re.search(pattern, password)) for pattern in PASSWORD_KINDS)
    if kinds < PASSWORD_MIN_KINDS:
        problems.append("checks.password_too_few_kinds")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append("checks.password_too_long")
    return [tr(key, DEFAULT_LANGUAGE, **PASSWORD_FIGURES) for key in problems]
