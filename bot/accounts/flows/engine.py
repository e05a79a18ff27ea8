"""The engine of the account flows, behind the Rasa form ``account_form``.

Contract: ``FlowEngine`` has three entry points, each taking the
conversation's slots (``flow``, ``flow_data``, ``verified_account`` and the
form's slots) and answering an ``Outcome``:

* ``start`` when the flow begins (or is started again): the identity token,
  the flow's ``begin``, the values the first message already gave, then the
  first question (with the cancel hint);
* ``answer`` for the answer to the requested slot: a message that is no
  answer (取消, 转人工, an FAQ question, another problem) is ``rejected`` so
  the dialogue rules take over; otherwise the slot's reader
  (``readers.READERS``) reads it, and a wrong answer is explained and asked
  again;

Everything the engine says is in the conversation's language
(``Context.language``): the questions (``prompts``), the privacy notice, and
an ``InvalidInput`` raised anywhere below, rendered by ``InvalidInput.text``
(its catalogue key and values; a plain message as it is);
* ``resume`` after an interruption: the pending question again.

After every answer the running flow's ``next_step`` (``table.FLOWS``) names
the next slot, whose question comes from ``prompts.prompt``, or ends the
flow.  The engine knows no flow by name.  The first question of a
conversation that asks for an identity number or a photo comes after the
privacy notice.  Identity values go out masked and are kept server-side
until the flow ends (``privacy``); ``forget`` deletes them when the flow is
cleared some other way.  Internal progress lives in
``flow_data`` and is never shown.  Slots come in through
``Steps.trusted`` (``verified_account`` and ``flow_data`` count only when
signed for this conversation) and ``flow_data`` goes out signed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable, Dict, Optional

from bot.accounts import checks
from bot.accounts.checks import InvalidInput
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.prompts import asks_for_identity, cancel_hint, privacy_notice, prompt
from bot.accounts.flows.readers import READERS
from bot.accounts.flows.table import FLOW_OF_INTENT, FLOWS
from bot.accounts.flows.verification import Steps, looks_like_value
from bot.accounts.service import AccountService
from bot.accounts.systems import find_system

# Intents that leave or switch the flow instead of answering (rules handle them).
ALWAYS_INTERRUPT = {"cancel", "request_human"}
INTERRUPTING = ALWAYS_INTERRUPT | {"faq"} | set(FLOW_OF_INTENT)
# Free-text answers (names) look like anything; only a confident intent interrupts them.
FREE_TEXT_SLOTS = {"person_name", "unit_name"}
INTERRUPT_CONFIDENCE = 0.8  # for free-text answers
INTENT_CONFIDENCE = 0.6  # for the others


class FlowEngine:
    def __init__(
        self,
        service: AccountService,
        token_secret: str = "",
        clock: Optional[Callable[[], datetime]] = None,
        signing_key: Optional[str] = None,
    ) -> None:
        self.service = service
        self.token_secret = token_secret
        self.now = clock or service.now
        self.steps = Steps(service, token_secret, self.now, signing_key)

    def _context(self, slots: Dict[str, Any], sender_id: str, client_address: str = "") -> Context:
        return Context(self.steps.trusted(slots, sender_id), sender_id, client_address)

    # -- entry points ----------------------------------------------------------

    def start(self, slots: Dict[str, Any], turn: Turn) -> Outcome:
        """The flow begins (or resumes after an interruption): ask what comes next."""
        ctx = self._context(slots, turn.sender_id, turn.client_address)
        outcome = Outcome()
        self.steps.accept_identity_token(ctx, turn)
        flow = FLOWS.get(ctx.flow)
        if flow is not None and flow.begin is not None and flow.begin(self.steps, ctx, turn, outcome):
            return self._finish(ctx, outcome)
        self._take_given_values(ctx, turn, outcome)
        return self._advance(ctx, outcome, first=True)

    def _take_given_values(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        """Answers the flow's questions with values the user's first message already gave.

        A value that does not fit (an unknown login name, say) is explained,
        and the question is asked as usual.
        """
        flow = FLOWS.get(ctx.flow)
        given = flow.given_values if flow is not None else ()
        for slot, kinds in given:
            value = next((turn.values[kind] for kind in kinds if turn.values.get(kind)), None)
            if value is None or ctx.slots.get(slot) or ctx.data.get("finished"):
                continue
            try:
                READERS[slot](self.steps, ctx, Turn(text=value, sender_id=turn.sender_id), outcome)
            except InvalidInput as problem:
                outcome.say(problem.text(ctx.language))
                ctx.set(slot, None)

    def answer(self, slots: Dict[str, Any], slot: str, turn: Turn) -> Outcome:
        ctx = self._context(slots, turn.sender_id, turn.client_address)
        if self._interrupts(slot, turn):
            return Outcome(rejected=True)
        outcome = Outcome()
        try:
            READERS[slot](self.steps, ctx, turn, outcome)
        except InvalidInput as problem:
            outcome.say(problem.text(ctx.language))
            if ctx.data.get("finished"):
                return self._finish(ctx, outcome)
            return self._ask_again(ctx, outcome, slot)
        return self._advance(ctx, outcome)

    def resume(self, slots: Dict[str, Any], slot: Optional[str], sender_id: str, client_address: str = "") -> Outcome:
        """Back from an interruption: ask the pending question again."""
        ctx = self._context(slots, sender_id, client_address)
        if slot is None:
            return self._advance(ctx, Outcome())
        return self._ask(ctx, Outcome(), slot)

    # -- interruptions -----------------------------------------------------------

    @staticmethod
    def _interrupts(slot: str, turn: Turn) -> bool:
        if turn.metadata.get("upload_id") and slot in ("photo_front", "photo_back"):
            return False
        # An answer of the shape asked for ("sz_unit" or "stop_it" when the login
        # name is asked) is the answer, whatever intent the model read into it.
        if _has_value_shape(slot, turn.text):
            return False
        if turn.intent in ALWAYS_INTERRUPT and turn.confidence >= INTENT_CONFIDENCE:
            return True
        if turn.intent not in INTERRUPTING:
            return False
        if _recognised(slot, turn.text):
            return False
        if slot in FREE_TEXT_SLOTS:
            return turn.confidence >= INTERRUPT_CONFIDENCE
        return turn.confidence >= INTENT_CONFIDENCE and not looks_like_value(turn.text)

    # -- sequencing ------------------------------------------------------------

    def _advance(self, ctx: Context, outcome: Outcome, first: bool = False) -> Outcome:
        if ctx.data.get("finished"):
            return self._finish(ctx, outcome)
        try:
            next_slot = FLOWS[ctx.flow].next_step(self.steps, ctx, outcome)
        except InvalidInput as problem:  # the service refused the final step (e.g. no admin phone)
            outcome.say(problem.text(ctx.language))
            return self._finish(ctx, outcome)
        if next_slot is None:
            return self._finish(ctx, outcome)
        return self._ask(ctx, outcome, next_slot, first)

    def _finish(self, ctx: Context, outcome: Outcome) -> Outcome:
        outcome.slots = self.steps.signed(ctx)
        outcome.done = True
        self.steps.forget(ctx.sender_id)
        return outcome

    def forget(self, sender_id: str) -> None:
        """The conversation's flow was cleared (cancelled, replaced): its kept identity values go."""
        self.steps.forget(sender_id)

    def _ask(self, ctx: Context, outcome: Outcome, slot: str, first: bool = False) -> Outcome:
        if asks_for_identity(ctx, slot) and self.steps.notice_due(ctx.sender_id):
            outcome.say(privacy_notice(ctx.language))
        question = prompt(ctx, slot)
        outcome.say(question["text"] + (cancel_hint(ctx.language) if first else ""), question.get("buttons"))
        outcome.slots = self.steps.signed(ctx)
        outcome.ask = slot
        return outcome

    def _ask_again(self, ctx: Context, outcome: Outcome, slot: str) -> Outcome:
        ctx.set(slot, None)
        return self._ask(ctx, outcome, slot)


