"""When two messages are the same message: the rule the data and leakage tests share.

Contract: ``comparison_key(text)`` is the text as the models would read it
(``bot.nlu.normalisation.normalise``: NFKC, simplified, lower case, glossary)
with every punctuation mark, symbol and blank removed.  Two texts are
*near-copies* when their keys are equal, or when the edit distance between
them is at most 2 and at most a fifth of the shorter key (so "帐号记得密码不记得"
and "账号记得密码不记得" are one message, while "密码忘了" and "账号忘了" are two).
``near_copy_pairs`` finds every such pair between two collections quickly
(only keys of similar length are compared).
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Dict, Iterable, List, Tuple

from rapidfuzz.distance import Levenshtein

from bot.nlu.normalisation import normalise

MAX_DISTANCE = 2
MAX_DISTANCE_SHARE = 1 / 5


def comparison_key(text: str) -> str:
    return "".join(char for char in normalise(text) if unicodedata.category(char)[0] not in "PSZC")


def allowed_distance(length: int) -> int:
    return min(MAX_DISTANCE, int(length * MAX_DISTANCE_SHARE))


def are_near_copies(first: str, second: str) -> bool:
    a, b = comparison_key(first), comparison_key(second)
    limit = allowed_distance(min(len(a), len(b)))
    return a == b or Levenshtein.distance(a, b, score_cutoff=limit) <= limit


def near_copy_pairs(texts: Iterable[str], others: Iterable[str], same_collection: bool = False
                    ) -> List[Tuple[str, str]]:
    """Pairs (text, other) that are near-copies; with ``same_collection`` each pair once, no self-pairs."""
    by_length: Dict[int, List[Tuple[int, str, str]]] = defaultdict(list)
    for index, other in enumerate(others):
        key = comparison_key(other)
        by_length[len(key)].append((index, key, other))
    pairs = []
    for index, text in enumerate(texts):
        key = comparison_key(text)
        for length in range(len(key) - MAX_DISTANCE, len(key) + MAX_DISTANCE + 1):
            for other_index, other_key, other in by_length.get(length, []):
                if same_collection and other_index <= index:
                    continue
                limit = allowed_distance(min(len(key), len(other_key)))
                if key == other_key or Levenshtein.distance(key, other_key, score_cutoff=limit) <= limit:
                    pairs.append((text, other))
    return pairs
