"""Canned replies of the agent console: the assistant's own FAQ answers.

Every ``utter_faq/<key>`` response of ``domain/faq_platform.yml`` and
``domain/faq_systems.yml`` becomes one reply per language (its first text
variant of that language), titled with the question of ``FAQ_TOPICS[key]``
(the key itself when a topic has no question), grouped by file and language,
in the order of ``FAQ_TOPICS``.  A language's variant is the one Rasa shows in
it (``bot.language.response_variant``: the English variations carry
``condition: [{type: slot, name: language, value: en}]``, the Chinese one has
none); a language without a variation of its own has no canned reply.  ``canned_replies(language)``
lists the user's language first, so an English user's agent finds the English
answers at the top.  The agent picks one in the console; it fills the reply
box, where it can be edited before it is sent.  Read once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bot import config
from bot.language import DEFAULT_LANGUAGE, LANGUAGES, language_of, response_variant
from bot.topics import FAQ_TOPICS

RESPONSE_PREFIX = "utter_faq/"
FAQ_FILES: Tuple[Tuple[str, str], ...] = (
    ("domain/faq_platform.yml", "平台账号与使用"),
    ("domain/faq_systems.yml", "各业务系统"),
)
# A group's label in the console (Chinese: the agents'), per language of its answers.
GROUP_LABELS: Dict[str, str] = {"zh": "{group}", "en": "{group}（English 英文答案）"}


@dataclass(frozen=True)
class CannedReply:
    key: str  # the FAQ key, e.g. "sms_code"
    title: str  # the question it answers
    text: str
    group: str
    language: str = DEFAULT_LANGUAGE  # the language the text is written in


def canned_replies(language: Optional[str] = None) -> Tuple[CannedReply, ...]:
    """All canned replies of the project's domain files, those in ``language`` first
    (the default language when None), each language in the files' order."""
    replies = _load(
        tuple(str(config.PROJECT_ROOT / name) for name, _ in FAQ_FILES), tuple(group for _, group in FAQ_FILES)
    )
    return in_language_first(replies, language)


def in_language_first(replies: Sequence[CannedReply], language: Optional[str]) -> Tuple[CannedReply, ...]:
    """``replies`` in ``language`` first, the others after, each in their order."""
    first = language_of(language)
    return tuple(sorted(replies, key=lambda reply: reply.language != first))


def canned_reply(key: str) -> Optional[CannedReply]:
    return next((reply for reply in canned_replies() if reply.key == key), None)


def grouped(replies: Sequence[CannedReply]) -> List[Tuple[str, List[CannedReply]]]:
    """(group, its replies) in the order the groups first appear."""
    groups: Dict[str, List[CannedReply]] = {}
    for reply in replies:
        groups.setdefault(reply.group, []).append(reply)
    return list(groups.items())


def replies_from_responses(responses: Dict[str, object], group: str) -> List[CannedReply]:
    """The canned replies of one domain file's ``responses`` mapping: the default
    language's, then each other language's (in ``LANGUAGES`` order)."""
    replies = []
    for name, variants in (responses or {}).items():
        if not str(name).startswith(RESPONSE_PREFIX) or not isinstance(variants, list):
            continue
        key = str(name)[len(RESPONSE_PREFIX) :]
        chinese = response_variant(variants, DEFAULT_LANGUAGE)
        for language in LANGUAGES:
            # response_variant falls back to the Chinese for a language without its own: no reply then.
            variant = response_variant(variants, language)
            if variant is None or (language != DEFAULT_LANGUAGE and variant is chinese):
                continue
            text = variant.get("text")
            if isinstance(text, str) and text.strip():
                label = GROUP_LABELS[language].format(group=group)
                replies.append(CannedReply(key, FAQ_TOPICS.get(key, key), text.strip(), label, language))
    order = {key: position for position, key in enumerate(FAQ_TOPICS)}
    languages = {language: position for position, language in enumerate(LANGUAGES)}
    return sorted(replies, key=lambda reply: (languages[reply.language], order.get(reply.key, len(order)), reply.key))


@lru_cache(maxsize=4)
def _load(paths: Tuple[str, ...], groups: Tuple[str, ...]) -> Tuple[CannedReply, ...]:
    replies: List[CannedReply] = []
    for path, group in zip(paths, groups, strict=True):
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        replies.extend(replies_from_responses(document.get("responses") or {}, group))
    return tuple(replies)
