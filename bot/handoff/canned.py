"""Canned replies of the agent console: the assistant's own FAQ answers.

Every ``utter_faq/<key>`` response of ``domain/faq_platform.yml`` and
``domain/faq_systems.yml`` becomes one reply (its Chinese variation, the one
without a condition), titled with the question of ``FAQ_TOPICS[key]`` (the key
itself when a topic has no question), grouped by file, in the order of ``FAQ_TOPICS``.  The agent picks
one in the console; it fills the reply box, where it can be edited before it
is sent.  Read once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bot import config
from bot.language import DEFAULT_LANGUAGE, response_variant
from bot.topics import FAQ_TOPICS

RESPONSE_PREFIX = "utter_faq/"
FAQ_FILES: Tuple[Tuple[str, str], ...] = (
    ("domain/faq_platform.yml", "平台账号与使用"),
    ("domain/faq_systems.yml", "各业务系统"),
)


@dataclass(frozen=True)
class CannedReply:
    key: str  # the FAQ key, e.g. "sms_code"
    title: str  # the question it answers
    text: str
    group: str


def canned_replies() -> Tuple[CannedReply, ...]:
    """All canned replies of the project's domain files."""
    return _load(
        tuple(str(config.PROJECT_ROOT / name) for name, _ in FAQ_FILES), tuple(group for _, group in FAQ_FILES)
    )


def canned_reply(key: str) -> Optional[CannedReply]:
    return next((reply for reply in canned_replies() if reply.key == key), None)


def grouped(replies: Sequence[CannedReply]) -> List[Tuple[str, List[CannedReply]]]:
    """(group, its replies) in the order the groups first appear."""
    groups: Dict[str, List[CannedReply]] = {}
    for reply in replies:
        groups.setdefault(reply.group, []).append(reply)
    return list(groups.items())


def replies_from_responses(responses: Dict[str, object], group: str) -> List[CannedReply]:
    """The canned replies of one domain file's ``responses`` mapping."""
    replies = []
    for name, variants in (responses or {}).items():
        if not str(name).startswith(RESPONSE_PREFIX) or not isinstance(variants, list):
            continue
        key = str(name)[len(RESPONSE_PREFIX) :]
        # The Chinese variation (the one without a condition), wherever it stands: the English one
        # comes first in the file (bot/language.py, response_variant).
        variant = response_variant(variants, DEFAULT_LANGUAGE) or {}
        text = variant.get("text")
        if isinstance(text, str) and text.strip():
            replies.append(CannedReply(key, FAQ_TOPICS.get(key, key), text.strip(), group))
    order = {key: position for position, key in enumerate(FAQ_TOPICS)}
    return sorted(replies, key=lambda reply: (order.get(reply.key, len(order)), reply.key))


@lru_cache(maxsize=4)
def _load(paths: Tuple[str, ...], groups: Tuple[str, ...]) -> Tuple[CannedReply, ...]:
    replies: List[CannedReply] = []
    for path, group in zip(paths, groups, strict=True):
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        replies.extend(replies_from_responses(document.get("responses") or {}, group))
    return tuple(replies)
