"""The words shown for the account enums, each enum's table written once here
and imported wherever the words appear (the chat's answers, the back-office
CLI).  A table has one entry per member of its enum
(``tests/core/test_labels.py`` holds every table to that, and finds a table
of these enums' words written anywhere else).

The enums are str enums, so a stored plain value (``"failed"``) finds its
label too.
"""

from __future__ import annotations

from typing import Dict

from bot.accounts.models import AccountKind, Decision, RealnameState

# The platform's own words for an account's real-name state (its 实名状态).
REALNAME_STATE_LABELS: Dict[RealnameState, str] = {
    RealnameState.UNVERIFIED: "未实名认证",
    RealnameState.VERIFIED_ONLINE: "国家平台实名认证通过",
    RealnameState.FAILED: "实名认证失败",
    RealnameState.IN_REVIEW: "实名认证审核中",
    RealnameState.VERIFIED_MANUAL: "科技部平台人工审核通过",
}

# An appeal's or a manual review's decision, as the user is told it.
DECISION_LABELS: Dict[Decision, str] = {
    Decision.PENDING: "审核中",
    Decision.APPROVED: "已通过",
    Decision.REJECTED: "未通过",
}

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
ACCOUNT_KIND_HOLDERS: Dict[AccountKind, str] = {
    AccountKind.NATURAL: "自然人账号",
    AccountKind.LEGAL: "法人（单位）账号",
}
