"""The words shown for the account enums, each enum's table written once here
and imported wherever the words appear (the chat's answers, the back-office
CLI).  A table has one entry per member of its enum
(``tests/core/test_labels.py`` holds every table to that, and finds a table
of these enums' words written anywhere else).

The enums are str enums, so a stored plain value (``"failed"``) finds its
label too.

Languages: the words users read in the chat live in the catalogues
(bot/catalogues/<language>/labels.yml); ``*_KEYS`` name each member's key, the
Chinese tables are read from the Chinese catalogue, and ``realname_state_label``,
``decision_label`` and ``kind_holder_label`` give them in a conversation's
language.  The back office's words (``ACCOUNT_KIND_LABELS``) and the agent's
(``ACCOUNT_KIND_WORDS``) stay Chinese only.
"""

from __future__ import annotations

from typing import Dict

from bot.accounts.models import AccountKind, Decision, RealnameState
from bot.language import DEFAULT_LANGUAGE, tr

# The platform's own words for an account's real-name state (its 实名状态; in English with a gloss).
REALNAME_STATE_KEYS: Dict[RealnameState, str] = {
    RealnameState.UNVERIFIED: "labels.realname_unverified",
    RealnameState.VERIFIED_ONLINE: "labels.realname_verified_online",
    RealnameState.FAILED: "labels.realname_failed",
    RealnameState.IN_REVIEW: "labels.realname_in_review",
    RealnameState.VERIFIED_MANUAL: "labels.realname_verified_manual",
}
REALNAME_STATE_LABELS: Dict[RealnameState, str] = {
    state: tr(key, DEFAULT_LANGUAGE) for state, key in REALNAME_STATE_KEYS.items()
}

# An appeal's or a manual review's decision, as the user is told it.
DECISION_KEYS: Dict[Decision, str] = {
    Decision.PENDING: "labels.decision_pending",
    Decision.APPROVED: "labels.decision_approved",
    Decision.REJECTED: "labels.decision_rejected",
}
DECISION_LABELS: Dict[Decision, str] = {decision: tr(key, DEFAULT_LANGUAGE) for decision, key in DECISION_KEYS.items()}

# The kind of an account in the platform's terms (the back-office CLI).
ACCOUNT_KIND_LABELS: Dict[AccountKind, str] = {
    AccountKind.NATURAL: "自然人",
    AccountKind.LEGAL: "法人",
}

# The kind of an account in everyday words (the handoff summary an agent reads).
ACCOUNT_KIND_WORDS: Dict[AccountKind, str] = {
    AccountKind.NATURAL: "个人账号",
    AccountKind.LEGAL: "单位账号",
}

# The kind of an account as a user is told which account holds a document or unit.
ACCOUNT_KIND_HOLDER_KEYS: Dict[AccountKind, str] = {
    AccountKind.NATURAL: "labels.holder_natural",
    AccountKind.LEGAL: "labels.holder_legal",
}
ACCOUNT_KIND_HOLDERS: Dict[AccountKind, str] = {
    kind: tr(key, DEFAULT_LANGUAGE) for kind, key in ACCOUNT_KIND_HOLDER_KEYS.items()
}


def realname_state_label(state: RealnameState, language: str) -> str:
    return tr(REALNAME_STATE_KEYS[RealnameState(state)], language)


def decision_label(decision: Decision, language: str) -> str:
    return tr(DECISION_KEYS[Decision(decision)], language)


def kind_holder_label(kind: AccountKind, language: str) -> str:
    return tr(ACCOUNT_KIND_HOLDER_KEYS[AccountKind(kind)], language)
