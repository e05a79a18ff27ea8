"""The catalogues (bot/language.py): every text in every language, with the same fields."""

from __future__ import annotations

import string

import pytest

from bot.language import DEFAULT_LANGUAGE, LANGUAGES, catalogue, language_of, tr


def fields(template: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_exists_in_every_language_with_the_same_fields():
    keys = {language: set(catalogue(language)) for language in LANGUAGES}
    everything = set().union(*keys.values())
    for language in LANGUAGES:
        assert everything - keys[language] == set(), f"missing in {language}"
    for key in everything:
        assert len({frozenset(fields(catalogue(language)[key])) for language in LANGUAGES}) == 1, key


def test_english_templates_are_english_and_chinese_are_chinese():
    for key, template in catalogue("en").items():
        # The platform's own UI labels stay in Chinese beside an English gloss; the sentence is English.
        latin = sum(ch.isascii() and ch.isalpha() for ch in template)
        assert latin > 0, key
    for key, template in catalogue("zh").items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in template), key


@pytest.mark.parametrize(
    "value, expected",
    [("en", "en"), ("en-GB", "en"), ("EN_us", "en"), ("zh-CN", "zh"), ("fr", DEFAULT_LANGUAGE), (None, "zh"), (3, "zh")],
)
def test_language_of_reads_slot_values_and_client_tags(value, expected):
    assert language_of(value) == expected


def test_tr_formats_and_refuses_unknown_keys():
    assert tr("common.language_switched", "en").startswith("OK")
    assert tr("common.language_switched", None) == catalogue("zh")["common.language_switched"]
    with pytest.raises(KeyError):
        tr("common.no_such_text", "en")
