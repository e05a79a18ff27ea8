"""The account flows as one state machine, behind the Rasa form ``account_form``.

A flow (``flow`` slot: reset, appeal, registered_id, registered_unit,
realname, grant, registration, torch, appeal_status) is a sequence of
questions.  Each user answer goes to ``FlowEngine.answer``; it checks the
answer (saying why and asking again when it is wrong), calls the account
service, and names the next slot to ask, or ``None`` when the flow is done.
Internal progress (the account being verified, where the code went) lives in
the ``flow_data`` slot and is never shown.

Privacy: before a code sent to the account's reserved phone has been entered
(or the platform's identity token is presented), nothing account-specific is
shown; afterwards identity data is masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple

from bot.accounts import checks, diagnosis, identity
from bot.accounts.checks import InvalidInput
from bot.accounts.masking import mask_login_name, mask_phone
from bot.accounts.models import Account, AccountKind
from bot.accounts.service import AccountService, AppealDraft, CodeRefused, CodeRejected
from bot.accounts.systems import SYSTEMS, find_system, parse_system
from bot.timezones import local_time, shown_time, support_zone

FLOW_OF_INTENT = {
    "forgot_password": "reset",
    "forgot_login_name": "appeal",
    "id_already_registered": "registered_id",
    "unit_already_registered": "registered_unit",
    "realname_failed": "realname",
    "missing_grant": "grant",
    "check_registration": "registration",
    "torch_lookup": "torch",
    "appeal_status": "appeal_status",
}
# Slots the form can ask; each one is a slot in domain/account_flows.yml.
FLOW_SLOTS = (
    "account_kind",
    "account_ref",
    "verification_code",
    "person_name",
    "doc_type",
    "doc_number",
    "phone",
    "unit_name",
    "photo_front",
    "photo_back",
    "system_name",
    "confirm_request",
)
# Values the first message may carry (bot/nlu/values.py kinds), per flow: the
# slot they answer, and the kinds that answer it, preferred first.
GIVEN_VALUE_SLOTS: Dict[str, Tuple[Tuple[str, Tuple[str, ...]], ...]] = {
    "reset": (("account_ref", ("login_name",)),),
    "appeal": (("doc_type", ("doc_type",)), ("doc_number", ("id_number",))),
    "registered_id": (("account_ref", ("id_number",)),),
    "registered_unit": (("account_ref", ("credit_code",)),),
    "realname": (("account_ref", ("login_name", "id_number")),),
    "grant": (("account_ref", ("login_name", "id_number")), ("system_name", ("system",))),
    "registration": (("account_ref", ("login_name", "id_number")),),
    "torch": (("account_ref", ("credit_code", "phone")),),
    "appeal_status": (("account_ref", ("phone", "id_number")),),
}
# Intents that leave or switch the flow instead of answering (rules handle them).
ALWAYS_INTERRUPT = {"cancel", "request_human"}
INTERRUPTING = ALWAYS_INTERRUPT | {"faq"} | set(FLOW_OF_INTENT)
# Free-text answers (names) look like anything; only a confident intent interrupts them.
FREE_TEXT_SLOTS = {"person_name", "unit_name"}
INTERRUPT_CONFIDENCE = 0.8  # for free-text answers
INTENT_CONFIDENCE = 0.6  # for the others
VERIFIED_FOR = timedelta(minutes=30)
MAX_LOOKUP_MISSES = 3
RESEND_WORDS = re.compile(r"重发|重新发|再发|没收到|没有收到")
LOST_PHONE_WORDS = re.compile(r"不用了|停机|换号|换了号|丢了|注销|不是我的|收不到")

APPEAL_BUTTON = {"title": "申诉找回账号", "payload": "/forgot_login_name"}
RESET_BUTTON = {"title": "重置这个账号的密码", "payload": "/forgot_password"}
HUMAN_BUTTON = {"title": "转人工客服", "payload": "/request_human"}
CANCEL_HINT = "（随时可以说“取消”）"


@dataclass
class Turn:
    """What the user just sent."""

    text: str
    intent: Optional[str] = None
    confidence: float = 0.0
    metadata: Dict[str, Any] = field(default_factory=dict)
    sender_id: str = "anonymous"
    # Values found in the message (bot/nlu/values.py kinds -> first value of each).
    values: Dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    slots: Dict[str, Any] = field(default_factory=dict)
    messages: List[Dict[str, Any]] = field(default_factory=list)
    ask: Optional[str] = None  # next slot to request; None with done=True ends the flow
    done: bool = False
    rejected: bool = False  # not an answer: the dialogue rules take over

    def say(self, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> "Outcome":
        self.messages.append({"text": text, **({"buttons": buttons} if buttons else {})})
        return self


class Context:
    """The flow's slots and internal data, updated as a step runs."""

    def __init__(self, slots: Dict[str, Any], sender_id: str) -> None:
        self.sender_id = sender_id
        self.flow: str = slots.get("flow") or ""
        # Slot values as Rasa keeps them (None when unset), like ``data`` below.
        self.slots: Dict[str, Any] = {name: slots.get(name) for name in FLOW_SLOTS}
        self.data: Dict[str, Any] = dict(slots.get("flow_data") or {})
        self.verified: Optional[str] = slots.get("verified_account")
        self.changes: Dict[str, Any] = {}

    def set(self, slot: str, value: Any) -> None:
        self.slots[slot] = value
        self.changes[slot] = value

    def remember(self, **values: Any) -> None:
        self.data.update(values)
        self.changes["flow_data"] = dict(self.data)


