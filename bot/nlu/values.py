"""Values users put into their messages: login names, ID numbers, phones, credit codes,
document types and business systems.

Contract: ``find_values(text)`` returns every value found, in order, each with
its kind (one of ``KINDS``), the value as the account flows use it and its
span in the NFKC form of the text.  Nothing here checks that a value is valid
(an ID number's check digit, say): the flows do that when they use it, and say
what is wrong.  ``with_placeholders(text)`` replaces the values of the first
four kinds by one word per kind, so that a model reads "忘记密码了，登录名是
valuelogin" whatever the name, and a value never decides the intent; only the
prefixes of migrated accounts (HJ_, WGZJXM) stay, since they tell the topic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, List, Tuple

from bot.accounts.checks import DOCUMENT_TYPES, LOGIN_NAME_BARE_LABELS_EN, LOGIN_NAME_LABELS_EN
from bot.accounts.systems import SYSTEMS
from bot.nlu.word_lists import is_english_word

# The entities' "extractor": the component that adds them (bot/nlu/text_channels.py).
EXTRACTOR_NAME = "ValueExtractor"
ID_NUMBER = "id_number"
PHONE = "phone"
CREDIT_CODE = "credit_code"
LOGIN_NAME = "login_name"
DOC_TYPE = "doc_type"
SYSTEM = "system"
KINDS = (ID_NUMBER, PHONE, CREDIT_CODE, LOGIN_NAME, DOC_TYPE, SYSTEM)
# Login-name prefixes the platform gives migrated accounts (seed 003): kept
# before the placeholder, since they tell which FAQ answer applies.
TELLING_LOGIN_PREFIXES = ("HJ_", "WGZJXM")
# One word each that no glossary entry, pinyin syllable or user's word can be.
PLACEHOLDERS: Dict[str, str] = {
    ID_NUMBER: " valueid ",
    PHONE: " valuephone ",
    CREDIT_CODE: " valuecredit ",
    LOGIN_NAME: " valuelogin ",
}

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z_])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z_])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![0-9A-Za-z])")
# GB 32100: 18 characters of digits and capitals without I, O, S, V, Z.
_CREDIT_CODE = re.compile(
    r"(?<![0-9A-Za-z_])[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{2}\d{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10}(?![0-9A-Za-z])"
)
# A login name is letters, digits and underscores; one is recognised when it
# mixes letters with digits or underscores, or when the user says it is one:
# after a Chinese cue (登录名, 用户名, 账号 ..., with or without 是/为/:), after
# an English label (``checks.LOGIN_NAME_LABELS_EN``: "login name", "username",
# "user ID", "account name") with "is", "was", a colon or 是 after it, or after
# a bare "account" / "login" with a colon ("account: li_01"; "my account is
# locked" names none).  A cued name that is an English word of
# bot/nlu/language_words.yml ("username is wrong", "用户名 and 密码") is none.
# No name is part of an e-mail address ("username is li01@most.cn") or of a
# file or domain name; a cued one may end a sentence ("My username is
# li_01."), not in "_" (the prefix "HJ_" is no name).
_ZH_LOGIN_CUE = r"(?:登录名|登陆名|登入名|用户名|账号名?|帐号名?|账户名?|帐户名?)"
_COLON = r"(?:是|为|叫|:|：|=)"
_IS = r"(?:(?i:is|was)\b\s*[:：=]?)"
_CUED_LOGIN = re.compile(
    rf"(?:{_ZH_LOGIN_CUE}\s*(?:{_COLON}|{_IS})?"
    rf"|(?<![A-Za-z])(?i:{LOGIN_NAME_LABELS_EN})\s*(?:{_COLON}|{_IS})"
    rf"|(?<![A-Za-z])(?i:{LOGIN_NAME_BARE_LABELS_EN})\s*{_COLON})"
    r"\s*[\"'“‘「]?([A-Za-z][A-Za-z0-9_]{1,38}[A-Za-z0-9])(?![A-Za-z0-9_@]|\.[A-Za-z0-9])"
)
_MIXED_LOGIN = re.compile(
    r"(?<![A-Za-z0-9_@.])([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+|\d[A-Za-z0-9]*)[A-Za-z0-9_]*)(?![A-Za-z0-9_@.])"
)


@dataclass(frozen=True)
class Value:
    kind: str
    value: str
    start: int
    end: int


def _lookup_table(entries: List[Tuple[str, Tuple[str, ...]]]) -> List[Tuple[str, str]]:
    """(surface form, canonical value), longest form first so 居民身份证 wins over 身份证."""
    pairs = [(form.lower(), canonical) for canonical, forms in entries for form in (canonical, *forms)]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


_DOC_TYPES = _lookup_table(
    [(doc.name, doc.aliases + ("身分证",) * (doc.name == "居民身份证")) for doc in DOCUMENT_TYPES]
    + [("台湾居民来往大陆通行证", ("臺胞證", "台胞證")), ("港澳居民往来内地通行证", ("回鄉證",))]
)
_SYSTEMS = _lookup_table(
    [(system.key, (system.name, *system.aliases)) for system in SYSTEMS]
    + [("foreign_expert", ("外國專家",)), ("high_tech", ("高新企业", "高新认定"))]
)


def find_values(text: str) -> List[Value]:
    plain = unicodedata.normalize("NFKC", text or "")
    found: List[Value] = []
    taken: List[Tuple[int, int]] = []

    def add(kind: str, value: str, start: int, end: int) -> None:
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            return
        taken.append((start, end))
        found.append(Value(kind, value, start, end))

    for match in _ID_NUMBER.finditer(plain):
        add(ID_NUMBER, match.group().upper(), match.start(), match.end())
    for match in _PHONE.finditer(plain):
        add(PHONE, re.sub(r"^\+?86|[- ]", "", match.group()), match.start(), match.end())
    for match in _CREDIT_CODE.finditer(plain):
        if re.search(r"[A-Za-z]", match.group()):
            add(CREDIT_CODE, match.group().upper(), match.start(), match.end())
    for match in _CUED_LOGIN.finditer(plain):
        if not (match.group(1).isalpha() and is_english_word(match.group(1))):
            add(LOGIN_NAME, match.group(1), match.start(1), match.end(1))
    for match in _MIXED_LOGIN.finditer(plain):
        add(LOGIN_NAME, match.group(1), match.start(1), match.end(1))
    lowered = plain.lower()
    for kind, table in ((DOC_TYPE, _DOC_TYPES), (SYSTEM, _SYSTEMS)):
        for form, canonical in table:
            for match in re.finditer(re.escape(form), lowered):
                if kind == SYSTEM and form.isascii() and not _whole_word(lowered, match):
                    continue
                add(kind, canonical, match.start(), match.end())
    return sorted(found, key=lambda value: value.start)


def _whole_word(text: str, match: re.Match) -> bool:
    before = text[match.start() - 1] if match.start() else " "
    after = text[match.end()] if match.end() < len(text) else " "
    return not (before.isalnum() or after.isalnum())


def first_value(values: List[Value], kind: str) -> str:
    """The first value of ``kind``, or ""."""
    return next((value.value for value in values if value.kind == kind), "")


def with_placeholders(text: str) -> str:
    """``text`` (NFKC) with login names, ID numbers, phones and credit codes replaced by placeholders."""
    plain = unicodedata.normalize("NFKC", text or "")
    for value in sorted(find_values(plain), key=lambda value: value.start, reverse=True):
        if value.kind in PLACEHOLDERS:
            prefix = _telling_prefix(value)
            plain = plain[: value.start] + prefix + PLACEHOLDERS[value.kind] + plain[value.end :]
    return plain


def _telling_prefix(value: Value) -> str:
    """The part of a login name that says where it comes from (HJ_: the Torch centre's migration)."""
    if value.kind != LOGIN_NAME:
        return ""
    return next(
        (value.value[: len(prefix)] for prefix in TELLING_LOGIN_PREFIXES if value.value.upper().startswith(prefix)), ""
    )
