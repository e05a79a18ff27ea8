"""What the assistant hands a support agent with a handoff request: why the
conversation goes to a person (``reason_of``) and the agent's first look at it
(``summary_of``: the problem, what was checked and found, who it is, masked).
Used by ``actions/handoff.py``; no Rasa here.  What the user is told around a
handoff is ``bot.handoff.user_replies``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from bot.accounts.flows import FLOW_OF_INTENT, findings_of
from bot.accounts.labels import ACCOUNT_KIND_WORDS
from bot.accounts.masking import mask_login_name, mask_phone
from bot.accounts.service import AccountService
from bot.handoff.models import HandoffReason
from bot.store import NotFound
from bot.topics import CORE_TOPICS

FLOW_PROBLEMS = {flow: CORE_TOPICS.get(intent, intent) for intent, flow in FLOW_OF_INTENT.items()}


def reason_of(
    latest_intent: Optional[str],
    clarification_slot: Optional[str],
    previous_bot_buttons: List[Dict[str, Any]],
    flow_was_running: bool,
) -> HandoffReason:
    """Why the conversation goes to a person, from what came just before."""
    if latest_intent == "negative_feedback":
        return HandoffReason.NEGATIVE_FEEDBACK
    if clarification_slot == "offer_human":
        return HandoffReason.MISUNDERSTOOD
    offered_a_person = any(button.get("payload") == "/request_human" for button in previous_bot_buttons)
    if flow_was_running and offered_a_person:
        return HandoffReason.FLOW_DEAD_END
    return HandoffReason.USER_REQUEST


def summary_of(
    slots: Dict[str, Any], user_texts: List[str], latest_intent: Optional[str], accounts: AccountService
) -> Dict[str, Any]:
    """The agent's first look: the problem, what was checked and found, who it is (masked)."""
    flow = slots.get("flow")
    problem = FLOW_PROBLEMS.get(flow or "") or CORE_TOPICS.get(latest_intent or "") or "用户要求人工客服"
    summary: Dict[str, Any] = {"problem": problem, "identity": _identity(slots.get("verified_account"), accounts)}
    flow_data = slots.get("flow_data") or {}
    if flow:
        summary["flow"] = FLOW_PROBLEMS.get(flow, flow)
    checked = findings_of(flow, flow_data)  # in words: flow_data's keys are the engine's own
    if checked:
        summary["checked"] = checked
    summary["last_messages"] = [text for text in user_texts if text and not text.startswith("/")][-5:]
    return summary


def _identity(verified: Optional[str], accounts: AccountService) -> str:
    if not verified:
        return "未验证身份"
    account_id = verified.partition("|")[0]
    try:
        account = accounts.account(int(account_id))
    except (NotFound, ValueError):
        return "未验证身份"
    kind = ACCOUNT_KIND_WORDS[account.kind]
    return (
        f"已验证：{kind} {mask_login_name(account.login_name)}，预留手机 {mask_phone(account.phone)}，"
        f"实名状态 {account.realname_state.value}"
    )
