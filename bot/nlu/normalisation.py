"""One spelling for the many ways users write the same words, before any model sees them.

Contract: ``normalise(text)`` is deterministic and idempotent, and keeps the
meaning of the text.  It applies, in this order:

1. Unicode NFKC: full-width letters, digits and punctuation become
   half-width (``ＡＢＣ１２３`` → ``ABC123``).
2. Traditional to simplified characters with OpenCC's ``t2s`` table
   (``帳號密碼`` → ``帐号密码``); Taiwan's ``tw2sp`` is not used because it
   also rewrites words (资料 → 数据) that mean something else on the mainland.
3. Case folding.
4. The glossary (``glossary.yml`` beside this module): regional variants
   (登入 → 登录, 帐号 → 账号) and the English words users mix in
   (``reset`` → 重置, ``no permission`` → 没有权限), each replaced by the
   platform's own word.  English entries match whole words only.

``pinyin_syllables(text)`` is the second channel the models read: every
Chinese character becomes its toneless pinyin, and Latin runs that spell
pinyin ("mima wangle") are split into syllables, so 登陆/登录, 蜜码/密码 and a
pinyin-only message meet the same features.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Dict, FrozenSet, List, Tuple

import opencc
import yaml
from pypinyin import Style, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict

GLOSSARY_PATH = Path(__file__).with_name("glossary.yml")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN_RUN = re.compile(r"[a-z]+")
_LONGEST_SYLLABLE = 6  # "zhuang", "shuang", "chuang"


@functools.cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.cache
def glossary() -> Tuple[Tuple[re.Pattern, str], ...]:
    """(pattern, replacement) pairs, longest source first so phrases win over their words."""
    entries: Dict[str, str] = {}
    for replacement, sources in yaml.safe_load(GLOSSARY_PATH.read_text(encoding="utf-8")).items():
        for source in sources:
            entries[str(source).lower()] = str(replacement)
    pairs = []
    for source in sorted(entries, key=len, reverse=True):
        escaped = re.escape(source).replace(r"\ ", r"\s*")
        pattern = rf"(?<![a-z]){escaped}(?![a-z])" if source.isascii() else escaped
        pairs.append((re.compile(pattern), entries[source]))
    return tuple(pairs)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _converter().convert(text).lower()
    for pattern, replacement in glossary():
        text = pattern.sub(replacement, text)
    return text


@functools.cache
def pinyin_syllable_set() -> FrozenSet[str]:
    """Every toneless syllable pypinyin knows (about 400)."""
    syllables = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFKD", reading)
            plain = "".join(c for c in plain if not unicodedata.combining(c)).replace("ü", "v")
            if plain.isascii() and plain.isalpha():
                syllables.add(plain)
    return frozenset(syllables)


def split_pinyin(run: str) -> List[str]:
    """Latin letters as pinyin syllables (longest match first), or [run] when they are not pinyin."""
    syllables, known, position = [], pinyin_syllable_set(), 0
    while position < len(run):
        for size in range(min(_LONGEST_SYLLABLE, len(run) - position), 0, -1):
            if run[position : position + size] in known:
                syllables.append(run[position : position + size])
                position += size
                break
        else:
            return [run]
    return syllables


def _kept_as_one_piece(characters: str) -> List[str]:
    """Characters without pinyin (Latin letters, digits) stay one piece, for split_pinyin."""
    return [characters]


def pinyin_syllables(normalised_text: str) -> List[str]:
    """The pinyin channel of a normalised text: one token per syllable, other characters dropped."""
    tokens: List[str] = []
    # pypinyin documents (and accepts) an ``errors`` callback returning a list of
    # pieces; its type stub says str.
    for piece in lazy_pinyin(normalised_text, style=Style.NORMAL, errors=_kept_as_one_piece):  # type: ignore[arg-type]
        if _HAN.search(piece):
            continue
        for run in _LATIN_RUN.findall(piece.replace("ü", "v")):
            tokens.extend(split_pinyin(run))
    return tokens
