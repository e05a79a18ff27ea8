"""The steps every flow shares: who the user is, SMS codes, the account lookup, misses.

Contract:

* ``Steps`` carries the account service and the clock (the engine makes one)
  and the shared steps: the account verified in this conversation (by a code
  or the platform's identity token, for ``VERIFIED_FOR``), starting the
  verification of a looked-up account, sending a code.
* ``take_verification_code`` reads the ``verification_code`` answer and
  ``lookup_account`` the ``account_ref`` answer of flows without a lookup of
  their own; both have the reader signature ``(steps, ctx, turn, outcome)``.
* ``verification_findings`` says in words what these steps left in
  ``flow_data`` (for the agent's summary).

Privacy: before a code sent to the account's reserved phone has been entered
(or the identity token is presented), nothing account-specific is shown, not
even whether the account exists: a lookup that finds nothing answers exactly
as one that finds an account ("如果账号存在，验证码已发到预留手机 1**********"),
and goes on to the code question; its code (``NO_PHONE``) is never sent and
never right.  The phone is never shown before verification (``HIDDEN_PHONE``),
a phone over its SMS limit is not mentioned (no SMS, same answer), and every
lookup counts against the conversation's and the client address's limits
(``Steps.take_lookup``; bot/accounts/limits.py).  Afterwards identity data is
masked.

Trust: the slots come back from Rasa with every turn, and whoever can call
the action server can write them.  So the verified account
(``verified_account``: ``<account id>|<until>|<HMAC>``) and the flow's
private data (``flow_data``, with its HMAC under ``SIGNATURE_KEY``) are
signed with ``VERIFICATION_SIGNING_KEY`` for this conversation only;
``trusted_slots`` drops a value without a valid signature for this
conversation (forged, altered, copied from another conversation, expired),
so a forged tracker verifies nobody.

Minimised: what goes back to Rasa holds identity values masked; the full
values stay server-side for the conversation (``privacy``, ``Steps.signed``
and ``Steps.trusted``) until the flow ends.  Every verification (code or identity
token) is recorded in the audit log; an identity token verifies one
conversation only (``AccountService.record_verification``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

from bot import config
from bot.accounts import checks, identity
from bot.accounts.checks import InvalidInput
from bot.accounts.diagnosis import review_duration
from bot.accounts.flows import privacy
from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.masking import mask_phone
from bot.accounts.models import Account
from bot.accounts.service import (
    CODE_LIFETIME,
    AccountService,
    CodeRefused,
    CodeRejected,
    Requester,
    minutes_of,
)
from bot.language import DEFAULT_LANGUAGE, tr
from bot.timezones import local_time, support_zone

VERIFIED_FOR = timedelta(minutes=30)
# The phone a code went to, as shown before verification: the same for every account, and for none.
HIDDEN_PHONE = "1**********"
# code_phone when the lookup found no account, or one without a reserved phone: no SMS goes out.
NO_PHONE = "none"
# What users say, in Chinese or English, to get a new code, or when the reserved phone is gone.
RESEND_WORDS = re.compile(
    r"重发|重新发|再发|没收到|没有收到|resend|send (?:it |the code )?again|new code|"
    r"(?:didn'?t|did not|haven'?t|have not|never) (?:get|got|receive)|not (?:received|arrived)|no sms",
    re.I,
)
LOST_PHONE_WORDS = re.compile(
    r"不用了|停机|换号|换了号|丢了|注销|不是我的|收不到|no longer (?:use|have)|don'?t (?:use|have) (?:that|this|the) "
    r"(?:phone|number)|lost (?:my |the )?phone|changed (?:my |the )?(?:phone|number)|not my (?:phone|number)|"
    r"(?:can'?t|cannot) receive|number is (?:gone|cancelled|canceled|deactivated)|old (?:phone|number)",
    re.I,
)
FINISHED = "已给出最后的答复，流程到此结束"
SIGNATURE_KEY = "_signature"  # flow_data's own HMAC
# When VERIFICATION_SIGNING_KEY is empty (tests, a Python shell): one key for this process.
_PROCESS_KEY = secrets.token_urlsafe(32)


# -- signed state ----------------------------------------------------------------------


def default_signing_key() -> str:
    return config.get("VERIFICATION_SIGNING_KEY") or _PROCESS_KEY


def _mac(key: str, *parts: Any) -> str:
    message = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    digest = hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same(supplied: Any, expected: str) -> bool:
    return isinstance(supplied, str) and hmac.compare_digest(supplied.encode("utf-8"), expected.encode("ascii"))


def signed_verification(sender_id: str, account_id: int, until: datetime, key: Optional[str] = None) -> str:
    """The ``verified_account`` value: the account, until when, and the HMAC binding both to the conversation."""
    stamp = until.isoformat()
    return (
        f"{account_id}|{stamp}|{_mac(key or default_signing_key(), 'verified_account', sender_id, account_id, stamp)}"
    )


def verified_account_of(value: Any, sender_id: str, now: datetime, key: Optional[str] = None) -> Optional[int]:
    """The account a ``verified_account`` value names, if signed for this conversation and not expired."""
    parts = value.split("|") if isinstance(value, str) else []
    if len(parts) != 3 or not re.fullmatch(r"[0-9]{1,12}", parts[0]):
        return None
    account_id, stamp, signature = int(parts[0]), parts[1], parts[2]
    if not _same(signature, _mac(key or default_signing_key(), "verified_account", sender_id, account_id, stamp)):
        return None
    try:
        until = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return account_id if until >= now else None


def signed_flow_data(data: Mapping[str, Any], sender_id: str, key: Optional[str] = None) -> Dict[str, Any]:
    """``flow_data`` with its HMAC for this conversation."""
    plain = {name: value for name, value in data.items() if name != SIGNATURE_KEY}
    return {**plain, SIGNATURE_KEY: _mac(key or default_signing_key(), "flow_data", sender_id, plain)}


def flow_data_of(value: Any, sender_id: str, key: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """``flow_data`` without its signature, if signed for this conversation; otherwise None (a fresh flow)."""
    if not isinstance(value, dict):
        return None
    plain = {name: item for name, item in value.items() if name != SIGNATURE_KEY}
    if not _same(value.get(SIGNATURE_KEY), _mac(key or default_signing_key(), "flow_data", sender_id, plain)):
        return None
    return plain


def trusted_slots(slots: Mapping[str, Any], sender_id: str, now: datetime, key: Optional[str] = None) -> Dict[str, Any]:
    """The slots with ``verified_account`` and ``flow_data`` emptied unless this server signed them for this
    conversation (and the verification has not expired)."""
    trusted = dict(slots)
    if verified_account_of(slots.get("verified_account"), sender_id, now, key) is None:
        trusted["verified_account"] = None
    trusted["flow_data"] = flow_data_of(slots.get("flow_data"), sender_id, key)
    return trusted


def _unix_time(moment: datetime) -> float:
    """The service clock's naive UTC time as unix seconds."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class Steps:
    """The account service, the clock, and the steps that need them."""

    def __init__(
        self,
        service: AccountService,
        token_secret: str,
        now: Callable[[], datetime],
        signing_key: Optional[str] = None,
    ) -> None:
        self.service = service
        self.token_secret = token_secret
        self.now = now
        self.signing_key = signing_key or default_signing_key()
        self.token_audience = config.get("IDENTITY_TOKEN_AUDIENCE")
        self.token_max_age = config.get_int("IDENTITY_TOKEN_MAX_AGE")

    def today(self) -> date:
        """Today where the users are (SUPPORT_TIMEZONE): review and grant dates are their dates."""
        return local_time(self.now(), support_zone()).date()

    # -- who the user is ---------------------------------------------------------

    # -- signed state ------------------------------------------------------------

    def trusted(self, slots: Mapping[str, Any], sender_id: str) -> Dict[str, Any]:
        """The slots as the steps use them: signatures checked, identity values back in full."""
        trusted = trusted_slots(slots, sender_id, self.now(), self.signing_key)
        if not privacy.needs_restoring(trusted):
            return trusted
        return privacy.restored(trusted, self.service.kept_values(sender_id))

    def signed(self, ctx: Context) -> Dict[str, Any]:
        """What the step changed, as Rasa may store it: identity values masked (kept in full
        server-side), ``flow_data`` signed for the conversation."""
        changes, kept = privacy.masked(ctx.changes)
        self.service.keep_values(ctx.sender_id, kept)
        if changes.get("flow_data") is not None:
            changes["flow_data"] = signed_flow_data(changes["flow_data"], ctx.sender_id, self.signing_key)
        return changes

    def forget(self, sender_id: str) -> None:
        """The flow is over: its identity values are deleted (the notice's mark stays)."""
        self.service.forget_values(sender_id, privacy.KEPT_NAMES)

    def notice_due(self, sender_id: str) -> bool:
        """True once per conversation: the privacy notice has not been shown yet (now it counts as shown)."""
        if privacy.NOTICE_KEPT in self.service.kept_values(sender_id):
            return False
        self.service.keep_values(sender_id, {privacy.NOTICE_KEPT: "yes"})
        return True

    # -- who the user is ---------------------------------------------------------

    def verified_account_id(self, ctx: Context) -> Optional[int]:
        return verified_account_of(ctx.verified, ctx.sender_id, self.now(), self.signing_key)

    def mark_verified(self, ctx: Context, account_id: int, method: str, token_id: Optional[str] = None) -> bool:
        """Audits the verification and signs it into ``verified_account``; False when refused (a
        token another conversation used)."""
        window = timedelta(seconds=self.token_max_age + identity.CLOCK_SKEW_SECONDS)
        if not self.service.record_verification(ctx.sender_id, account_id, method, token_id, window):
            return False
        ctx.verified = signed_verification(ctx.sender_id, account_id, self.now() + VERIFIED_FOR, self.signing_key)
        ctx.changes["verified_account"] = ctx.verified
        return True

    def accept_identity_token(self, ctx: Context, turn: Turn) -> None:
        token = turn.metadata.get("identity_token")
        if not token or not self.token_secret:
            return
        try:
            vouched = identity.verify(
                token, self.token_secret, self.token_audience, self.token_max_age, now=_unix_time(self.now())
            )
        except identity.InvalidToken as refusal:
            self.service.record_token_refusal(ctx.sender_id, str(refusal))
            return
        account = self.service.account_by_login(vouched.login_name)
        if account is None:
            self.service.record_token_refusal(ctx.sender_id, "no account has the login name", None, vouched.token_id)
            return
        if self.verified_account_id(ctx) == account.id:
            return  # verified in this conversation already (the widget sends its token with every message)
        self.mark_verified(ctx, account.id, "identity_token", vouched.token_id)

    def account_in_question(self, ctx: Context) -> Optional[int]:
        """The verified account, unless this flow looked up another one, which needs its own code."""
        verified = self.verified_account_id(ctx)
        # A lookup that found nothing leaves the target None: that is not the verified account either.
        if verified is None or ("target" in ctx.data and ctx.data["target"] != verified):
            return None
        return verified

    def needs_verification(self, ctx: Context) -> Optional[str]:
        """The next slot of the shared verification steps, or None once verified."""
        if self.account_in_question(ctx) is not None:
            return None
        if "target" not in ctx.data:
            return "account_ref"
        return "verification_code"

    # -- limits ------------------------------------------------------------------

    @staticmethod
    def requester(ctx: Context) -> Requester:
        return Requester(ctx.sender_id, ctx.client_address)

    def take_lookup(self, ctx: Context) -> None:
        """Counts a lookup against the conversation's and the client address's limits (``RateLimited``
        says how long to wait); called before the lookup, so found and not found count alike."""
        self.service.take_lookup(self.requester(ctx))

    # -- codes -------------------------------------------------------------------

    def start_verification(
        self, ctx: Context, account: Optional[Account], outcome: Outcome, purpose: str = "verify"
    ) -> None:
        """The looked-up account (None: nothing found) becomes the flow's target; a code goes to its
        reserved phone.  Found or not, with a phone or without, the user sees the same answer."""
        if account is not None and account.id == self.verified_account_id(ctx):  # verified here already
            ctx.remember(target=account.id)
            return
        phone = account.phone if account is not None else None
        ctx.remember(target=account.id if account else None, code_phone=phone or NO_PHONE, purpose=purpose)
        self.send_code(ctx, outcome, phone, purpose, lookup_code_sent(ctx.language), quiet=True)

    def send_code(
        self, ctx: Context, outcome: Outcome, phone: Optional[str], purpose: str, sent_text: str, quiet: bool = False
    ) -> bool:
        """A code to ``phone`` (None: a code nobody receives); ``quiet``: a phone over its limit
        is not mentioned (before verification, the refusal would tell that the account exists)."""
        try:
            self.service.send_code(phone, purpose, self.requester(ctx), quiet=quiet)
            outcome.say(sent_text)
            return True
        except CodeRefused as refusal:
            outcome.say(refusal.text(ctx.language))
            return False


