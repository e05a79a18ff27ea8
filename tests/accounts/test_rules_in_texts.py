"""The platform's rules are written once (bot/accounts/checks.py, bot/accounts/service.py): the
catalogues' texts are formatted from the constants, and the domain's answers — Rasa responses,
which cannot be formatted from Python — are held to them here, so a changed rule fails this test
until every answer that states it says the new figure."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, List

import yaml

from bot.accounts import checks
from bot.accounts.service import CODE_LIFETIME, minutes_of
from bot.language import tr

ROOT = Path(__file__).resolve().parents[2]

PASSWORD_LENGTH = [re.compile(r"(?:至少|不少于)\s*(\d+)\s*位"), re.compile(r"at least (\d+) characters")]
CODE_MINUTES = [re.compile(r"(\d+)\s*分钟内有效"), re.compile(r"(?:超过|过了)\s*(\d+)\s*分钟"),
                re.compile(r"valid for (\d+) minutes"), re.compile(r"after (\d+) minutes")]


def response_texts() -> Iterator[str]:
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        for variations in responses.values():
            for variation in variations:
                if variation.get("text"):
                    yield variation["text"]


def figures(patterns: List[re.Pattern], topic: re.Pattern) -> List[int]:
    return [int(number) for text in response_texts() if topic.search(text)
            for pattern in patterns for number in pattern.findall(text)]


def test_every_answer_stating_the_password_length_says_the_rules_length():
    stated = figures(PASSWORD_LENGTH, re.compile(r"密码|password", re.I))
    assert len(stated) >= 10  # the reset answers, registration, the rule itself, in both languages
    assert set(stated) == {checks.PASSWORD_MIN_LENGTH}


def test_every_answer_stating_how_long_a_code_lives_says_the_codes_lifetime():
    stated = figures(CODE_MINUTES, re.compile(r"验证码|code", re.I))
    assert len(stated) >= 8
    assert set(stated) == {minutes_of(CODE_LIFETIME)}


def test_the_catalogues_are_formatted_from_the_rules():
    for language in ("zh", "en"):
        rule = checks.password_rule(language)
        assert str(checks.PASSWORD_MIN_LENGTH) in rule and str(checks.PASSWORD_MIN_KINDS) in rule
        assert str(checks.CODE_DIGITS) in tr("flows.code_prompt", language, digits=checks.CODE_DIGITS)
    raw = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "bot" / "catalogues").rglob("*.yml"))
    assert not re.search(r"\b6\s*位|\b6-digit|\b8\s*位|at least 8 characters|\b64\s*位", raw)


def test_a_password_breaking_each_rule_is_told_each_rule():
    assert checks.password_problems("aA1!" * 2) == []
    assert checks.password_problems("aA1") == [f"至少 {checks.PASSWORD_MIN_LENGTH} 位"]
    assert checks.password_problems("abcdefgh") == [
        f"包含大写字母、小写字母、数字、特殊符号中的至少 {checks.PASSWORD_MIN_KINDS} 种"]
    assert checks.password_problems("aA1!" * 17) == [f"不超过 {checks.PASSWORD_MAX_LENGTH} 位"]


def test_a_code_has_the_rules_digits():
    assert checks.parse_code("验证码是 123456") == "123456"
    for wrong in ("12345", "1234567"):
        try:
            checks.parse_code(wrong)
        except checks.InvalidInput as refusal:
            assert f"{checks.CODE_DIGITS} 位数字" in str(refusal)
        else:
            raise AssertionError(wrong)
