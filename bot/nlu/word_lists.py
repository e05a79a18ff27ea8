"""The English word lists of bot/nlu/language_words.yml and how a word is found in them.

Contract: ``word_lists()`` is the file's three lists (``english``, ``loan_words``,
``acronyms``), lower case; ``is_listed(word, words)`` is True when ``word``
(lower case) or a simple inflection of it is in ``words`` ("failed" -> fail,
"resets" -> reset, "don't" -> don).  ``is_english_word(word)`` is True for a
listed English word or a loan word.  Two readers: the language detector
(bot/nlu/language_rules.py) counts the words, and the value finder
(bot/nlu/values.py) takes no English word for a login name ("username is
wrong").  This module imports neither of them, so each may import it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import FrozenSet, NamedTuple

import yaml

WORDS_PATH = Path(__file__).with_name("language_words.yml")
# Inflections tried when a word is not in the list as written: failed -> fail,
# resets -> reset, uploading -> upload, tried -> try, expired -> expire.
_SUFFIXES = (
    ("ies", "y"),
    ("ied", "y"),
    ("ing", ""),
    ("ing", "e"),
    ("ed", ""),
    ("ed", "e"),
    ("es", ""),
    ("s", ""),
    ("ly", ""),
)


class WordLists(NamedTuple):
    english: FrozenSet[str]
    loan_words: FrozenSet[str]
    acronyms: FrozenSet[str]


@cache
def word_lists(path: Path = WORDS_PATH) -> WordLists:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in WordLists._fields:
        strays = [word for word in data[key] if not isinstance(word, str)]
        if strays:  # YAML reads a bare no, yes, on, off as booleans: quote them
            raise ValueError(f"{path}: {key} holds non-words {strays}")
    return WordLists(*(frozenset(word.lower() for word in data[key]) for key in WordLists._fields))


def is_listed(word: str, words: FrozenSet[str]) -> bool:
    """True when ``word`` (lower case) or a simple inflection of it is in ``words``."""
    if word in words:
        return True
    stem = re.split(r"['’]", word)[0]  # don't -> don, i'm -> i, user's -> user
    if stem != word and stem in words:
        return True
    return any(
        word.endswith(suffix) and len(word) - len(suffix) >= 2 and word[: len(word) - len(suffix)] + ending in words
        for suffix, ending in _SUFFIXES
    )


def is_english_word(word: str) -> bool:
    """True for a word of the English list (inflections included) or a loan word, any case."""
    lists = word_lists()
    lowered = word.lower()
    return is_listed(lowered, lists.english) or lowered in lists.loan_words