class FlowEngine:
    def __init__(
        self, service: AccountService, token_secret: str = "", clock: Optional[Callable[[], datetime]] = None
    ) -> None:
        self.service = service
        self.token_secret = token_secret
        self.now = clock or service.now
        # The reader of each slot's answer.
        self._readers: Dict[str, Callable[[Context, Turn, Outcome], None]] = {
            "account_kind": self._take_account_kind,
            "account_ref": self._take_account_ref,
            "verification_code": self._take_verification_code,
            "person_name": self._take_person_name,
            "doc_type": self._take_doc_type,
            "doc_number": self._take_doc_number,
            "phone": self._take_phone,
            "unit_name": self._take_unit_name,
            "photo_front": self._take_photo_front,
            "photo_back": self._take_photo_back,
            "system_name": self._take_system_name,
            "confirm_request": self._take_confirm_request,
        }

    # -- entry points ----------------------------------------------------------

    def start(self, slots: Dict[str, Any], turn: Turn) -> Outcome:
        """The flow begins (or resumes after an interruption): ask what comes next."""
        ctx = Context(slots, turn.sender_id)
        outcome = Outcome()
        self._accept_identity_token(ctx, turn)
        if ctx.flow == "appeal_status" and not ctx.data.get("started"):
            ctx.remember(started=True)
            if self._show_conversation_appeals(ctx, turn, outcome):
                return self._finish(ctx, outcome)
        self._take_given_values(ctx, turn, outcome)
        return self._advance(ctx, outcome, first=True)

    def _take_given_values(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        """Answers the flow's questions with values the user's first message already gave.

        A value that does not fit (an unknown login name, say) is explained,
        and the question is asked as usual.
        """
        for slot, kinds in GIVEN_VALUE_SLOTS.get(ctx.flow, ()):
            value = next((turn.values[kind] for kind in kinds if turn.values.get(kind)), None)
            if value is None or ctx.slots.get(slot) or ctx.data.get("finished"):
                continue
            try:
                self._readers[slot](ctx, Turn(text=value, sender_id=turn.sender_id), outcome)
            except InvalidInput as problem:
                outcome.say(str(problem))
                ctx.set(slot, None)

    def answer(self, slots: Dict[str, Any], slot: str, turn: Turn) -> Outcome:
        ctx = Context(slots, turn.sender_id)
        if self._interrupts(slot, turn):
            return Outcome(rejected=True)
        outcome = Outcome()
        try:
            self._readers[slot](ctx, turn, outcome)
        except InvalidInput as problem:
            outcome.say(str(problem))
            if ctx.data.get("finished"):
                return self._finish(ctx, outcome)
            return self._ask_again(ctx, outcome, slot)
        return self._advance(ctx, outcome)

    def _interrupts(self, slot: str, turn: Turn) -> bool:
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
        return turn.confidence >= INTENT_CONFIDENCE and not _looks_like_value(turn.text)

    # -- sequencing ------------------------------------------------------------

    def _advance(self, ctx: Context, outcome: Outcome, first: bool = False) -> Outcome:
        if ctx.data.get("finished"):
            return self._finish(ctx, outcome)
        try:
            next_slot = getattr(self, f"_next_{ctx.flow}")(ctx, outcome)
        except InvalidInput as problem:  # the service refused the final step (e.g. no admin phone)
            outcome.say(str(problem))
            return self._finish(ctx, outcome)
        if next_slot is None:
            return self._finish(ctx, outcome)
        return self._ask(ctx, outcome, next_slot, first)

    @staticmethod
    def _stop(ctx: Context, outcome: Outcome, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> None:
        """Ends the flow after this step with a last word (nothing to look up, nothing to send)."""
        ctx.remember(finished=True)
        outcome.say(text, buttons)

    def _finish(self, ctx: Context, outcome: Outcome) -> Outcome:
        outcome.slots = ctx.changes
        outcome.done = True
        return outcome

    def _ask(self, ctx: Context, outcome: Outcome, slot: str, first: bool = False) -> Outcome:
        prompt = self._prompt(ctx, slot)
        outcome.say(prompt["text"] + (CANCEL_HINT if first else ""), prompt.get("buttons"))
        outcome.slots = ctx.changes
        outcome.ask = slot
        return outcome

    def _ask_again(self, ctx: Context, outcome: Outcome, slot: str) -> Outcome:
        ctx.set(slot, None)
        return self._ask(ctx, outcome, slot)

    def resume(self, slots: Dict[str, Any], slot: Optional[str], sender_id: str) -> Outcome:
        """Back from an interruption: ask the pending question again."""
        ctx = Context(slots, sender_id)
        if slot is None:
            return self._advance(ctx, Outcome())
        return self._ask(ctx, Outcome(), slot)

    # -- identity ----------------------------------------------------------------

    def _today(self) -> date:
        """Today where the users are (SUPPORT_TIMEZONE): review and grant dates are their dates."""
        return local_time(self.now(), support_zone()).date()

    def _verified_account_id(self, ctx: Context) -> Optional[int]:
        if not ctx.verified:
            return None
        account_id, _, until = ctx.verified.partition("|")
        if not until or datetime.fromisoformat(until) < self.now():
            return None
        return int(account_id)

    def _mark_verified(self, ctx: Context, account_id: int) -> None:
        until = (self.now() + VERIFIED_FOR).isoformat()
        ctx.verified = f"{account_id}|{until}"
        ctx.changes["verified_account"] = ctx.verified

    def _accept_identity_token(self, ctx: Context, turn: Turn) -> None:
        token = turn.metadata.get("identity_token")
        if not token or not self.token_secret:
            return
        try:
            login_name = identity.verify(token, self.token_secret)
        except identity.InvalidToken:
            return
        account = self.service.account_by_login(login_name)
        if account is not None:
            self._mark_verified(ctx, account.id)

    def _account_in_question(self, ctx: Context) -> Optional[int]:
        """The verified account, unless this flow looked up another one, which needs its own code."""
        verified = self._verified_account_id(ctx)
        target = ctx.data.get("target")
        if verified is None or (target is not None and target != verified):
            return None
        return verified

    def _needs_verification(self, ctx: Context) -> Optional[str]:
        """The next slot of the shared verification steps, or None once verified."""
        if self._account_in_question(ctx) is not None:
            return None
        if not ctx.data.get("target"):
            return "account_ref"
        return "verification_code"

    def _start_verification(self, ctx: Context, account: Account, outcome: Outcome, purpose: str = "verify") -> None:
        if not account.phone:
            self._stop(
                ctx,
                outcome,
                "这个账号没有预留手机号，没法发验证码确认身份，也不能用“登录名重置密码”。"
                "请走申诉找回：提交证件照片，人工审核约 1–2 个工作日。",
                [APPEAL_BUTTON],
            )
            return
        if account.id == self._verified_account_id(ctx):  # verified in this conversation already
            ctx.remember(target=account.id)
            return
        ctx.remember(target=account.id, code_phone=account.phone, purpose=purpose)
        self._send_code(
            ctx,
            outcome,
            account.phone,
            purpose,
            sent_text=f"为确认是您本人，已向该账号的预留手机 {mask_phone(account.phone)} "
            "发送了 6 位验证码（5 分钟内有效）。",
        )

    def _send_code(self, ctx: Context, outcome: Outcome, phone: str, purpose: str, sent_text: str) -> bool:
        try:
            self.service.send_code(phone, purpose)
            outcome.say(sent_text)
            return True
        except CodeRefused as refusal:
            outcome.say(str(refusal))
            return False

    def _take_verification_code(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        phone, purpose = ctx.data["code_phone"], ctx.data.get("purpose", "verify")
        if ctx.data.get("target") and LOST_PHONE_WORDS.search(turn.text or ""):
            ctx.remember(finished=True)
            raise InvalidInput(
                "预留手机号用不了，就没法用短信确认身份，也不能用“登录名重置密码”。"
                "请走申诉找回：用现在的手机号和证件照片提交，人工审核约 1–2 个工作日。"
            )
        if RESEND_WORDS.search(turn.text or ""):
            self._send_code(ctx, outcome, phone, purpose, f"已重新发送验证码到 {mask_phone(phone)}。")
            raise InvalidInput("请输入新收到的 6 位验证码。")
        code = checks.parse_code(turn.text)
        try:
            self.service.check_code(phone, purpose, code)
        except CodeRejected as rejection:
            if rejection.final:
                if self._send_code(ctx, outcome, phone, purpose, f"{rejection} 我已重新发送到 {mask_phone(phone)}。"):
                    raise InvalidInput("请输入新收到的 6 位验证码。") from None
                raise InvalidInput(str(rejection)) from None  # nothing new was sent: the old code is dead
            raise
        ctx.set("verification_code", "accepted")
        if ctx.data.get("target"):
            self._mark_verified(ctx, ctx.data["target"])
        ctx.remember(code_ok=True)
        outcome.say("验证通过。")

    def _take_account_ref(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        getattr(self, f"_lookup_{ctx.flow}", self._lookup_account)(ctx, turn, outcome)
        ctx.set("account_ref", "given")

    def _miss(self, ctx: Context, message: str, give_up: str) -> NoReturn:
        misses = ctx.data.get("misses", 0) + 1
        ctx.remember(misses=misses)
        if misses >= MAX_LOOKUP_MISSES:
            ctx.remember(finished=True)
            raise InvalidInput(message + give_up)
        raise InvalidInput(message + "请核对后重新输入。")

    def _lookup_account(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        reference = _parse_reference(turn.text)
        accounts = self.service.accounts_for_reference(reference)
        if not accounts:
            self._miss(
                ctx, "没有找到对应的账号。", "多次没有找到，可能是注册时信息不同。您可以走申诉找回，或转人工客服。"
            )
        if len(accounts) > 1:
            raise InvalidInput("这个号码对应了多个账号，请告诉我您要查的那个账号的登录名。")
        self._start_verification(ctx, accounts[0], outcome)

    # -- reset -----------------------------------------------------------------

    def _next_reset(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        account_id = self._account_in_question(ctx)
        if account_id is None:
            return self._needs_verification(ctx)
        account = self.service.account(account_id)
        link = self.service.create_reset_link(account_id, actor=f"assistant:{ctx.sender_id}")
        outcome.say(
            f"请在 15 分钟内打开下面的链接，为账号 {mask_login_name(account.login_name)} 设置新密码"
            f"（链接只能用一次）：\n{link}\n"
            "新密码至少 8 位，包含大写字母、小写字母、数字、特殊符号中的至少 3 种。"
            "密码只在那个页面上输入，请不要发在对话里。"
        )
        return None

    def _lookup_reset(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        if _looks_like_value(turn.text) and not re.fullmatch(r"\w+", checks.normalise(turn.text), re.ASCII):
            raise InvalidInput("重置密码需要的是登录名。登录名忘了，请说“忘记登录名”，我带您申诉找回。")
        login_name = checks.parse_login_name(turn.text)
        account = self.service.account_by_login(login_name)
        if account is None:
            self._miss(
                ctx,
                f"没有找到登录名为“{login_name}”的账号，注意区分数字 0 和字母 O、数字 1 和字母 l。",
                "登录名记不清，请走申诉找回。",
            )
        self._start_verification(ctx, account, outcome, purpose="reset")

    # -- appeal ------------------------------------------------------------------

    def _next_appeal(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        order = ["account_kind"]
        if ctx.slots["account_kind"] == AccountKind.LEGAL.value:
            order += ["unit_name", "person_name", "phone", "photo_front", "photo_back"]
        elif ctx.slots["account_kind"] == AccountKind.NATURAL.value:
            order += ["person_name", "doc_type", "doc_number", "phone", "photo_front", "photo_back"]
        missing = next((slot for slot in order if not ctx.slots.get(slot)), None)
        if missing:
            return missing
        if not ctx.data.get("code_ok"):
            if not ctx.data.get("code_phone"):
                phone = ctx.slots["phone"]
                ctx.remember(code_phone=phone, purpose="appeal")
                self._send_code(
                    ctx,
                    outcome,
                    phone,
                    "appeal",
                    f"已向 {mask_phone(phone)} 发送验证码，用来确认这个手机号能收到审核结果。",
                )
            return "verification_code"
        self._file_appeal(ctx, outcome)
        return None

    def _file_appeal(self, ctx: Context, outcome: Outcome) -> None:
        kind = AccountKind(ctx.slots["account_kind"])
        draft = AppealDraft(
            kind=kind,
            phone=ctx.slots["phone"],
            front_upload_id=ctx.slots["photo_front"],
            back_upload_id=ctx.slots["photo_back"],
            person_name=ctx.slots["person_name"],
            doc_type=ctx.slots["doc_type"],
            doc_number=ctx.slots["doc_number"],
            unit_id=ctx.data.get("unit_id"),
            unit_name=ctx.slots["unit_name"],
            renamed=bool(ctx.data.get("renamed")),
        )
        appeal = self.service.create_appeal(draft, ctx.sender_id)
        outcome.say(
            f"申诉已提交，编号 {appeal.number}。人工审核约 1–2 个工作日，结果（包括登录名）会短信发到 "
            f"{mask_phone(appeal.phone)}。想查进度，随时对我说“我的申诉进度”。"
        )

    def _take_account_kind(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        text = checks.normalise(turn.text)
        if re.search(r"单位|法人|公司|企业|机构", text):
            ctx.set("account_kind", AccountKind.LEGAL.value)
        elif re.search(r"个人|自然人|自己|本人", text):
            ctx.set("account_kind", AccountKind.NATURAL.value)
        else:
            raise InvalidInput("请选择：个人（自然人）账号，还是单位（法人）账号？")

    def _take_person_name(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        ctx.set("person_name", checks.parse_person_name(turn.text))

    def _take_doc_type(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        ctx.set("doc_type", checks.parse_document_type(turn.text).name)

    def _take_doc_number(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        ctx.set("doc_number", checks.parse_document_number(turn.text, ctx.slots["doc_type"]))

    def _take_phone(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        ctx.set("phone", checks.parse_phone(turn.text))

    def _take_unit_name(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        name = checks.parse_unit_name(turn.text)
        matches = self.service.find_units(name)
        if not matches:
            self._miss(
                ctx,
                f"没有找到名称为“{name}”的单位账号。" "请输入注册账号时用的单位全称；改过名的，请用注册时的旧名称。",
                "多次没有找到，请转人工客服。",
            )
        match = matches[0]
        ctx.set("unit_name", name)
        ctx.remember(unit_id=match.unit_id, renamed=match.matched_former_name)
        if match.matched_former_name:
            outcome.say(
                "这个名称是单位改名前的名称，按改名申诉办理：证件正面处上传证件正反面复印件（本人签字并加盖公章），"
                "证件反面处上传单位名称变更声明（加盖公章）。"
            )

    def _take_photo(self, ctx: Context, turn: Turn, slot: str) -> None:
        upload_id = turn.metadata.get("upload_id")
        if not upload_id:
            raise InvalidInput("这一步需要上传照片，而不是文字。")
        upload = self.service.upload_of_sender(str(upload_id), turn.sender_id)
        if upload.id in (ctx.slots.get("photo_front"), ctx.slots.get("photo_back")):
            raise InvalidInput("这张照片刚才已经上传过了，请上传另一面。")
        ctx.set(slot, upload.id)

    def _take_photo_front(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        self._take_photo(ctx, turn, "photo_front")

    def _take_photo_back(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        self._take_photo(ctx, turn, "photo_back")

    # -- document or unit already registered ------------------------------------

    def _next_registered_id(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        return self._next_registered(ctx, outcome)

    def _next_registered_unit(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        return self._next_registered(ctx, outcome)

    def _next_registered(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        account_id = self._account_in_question(ctx)
        if account_id is None:
            return self._needs_verification(ctx)
        account = self.service.account(account_id)
        kind = "自然人账号" if account.kind == AccountKind.NATURAL else "法人（单位）账号"
        outcome.say(
            f"这个{'单位' if ctx.flow == 'registered_unit' else '证件'}已经登记在{kind} "
            f"{mask_login_name(account.login_name)} 上，预留手机 {mask_phone(account.phone)}。"
            "请不要再注册新账号，直接用这个账号；密码不记得可以马上重置。",
            [RESET_BUTTON],
        )
        return None

    def _lookup_registered_id(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        text = checks.normalise(turn.text)
        number = (
            checks.parse_mainland_id(text)
            if re.fullmatch(r"\d{15,}[\dXx]?", text)
            else checks.parse_document_number(text, None)
        )
        holders = self.service.document_holders(number)
        if not holders:
            self._stop(
                ctx,
                outcome,
                "平台上没有账号登记这个证件号码，可以正常注册。若注册时仍提示已存在，请核对号码，"
                "或联系平台技术支持 010-88659000。",
            )
            return
        self._start_verification(ctx, holders[0], outcome)

    def _lookup_registered_unit(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        text = checks.normalise(turn.text).upper()
        if re.fullmatch(r"[0-9A-Z]{18}", text):
            reference = checks.parse_credit_code(text)
        else:
            reference = checks.parse_unit_name(turn.text)
        matches = self.service.find_units(reference)
        if not matches:
            self._stop(
                ctx,
                outcome,
                "平台上没有以这个名称或信用代码注册的单位账号。"
                "单位改过名的，请用注册时的旧名称再问我；"
                "仍提示已存在，请联系平台技术支持 010-88659000。",
            )
            return
        match = matches[0]
        if match.matched_former_name:
            outcome.say(
                "这是单位改名前的名称：单位账号仍以旧名称登记。找回账号后可在 修改法人信息 里更新名称；"
                "申诉时用旧名称，并上传单位名称变更声明（加盖公章）。"
            )
        self._start_verification(ctx, self.service.account(match.account_id), outcome)

    # -- real-name failure -------------------------------------------------------

    def _next_realname(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        account_id = self._account_in_question(ctx)
        if account_id is None:
            return self._needs_verification(ctx)
        if not ctx.data.get("diagnosed"):
            account = self.service.account(account_id)
            holders = self.service.document_holders(account.doc_number) if account.doc_number else []
            result = diagnosis.diagnose_realname(account, holders, self._today())
            ctx.remember(diagnosed=result.next.value)
            buttons = {
                diagnosis.RealnameNext.HUMAN: [HUMAN_BUTTON],
                diagnosis.RealnameNext.OTHER_ACCOUNT: [APPEAL_BUTTON],
            }.get(result.next)
            for finding in result.findings[:-1]:
                outcome.say(finding)
            outcome.say(result.findings[-1], buttons)
        if ctx.data["diagnosed"] != diagnosis.RealnameNext.UPLOAD.value:
            return None
        for slot in ("photo_front", "photo_back"):
            if not ctx.slots.get(slot):
                return slot
        self.service.open_review(account_id, ctx.slots["photo_front"], ctx.slots["photo_back"], ctx.sender_id)
        outcome.say(
            "已为您提交人工审核，账号状态现在是“实名认证审核中”。"
            "审核约 1–2 个工作日，结果短信通知，期间不需要重复提交。"
        )
        return None

    # -- missing grant -------------------------------------------------------------

    def _next_grant(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        account_id = self._account_in_question(ctx)
        if account_id is None:
            return self._needs_verification(ctx)
        if not ctx.slots.get("system_name"):
            return "system_name"
        if "request" not in ctx.data:
            account = self.service.account(account_id)
            result = diagnosis.diagnose_grant(account, parse_system(ctx.slots["system_name"]), self._today())
            for finding in result.findings:
                outcome.say(finding)
            ctx.remember(request=result.request.__dict__ if result.request else None)
        if not ctx.data["request"]:
            return None
        if not ctx.slots.get("confirm_request"):
            return "confirm_request"
        if ctx.slots["confirm_request"] == "yes":
            request = ctx.data["request"]
            masked = self.service.request_grant(
                account_id,
                request["unit_id"],
                parse_system(ctx.slots["system_name"]).name,
                request["role"],
                ctx.sender_id,
            )
            outcome.say(
                f"已给单位管理员（法人账号预留手机 {masked}）发短信，"
                f"请他授予您“{request['role']}”角色。授权后重新登录即可。"
            )
        else:
            outcome.say("好的，不发短信。您也可以直接联系单位管理员办理授权。")
        return None

    def _take_system_name(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        ctx.set("system_name", parse_system(turn.text).key)

    def _take_confirm_request(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        text = checks.normalise(turn.text)
        if turn.intent == "affirm" or re.search(r"^(好|是|要|可以|发|行|嗯|ok)", text, re.I):
            ctx.set("confirm_request", "yes")
        elif turn.intent == "deny" or re.search(r"^(不|别|算了|no)", text, re.I):
            ctx.set("confirm_request", "no")
        else:
            raise InvalidInput("请回答“发”或“不用”。")

    # -- registration lookup (garbled last step) -----------------------------------

    def _next_registration(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        return None if ctx.slots.get("account_ref") else "account_ref"

    def _lookup_registration(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        reference = _parse_reference(turn.text)
        if self.service.registration_exists(reference):
            outcome.say(
                "查到了：这个账号已经注册成功，最后一步的乱码不影响注册结果，直接登录即可"
                "（建议用最新版谷歌浏览器）。"
            )
        else:
            outcome.say("没有查到这个登录名或证件号码的账号，说明注册没有完成。请换用最新版谷歌浏览器重新注册。")

    # -- Torch centre ----------------------------------------------------------------

    def _next_torch(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        account_id = self._account_in_question(ctx)
        if account_id is None:
            return self._needs_verification(ctx)
        account = self.service.account(account_id)
        outcome.say(diagnosis.torch_explanation(account))
        return None

    def _lookup_torch(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        text = checks.normalise(turn.text).upper()
        key = checks.parse_phone(text) if re.fullmatch(r"\+?\d[\d\-]{8,}", text) else checks.parse_credit_code(text)
        accounts = self.service.torch_accounts(key)
        if not accounts:
            self._stop(
                ctx,
                outcome,
                "没有查到以这个号码从火炬中心迁移过来的账号。"
                "企业账号请用统一社会信用代码查，个人账号用注册手机号查；"
                "都查不到，请联系平台技术支持 010-88659000。",
            )
            return
        self._start_verification(ctx, accounts[0], outcome)

    # -- appeal status -------------------------------------------------------------------

    def _show_conversation_appeals(self, ctx: Context, turn: Turn, outcome: Outcome) -> bool:
        appeals = self.service.appeals_for(sender_id=turn.sender_id)
        if appeals:
            outcome.say(_appeal_lines(appeals))
        return bool(appeals)

    def _next_appeal_status(self, ctx: Context, outcome: Outcome) -> Optional[str]:
        if not ctx.data.get("appeal_phone"):
            return "account_ref"
        if not ctx.data.get("code_ok"):
            return "verification_code"
        outcome.say(_appeal_lines(self.service.appeals_for(phone=ctx.data["appeal_phone"])))
        return None

    def _lookup_appeal_status(self, ctx: Context, turn: Turn, outcome: Outcome) -> None:
        text = checks.normalise(turn.text)
        appeals = (
            self.service.appeals_for(phone=checks.parse_phone(text))
            if re.fullmatch(r"\+?\d{11,13}", text)
            else self.service.appeals_for(doc_number=text.upper())
        )
        if not appeals:
            self._stop(
                ctx,
                outcome,
                "没有查到用这个手机号或证件号码提交的申诉。"
                "在平台页面上提交的申诉，结果会短信通知；"
                "超过 2 个工作日没有消息，请联系平台技术支持 010-88659000。",
            )
            return
        phone = appeals[0].phone
        ctx.remember(appeal_phone=phone, code_phone=phone, purpose="appeal_status")
        self._send_code(
            ctx,
            outcome,
            phone,
            "appeal_status",
            f"为确认是您本人，已向申诉时填写的手机 {mask_phone(phone)} 发送验证码。",
        )

    # -- prompts ---------------------------------------------------------------------

    def _prompt(self, ctx: Context, slot: str) -> Dict[str, Any]:
        if slot == "account_ref":
            return {"text": ACCOUNT_REF_PROMPTS.get(ctx.flow, ACCOUNT_REF_PROMPTS["default"])}
        if slot == "verification_code":
            return {"text": "请输入短信里的 6 位验证码（没收到可以说“重发”；手机号已经不用了请说“手机号不用了”）。"}
        if slot in ("photo_front", "photo_back") and ctx.data.get("renamed"):
            return RENAMED_UNIT_PROMPTS[slot]
        if slot == "person_name" and ctx.slots.get("account_kind") == AccountKind.LEGAL.value:
            return {"text": "请告诉我主代办人的姓名（单位任意一人都可以，审核结果发给他）。"}
        return PROMPTS[slot]


ACCOUNT_REF_PROMPTS = {
    "reset": "请告诉我您的登录名（只含字母、数字和下划线）。",
    "registered_id": "请告诉我提示已被注册的证件号码。",
    "registered_unit": "请告诉我单位名称或统一社会信用代码。",
    "registration": "请告诉我注册时填的登录名或证件号码，我查一下注册有没有成功。",
    "torch": "请告诉我在火炬中心注册用的统一社会信用代码（企业）或手机号（个人）。",
    "appeal_status": "请告诉我申诉时填写的手机号或证件号码。",
    "default": "请告诉我您的登录名、证件号码或单位的统一社会信用代码，我先给账号的预留手机发验证码确认是您本人。",
}
RENAMED_UNIT_PROMPTS = {
    "photo_front": {
        "text": "请上传“证件正面”材料：证件正反面复印件，本人签字并加盖公章后拍照" "（jpg、jpeg 或 png，不超过 1 MB）。"
    },
    "photo_back": {
        "text": "请上传“证件反面”材料：单位名称变更声明，加盖公章后拍照" "（jpg、jpeg 或 png，不超过 1 MB）。"
    },
}
PROMPTS: Dict[str, Dict[str, Any]] = {
    "account_kind": {
        "text": "您要找回的是个人（自然人）账号，还是单位（法人）账号？",
        "buttons": [{"title": "个人账号", "payload": "个人账号"}, {"title": "单位账号", "payload": "单位账号"}],
    },
    "person_name": {"text": "请告诉我证件上的姓名。"},
    "doc_type": {
        "text": "请选择证件类型：",
        "buttons": [{"title": doc.name, "payload": doc.name} for doc in checks.DOCUMENT_TYPES],
    },
    "doc_number": {"text": "请输入证件号码。"},
    "phone": {"text": "请输入现在能收短信的手机号，审核结果和登录名会发到这个号码。"},
    "unit_name": {"text": "请输入注册单位账号时用的单位全称（改过名的请用旧名称）。"},
    "photo_front": {"text": "请上传本人签字的证件正面照片（jpg、jpeg 或 png，不超过 1 MB）。"},
    "photo_back": {"text": "请上传证件反面照片（jpg、jpeg 或 png，不超过 1 MB）。"},
    "system_name": {
        "text": "您要进入哪个系统？",
        "buttons": [{"title": system.name, "payload": system.name} for system in SYSTEMS],
    },
    "confirm_request": {
        "text": "要我给单位管理员发短信，请他为您授权吗？",
        "buttons": [{"title": "发短信提醒", "payload": "发"}, {"title": "不用", "payload": "不用"}],
    },
}


def _is_document_type(text: str) -> bool:
    try:
        checks.parse_document_type(text)
    except InvalidInput:
        return False
    return True


_IDENTIFIER = re.compile(r"[A-Za-z0-9][\w\-]{2,63}", re.ASCII)
_KIND_WORDS = re.compile(r"单位|法人|公司|企业|机构|个人|自然人|自己|本人")
# Answers the model may read as another request ("个人账号" as 忘记登录名, "人遗" as
# a question) but which are plainly the answer to the question asked.
# Answers with the shape of the value asked for: never a command, even when
# the model reads "stop_it" as 取消 (a word typed alone is not an identifier).
_VALUE_SHAPES: Dict[str, Callable[[str], bool]] = {
    "account_ref": lambda text: bool(_IDENTIFIER.fullmatch(text)),
    "verification_code": lambda text: bool(re.fullmatch(r"\d{6}", text)),
    "phone": lambda text: bool(re.fullmatch(r"(\+?86)?1\d{10}", text.replace("-", ""))),
    "doc_number": lambda text: bool(re.fullmatch(r"[0-9A-Za-z]{6,20}", text)) and any(c.isdigit() for c in text),
}
_RECOGNISERS: Dict[str, Callable[[str], bool]] = {
    "account_kind": lambda text: len(text) <= 8 and bool(_KIND_WORDS.search(text)),
    "doc_type": lambda text: len(text) <= 16 and _is_document_type(text),
    "system_name": lambda text: len(text) <= 20 and find_system(text) is not None,
    "confirm_request": lambda text: len(text) <= 6,
}


def _recognised(slot: str, text: str) -> bool:
    recogniser = _RECOGNISERS.get(slot)
    return bool(recogniser and recogniser(checks.normalise(text)))


def _has_value_shape(slot: str, text: str) -> bool:
    shape = _VALUE_SHAPES.get(slot)
    return bool(shape and shape(checks.normalise(text)))


def _looks_like_value(text: str) -> bool:
    """An identifier rather than a sentence: digits, Latin letters, underscores."""
    return bool(re.fullmatch(r"[\w\-+ ]{4,40}", checks.normalise(text) or "", re.ASCII))


def _parse_reference(text: str) -> str:
    value = checks.normalise(text)
    value = re.sub(
        r"^(?:我的)?(?:登录名|用户名|账号|帐号|证件号码?|身份证号码?|手机号?|信用代码)" r"(?:是|为)?[:：]?", "", value
    )
    checks.refuse_forbidden(value, "号码")
    if not re.fullmatch(r"[\w\-]{3,64}", value, re.ASCII):
        raise InvalidInput("请输入登录名、证件号码、手机号或统一社会信用代码（只含字母、数字、下划线）。")
    return value


def _appeal_lines(appeals: List[Any]) -> str:
    labels = {"pending": "审核中", "approved": "已通过", "rejected": "未通过"}
    lines = []
    for appeal in appeals[:5]:
        state = labels[getattr(appeal.state, "value", appeal.state)]
        reason = f"，原因：{appeal.reason}" if appeal.reason and state == "未通过" else ""
        lines.append(f"申诉 {appeal.number}（{shown_time(appeal.created_at)} 提交）：{state}{reason}")
    return "您的申诉：\n" + "\n".join(lines) + "\n审核中的申诉约 1–2 个工作日出结果，结果短信通知。"