def lookup_code_sent(language: str = DEFAULT_LANGUAGE) -> str:
    """What a lookup answers, found or not."""
    minutes = minutes_of(CODE_LIFETIME)
    return tr("flows.lookup_code_sent", language, phone=HIDDEN_PHONE, minutes=minutes, digits=checks.CODE_DIGITS)


def take_verification_code(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """Reads the code sent to ``flow_data["code_phone"]``; "重发" sends a new one, a lost phone ends the flow.

    A looked-up account's phone (``hidden``) is never shown and its limit never mentioned;
    ``NO_PHONE`` (nothing found) goes through the same steps with a code nobody has.
    """
    if not ctx.data.get("code_phone"):  # no code of this flow (flow_data was not ours): start again
        ctx.remember(finished=True)
        raise InvalidInput.of("flows.verification_expired")
    code_phone, purpose = ctx.data["code_phone"], ctx.data.get("purpose", "verify")
    phone = None if code_phone == NO_PHONE else code_phone
    hidden = "target" in ctx.data or bool(ctx.data.get("hidden"))
    shown = HIDDEN_PHONE if hidden else mask_phone(phone)
    if "target" in ctx.data and LOST_PHONE_WORDS.search(turn.text or ""):
        ctx.remember(finished=True)
        raise InvalidInput.of("flows.lost_phone", review=review_duration)
    if RESEND_WORDS.search(turn.text or ""):
        steps.send_code(ctx, outcome, phone, purpose, tr("flows.code_resent", ctx.language, phone=shown), quiet=hidden)
        raise InvalidInput.of("flows.enter_new_code", digits=checks.CODE_DIGITS)
    code = checks.parse_code(turn.text)
    try:
        steps.service.check_code(phone, purpose, code, ctx.sender_id)
    except CodeRejected as rejection:
        if rejection.final:
            resent = tr("flows.code_rejected_resent", ctx.language, rejection=rejection.text(ctx.language), phone=shown)
            if steps.send_code(ctx, outcome, phone, purpose, resent, quiet=hidden):
                raise InvalidInput.of("flows.enter_new_code", digits=checks.CODE_DIGITS) from None
            raise rejection from None  # nothing new was sent: the old code is dead
        raise
    ctx.set("verification_code", "accepted")
    if ctx.data.get("target"):
        steps.mark_verified(ctx, ctx.data["target"], "sms_code")
    ctx.remember(code_ok=True)
    outcome.say(tr("flows.code_accepted", ctx.language))


# -- the account lookup ---------------------------------------------------------------


def lookup_account(steps: Steps, ctx: Context, turn: Turn, outcome: Outcome) -> None:
    """The account a login name, document number, phone or credit code names (the first, when several
    do); then its code.  Found or not, the same answer."""
    reference = parse_reference(turn.text)
    steps.take_lookup(ctx)
    accounts = steps.service.accounts_for_reference(reference)
    steps.start_verification(ctx, accounts[0] if accounts else None, outcome)


def parse_reference(text: str) -> str:
    label = r"login\s*name|user\s*name|account|id(?:\s+number)?|(?:passport|document|phone|mobile)(?:\s+number)?"
    value = checks.normalise(checks.strip_english_label(text, label))
    value = re.sub(
        r"^(?:我的)?(?:登录名|用户名|账号|帐号|证件号码?|身份证号码?|手机号?|信用代码)" r"(?:是|为)?[:：]?", "", value
    )
    checks.refuse_forbidden(value, "checks.field_number")
    if not re.fullmatch(r"[\w\-]{3,64}", value, re.ASCII):
        raise InvalidInput.of("flows.reference_invalid")
    return value


def looks_like_value(text: str) -> bool:
    """An identifier rather than a sentence: digits, Latin letters, underscores."""
    return bool(re.fullmatch(r"[\w\-+ ]{4,40}", checks.normalise(text) or "", re.ASCII))


# -- what the steps found, for the agent ----------------------------------------------------


def verification_findings(
    flow_data: Mapping[str, Any],
    *,
    looked_up_by: str = "用户给的登录名、证件号码或信用代码",
    found: str = "已找到要办理的账号",
    confirmed: str = "身份已确认",
) -> List[str]:
    """The lookup and the code in words: the account found (or not), the code sent or entered, the end."""
    words = []
    if flow_data.get("target"):
        words.append(found)
    elif "target" in flow_data:
        words.append(f"按{looked_up_by}没有找到账号（用户看到的回答和找到时一样，验证码没有发出）")
    phone = flow_data.get("code_phone")
    if phone == NO_PHONE:
        phone = None
        if flow_data.get("target"):
            words.append("这个账号没有预留手机号，验证码没有发出")
    if flow_data.get("code_ok"):
        words.append(f"短信验证码已通过（{mask_phone(phone)}），{confirmed}" if phone else confirmed)
    elif phone:
        words.append(f"验证码发往 {mask_phone(phone)}，还没有验证通过")
    if flow_data.get("finished"):
        words.append(FINISHED)
    return words
