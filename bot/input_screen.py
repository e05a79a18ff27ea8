"""Recognises messages the assistant cannot read, before any model guesses at them.

Empty, emoji-only, garbled and over-long messages are real user behaviour
(a mis-tap, a paste of a binary file, a whole document).  Each gets a specific
explanation instead of a guessed intent.
"""

from __future__ import annotations

import unicodedata
from enum import Enum
from typing import Optional

# Control characters other than tab and newlines, surrogates, private-use and
# unassigned code points: what binary data looks like once decoded as text.
_GARBAGE_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_REPLACEMENT_CHARACTER = "\ufffd"


class InputProblem(str, Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    GARBLED = "garbled"
    NO_WORDS = "no_words"  # only emoji, symbols or punctuation


def screen_message(text: Optional[str], max_chars: int) -> Optional[InputProblem]:
    """Returns what makes ``text`` unreadable, or None when it can be understood."""
    if text is None or not text.strip():
        return InputProblem.EMPTY
    if len(text) > max_chars:
        return InputProblem.TOO_LONG
    if any(_is_garbage(char) for char in text):
        return InputProblem.GARBLED
    if not any(unicodedata.category(char)[0] in "LN" for char in text):
        return InputProblem.NO_WORDS
    return None


def _is_garbage(char: str) -> bool:
    if char == _REPLACEMENT_CHARACTER:
        return True
    return unicodedata.category(char) in _GARBAGE_CATEGORIES and char not in _ALLOWED_CONTROLS