def _is_document_type(text: str) -> bool:
    try:
        checks.parse_document_type(text)
    except InvalidInput:
        return False
    return True


_IDENTIFIER = re.compile(r"[A-Za-z0-9][\w\-]{2,63}", re.ASCII)
_KIND_WORDS = re.compile(
    r"单位|法人|公司|企业|机构|个人|自然人|自己|本人|unit|company|organi[sz]ation|legal|personal|individual|natural",
    re.I,
)
# Answers with the shape of the value asked for: never a command, even when
# the model reads "stop_it" as 取消 (a word typed alone is not an identifier).
_VALUE_SHAPES: Dict[str, Callable[[str], bool]] = {
    "account_ref": lambda text: bool(_IDENTIFIER.fullmatch(text)),
    "verification_code": lambda text: bool(re.fullmatch(r"\d{6}", text)),
    "phone": lambda text: bool(re.fullmatch(r"(\+?86)?1\d{10}", text.replace("-", ""))),
    "doc_number": lambda text: bool(re.fullmatch(r"[0-9A-Za-z]{6,20}", text)) and any(c.isdigit() for c in text),
}
# Answers the model may read as another request ("个人账号" as 忘记登录名, "人遗" as
# a question) but which are plainly the answer to the question asked.
_RECOGNISERS: Dict[str, Callable[[str], bool]] = {
    # English words are longer ("personalaccount" once normalised) than the Chinese ones.
    "account_kind": lambda text: len(text) <= (24 if text.isascii() else 8) and bool(_KIND_WORDS.search(text)),
    "doc_type": lambda text: len(text) <= (32 if text.isascii() else 16) and _is_document_type(text),
    "system_name": lambda text: len(text) <= 20 and find_system(text) is not None,
    "confirm_request": lambda text: len(text) <= 6,
}


def _recognised(slot: str, text: str) -> bool:
    recogniser = _RECOGNISERS.get(slot)
    return bool(recogniser and recogniser(checks.normalise(text)))


def _has_value_shape(slot: str, text: str) -> bool:
    shape = _VALUE_SHAPES.get(slot)
    return bool(shape and shape(checks.normalise(text)))
