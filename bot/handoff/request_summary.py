"""What the assistant hands a support agent with a handoff request: why the
conversation goes to a person (``reason_of``) and the agent's first look at it
(``summary_of``: the problem, what was checked and found, what the assistant
already told the user, who it is, masked), and whose it is (``user_key_of``).
Used by ``actions/handoff.py``; no Rasa here (the conversation's events are
read as the dicts Rasa's tracker holds).  What the user is told around a
handoff is ``bot.handoff.user_replies``.

The problem is the running flow's, else the last core problem or FAQ topic the
assistant understood in the conversation (``understood_topic``: asking for a
person, feedback and small talk are skipped), else :data:`NO_PROBLEM`.  Why
the user went to a person (e.g. they asked for one) is the handoff's reason,
shown beside it, never the problem.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from bot.accounts.flows import FLOW_OF_INTENT, findings_of
from bot.accounts.labels import ACCOUNT_KIND_WORDS
from bot.accounts.masking import mask_login_name, mask_phone, mask_text
from bot.accounts.service import AccountService
from bot.handoff.models import HandoffReason
from bot.language import language_of
from bot.store import NotFound
from bot.topics import CORE_TOPICS, FAQ_INTENT, topic_for

FLOW_PROBLEMS = {flow: CORE_TOPICS.get(intent, intent) for intent, flow in FLOW_OF_INTENT.items()}
NO_PROBLEM = "助手没有识别出具体问题"
# Intents that say how the user feels about the help, not what the problem is.
NOT_PROBLEMS = frozenset({"request_human", "negative_feedback"})
# The summary's key of the user's language (bot/language.py's code, "zh" or "en"; set by
# actions/handoff.py): the console shows it and offers the canned answers in it first.
LANGUAGE_SUMMARY_KEY = "language"
TOLD_MESSAGES = 3  # the assistant's last messages before the handoff, in the summary
TOLD_CHARS = 300  # of each


def summary_language(summary: Optional[Mapping[str, Any]]) -> str:
    """The user's language recorded in a handoff's summary (summaries older than the
    languages have none: those conversations were Chinese)."""
    return language_of((summary or {}).get(LANGUAGE_SUMMARY_KEY))


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


def topic_of_parse(parse_data: Mapping[str, Any]) -> Optional[str]:
    """The topic (a core intent, or ``faq/<key>``) one parsed user message was understood as;
    None for anything else (greetings, answers to a flow's questions, asking for a person)."""
    name = ((parse_data.get("intent") or {}).get("name")) or ""
    if name == FAQ_INTENT:
        selectors = parse_data.get("response_selector") or {}
        # Rasa names the selector after its retrieval intent, or "default" without one.
        selector = selectors.get(FAQ_INTENT) or selectors.get("default") or {}
        key = (selector.get("response") or {}).get("intent_response_key") or ""
        if not key:
            ranking = selector.get("ranking") or [{}]
            key = ranking[0].get("intent_response_key") or ""
        return key if topic_for(key) is not None else None
    if name in NOT_PROBLEMS or name not in CORE_TOPICS:
        return None
    return name


def understood_topic(events: Iterable[Mapping[str, Any]]) -> Optional[str]:
    """The last topic the assistant understood in the conversation (``topic_of_parse``)."""
    for event in reversed(list(events)):
        if event.get("event") == "user":
            topic = topic_of_parse(event.get("parse_data") or {})
            if topic is not None:
                return topic
    return None


def problem_words(topic: Optional[str]) -> Optional[str]:
    """A topic as agents read it: the problem's words or the FAQ question."""
    found = topic_for(topic or "")
    return found.question if found is not None else None


def assistant_told(events: Iterable[Mapping[str, Any]], limit: int = TOLD_MESSAGES) -> List[str]:
    """What the assistant last told the user before their latest message (the one that led
    to the handoff), masked, each at most ``TOLD_CHARS``, oldest first."""
    listed = list(events)
    users = [index for index, event in enumerate(listed) if event.get("event") == "user"]
    before = listed[: users[-1]] if users else listed
    texts = [
        str(event.get("text")).strip()
        for event in before
        if event.get("event") == "bot" and str(event.get("text") or "").strip()
    ]
    return [_shortened(mask_text(text)) for text in texts[-limit:]] if limit > 0 else []


def _shortened(text: str) -> str:
    return text if len(text) <= TOLD_CHARS else text[: TOLD_CHARS - 1] + "…"


def summary_of(
    slots: Dict[str, Any],
    user_texts: List[str],
    topic: Optional[str],
    accounts: AccountService,
    told: Sequence[str] = (),
) -> Dict[str, Any]:
    """The agent's first look: the problem (the running flow's, else ``topic``: see
    ``understood_topic``), what was checked and found, what the assistant already told
    the user, who it is (masked), the user's last words."""
    flow = slots.get("flow")
    topic = None if topic in NOT_PROBLEMS else topic
    problem = FLOW_PROBLEMS.get(flow or "") or problem_words(topic) or NO_PROBLEM
    summary: Dict[str, Any] = {"problem": problem, "identity": _identity(slots.get("verified_account"), accounts)}
    flow_data = slots.get("flow_data") or {}
    if flow:
        summary["flow"] = FLOW_PROBLEMS.get(flow, flow)
    checked = findings_of(flow, flow_data)  # in words: flow_data's keys are the engine's own
    if checked:
        summary["checked"] = checked
    if told:
        summary["told"] = list(told)
    summary["last_messages"] = [text for text in user_texts if text and not text.startswith("/")][-5:]
    return summary


def user_key_of(slots: Mapping[str, Any], sender_id: str) -> str:
    """Whose conversation it is: ``account:<id>`` for a verified user (trusted slots only),
    else the conversation itself (the same widget session or Telegram chat)."""
    verified = slots.get("verified_account")
    account_id = str(verified).partition("|")[0] if verified else ""
    return f"account:{account_id}" if account_id.isdigit() else sender_id


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
