"""The account service: every rule about accounts, codes, links, appeals and
reviews, in one place between the actions (or the CLI) and the tables.

Each public method runs in its own transaction.  Errors the user can fix
raise ``InvalidInput`` (or a subclass) with a Chinese explanation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot import config
from bot.accounts import checks, limits
from bot.accounts.checks import InvalidInput
from bot.accounts.masking import mask_document, mask_login_name, mask_phone
from bot.accounts.models import (
    Account,
    AccountKind,
    Appeal,
    ConversationValue,
    Decision,
    ManualReview,
    OneTimeCode,
    RealnameEvent,
    RealnameState,
    ResetToken,
    SmsMessage,
    Unit,
    UnitFormerName,
    Upload,
)
from bot.accounts.sms import SmsGateway, gateway_from_settings
from bot.accounts.uploads import UploadStore, masked_thumbnail
from bot.language import DEFAULT_LANGUAGE, tr
from bot.store import AuditEntry, Database, NotFound, hash_password, record_audit, utcnow

CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_WRONG_TRIES = 5
RESET_LINK_LIFETIME = timedelta(minutes=15)
# When SMS_CODE_SECRET is empty (tests, a Python shell): one key for this process.
_PROCESS_CODE_KEY = secrets.token_urlsafe(32)
# A manual review (real-name photos, an appeal): users are told it takes
# REVIEW_DURATION, and a review is late after REVIEW_WORKING_DAYS.
REVIEW_WORKING_DAYS = 2
REVIEW_DURATION = f"1–{REVIEW_WORKING_DAYS} 个工作日"


def minutes_of(lifetime: timedelta) -> int:
    """A lifetime in whole minutes, as the texts state it ("5 分钟内有效")."""
    return lifetime // timedelta(minutes=1)


class CodeRefused(InvalidInput):
    """No code was sent (rate limit); the message says when to try again."""


@dataclass(frozen=True)
class Requester:
    """Who asks for a lookup or an SMS: the conversation, and the client address its channel saw
    (bot/channels/client_address.py; a Telegram chat is its own address).  Neither is typed by
    the user, so neither can be chosen to dodge the limits."""

    conversation: str
    address: str = ""

    @property
    def address_key(self) -> str:
        # Without an address (an action called outside the channels), all such requests count together.
        return self.address or "unknown"


class CodeRejected(InvalidInput):
    """The code did not match; ``final`` when a new code is needed.  Worded by a catalogue key
    (checks.yml's ``code_*``), like ``InvalidInput.of``."""

    def __init__(self, key: str, final: bool, **values: Any) -> None:
        super().__init__(tr(key, DEFAULT_LANGUAGE, **values), key, values)
        self.final = final


class LinkRefused(InvalidInput):
    pass


class _Replayed(Exception):
    """Rolls back a verification whose identity token another conversation used."""


def _digest(secret_value: str) -> str:
    return hashlib.sha256(secret_value.encode()).hexdigest()


def add_working_days(start: date, days: int) -> date:
    current = start
    while days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


@dataclass(frozen=True)
class UnitMatch:
    unit_id: int
    account_id: int
    current_name: str
    matched_former_name: bool  # the user named a name the unit no longer has: a rename


@dataclass(frozen=True)
class AppealDraft:
    kind: AccountKind
    phone: str
    front_upload_id: str
    back_upload_id: str
    person_name: Optional[str] = None
    doc_type: Optional[str] = None
    doc_number: Optional[str] = None
    unit_id: Optional[int] = None
    unit_name: Optional[str] = None
    renamed: bool = False


class AccountService:
    def __init__(
        self,
        database: Database,
        sms: Optional[SmsGateway] = None,
        uploads: Optional[UploadStore] = None,
        clock: Callable[[], datetime] = utcnow,
        code_key: Optional[str] = None,
    ) -> None:
        self.db = database
        self.sms = sms or gateway_from_settings()
        self.uploads = uploads or UploadStore.from_config()
        self.now = clock
        self.code_key = code_key or config.get("SMS_CODE_SECRET") or _PROCESS_CODE_KEY

    # -- audit ---------------------------------------------------------------

    def _audit(
        self, session: Session, actor: str, action: str, account_id: Optional[int] = None, **detail: object
    ) -> None:
        record_audit(session, self.now(), actor, action, account_id, detail)

    # -- verifications ---------------------------------------------------------

    def record_verification(
        self,
        sender_id: str,
        account_id: int,
        method: str,
        token_id: Optional[str] = None,
        token_window: timedelta = timedelta(0),
    ) -> bool:
        """Audits that the conversation proved it holds the account (``method``: ``sms_code``
        or ``identity_token``).

        With a ``token_id`` (an identity token's jti) this is also the replay check: a
        token accepted in another conversation within ``token_window`` is refused (False),
        and the refusal audited instead.  Record and check are one transaction, locked
        per token on PostgreSQL, so two conversations racing with one token get one yes.
        """
        actor = f"user:{sender_id}"
        detail: Dict[str, object] = {"method": method}
        if token_id:
            detail["token_id"] = token_id
        try:
            with self.db.session() as session:
                if token_id and session.get_bind().dialect.name == "postgresql":
                    session.execute(
                        sql_text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"identity_token:{token_id}"}
                    )
                # Written first: on SQLite this takes the write lock before the check reads.
                self._audit(session, actor, "identity_verified", account_id, **detail)
                session.flush()
                if token_id and self._token_used_elsewhere(session, token_id, actor, self.now() - token_window):
                    raise _Replayed
        except _Replayed:
            self.record_token_refusal(sender_id, "token already used in another conversation", account_id, token_id)
            return False
        return True

    def _token_used_elsewhere(self, session: Session, token_id: str, actor: str, since: datetime) -> bool:
        # The detail is json.dumps of a dict holding "token_id"; a jti is [A-Za-z0-9_-] only.
        needle = json.dumps({"token_id": token_id})[1:-1]
        return (
            session.execute(
                select(AuditEntry.id)
                .where(
                    AuditEntry.action == "identity_verified",
                    AuditEntry.at >= since,
                    AuditEntry.actor != actor,
                    AuditEntry.detail.contains(needle, autoescape=True),
                )
                .limit(1)
            ).first()
            is not None
        )

    def record_token_refusal(
        self, sender_id: str, reason: str, account_id: Optional[int] = None, token_id: Optional[str] = None
    ) -> None:
        """Audits an identity token that verified nobody, and why."""
        detail: Dict[str, object] = {"reason": reason}
        if token_id:
            detail["token_id"] = token_id
        with self.db.session() as session:
            self._audit(session, f"user:{sender_id}", "identity_token_refused", account_id, **detail)

    # -- lookups -------------------------------------------------------------

    def account(self, account_id: int) -> Account:
        with self.db.session() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound(f"no account {account_id}")
            # Loaded for callers outside the session.
            _ = account.unit, account.grants, account.realname_events, account.reviews
            if account.unit:
                _ = account.unit.systems, account.unit.former_names
            for grant in account.grants:  # diagnose_grant reads the granting unit and its systems
                _ = grant.unit.systems
            return account

    def account_details(self, login_name: str) -> Optional[Account]:
        """The account with this login name (any letter case), with everything the
        back office shows of it (unit, grants both ways, reviews, real-name
        history) loaded for callers outside the session; None if there is none."""
        with self.db.session() as session:
            account = session.execute(
                select(Account).where(func.lower(Account.login_name) == login_name.lower())
            ).scalar_one_or_none()
            if account is None:
                return None
            _ = account.realname_events, account.reviews
            for grant in account.grants:
                _ = grant.unit
            unit = account.unit
            if unit is not None:
                _ = unit.main_agent, unit.former_names, unit.systems
                for grant in unit.grants:
                    _ = grant.account
            return account

    def logins(self, account_ids: Iterable[Optional[int]]) -> Dict[int, str]:
        """Login names by account id (ids that are None or unknown are left out)."""
        ids = sorted({account_id for account_id in account_ids if account_id})
        if not ids:
            return {}
        with self.db.session() as session:
            rows = session.execute(select(Account.id, Account.login_name).where(Account.id.in_(ids)))
            return {account_id: login for account_id, login in rows}

    def accounts_by_login(self, login_names: Iterable[str]) -> Dict[str, Account]:
        """The accounts with exactly these login names, by login name."""
        names = list(login_names)
        if not names:
            return {}
        with self.db.session() as session:
            accounts = session.execute(select(Account).where(Account.login_name.in_(names))).scalars()
            return {account.login_name: account for account in accounts}

    def count_accounts_except(self, login_names: Iterable[str]) -> int:
        """How many accounts have none of these login names (any letter case)."""
        lowered = [name.lower() for name in login_names]
        with self.db.session() as session:
            return session.execute(
                select(func.count()).select_from(Account).where(func.lower(Account.login_name).notin_(lowered))
            ).scalar_one()

    def account_by_login(self, login_name: str) -> Optional[Account]:
        with self.db.session() as session:
            return session.execute(
                select(Account).where(func.lower(Account.login_name) == login_name.lower())
            ).scalar_one_or_none()

    def accounts_for_reference(self, reference: str) -> List[Account]:
        """Accounts a user may mean by a login name, document number, credit code or phone."""
        value = checks.normalise(reference)
        with self.db.session() as session:
            query = (
                select(Account)
                .outerjoin(Unit, Unit.account_id == Account.id)
                .where(
                    or_(
                        func.lower(Account.login_name) == value.lower(),
                        func.upper(Account.doc_number) == value.upper(),
                        Unit.credit_code == value.upper(),
                        Account.phone == value,
                    )
                )
                .order_by(Account.id)
            )
            return list(session.execute(query).scalars())

    def document_holders(self, doc_number: str) -> List[Account]:
        """Accounts registered with the document, the real-name verified one first."""
        with self.db.session() as session:
            holders = list(
                session.execute(
                    select(Account).where(func.upper(Account.doc_number) == doc_number.upper()).order_by(Account.id)
                ).scalars()
            )
        return sorted(holders, key=lambda account: not account.state.is_verified)

    def find_units(self, name_or_code: str) -> List[UnitMatch]:
        """Units by exact current name, former name or credit code."""
        value = checks.normalise(name_or_code)
        with self.db.session() as session:
            current = (
                session.execute(select(Unit).where(or_(Unit.name == value, Unit.credit_code == value.upper())))
                .scalars()
                .all()
            )
            matches = [UnitMatch(unit.id, unit.account_id, unit.name, False) for unit in current]
            former = (
                session.execute(select(Unit).join(UnitFormerName).where(UnitFormerName.name == value)).scalars().all()
            )
            matches += [
                UnitMatch(unit.id, unit.account_id, unit.name, True)
                for unit in former
                if unit.id not in {m.unit_id for m in matches}
            ]
            return matches

    def registration_exists(self, reference: str) -> Optional[AccountKind]:
        """For a garbled last registration step: did the account get created?"""
        accounts = self.accounts_for_reference(reference)
        return AccountKind(accounts[0].kind) if accounts else None

    def torch_accounts(self, old_user_name: str) -> List[Account]:
        """Accounts moved from the Torch centre under this old user name (credit code or phone)."""
        with self.db.session() as session:
            return list(
                session.execute(
                    select(Account)
                    .where(Account.torch_key == checks.normalise(old_user_name).upper())
                    .order_by(Account.id)
                ).scalars()
            )

    # -- rate limits -------------------------------------------------------------

    def take_lookup(self, requester: Requester) -> None:
        """Counts a lookup (login name, document, unit, phone, appeal) for the conversation and its
        client address; raises ``RateLimited`` (an ``InvalidInput``) when either has had enough."""
        with self.db.session() as session:
            limits.take(
                session,
                self.now(),
                [
                    (limits.LOOKUPS_PER_CONVERSATION, requester.conversation),
                    (limits.LOOKUPS_PER_ADDRESS, requester.address_key),
                ],
            )

    @staticmethod
    def _sms_budgets(requester: Optional[Requester]) -> List[Tuple[limits.Limit, str]]:
        """The limits every SMS a user asks for counts against (none outside a chat: CLI, back office)."""
        if requester is None:
            return []
        return [
            (limits.SMS_PER_CONVERSATION, requester.conversation),
            (limits.SMS_PER_ADDRESS, requester.address_key),
            (limits.SMS_BUDGET, ""),
        ]

    # -- one-time codes --------------------------------------------------------

    def _code_mac(self, phone: str, code: str) -> str:
        return hmac.new(self.code_key.encode("utf-8"), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    def send_code(
        self, phone: Optional[str], purpose: str, requester: Optional[Requester] = None, *, quiet: bool = False
    ) -> None:
        """A new code (``checks.CODE_DIGITS`` digits) by SMS to ``phone``, for the requester's conversation.

        Counts against the requester's SMS limits (conversation, client address, the
        hourly budget: ``CodeRefused`` when spent) and the phone's (one a minute,
        ``SMS_LIMIT_PER_PHONE`` an hour).  Without a ``phone`` (the lookup found no
        account, or it has no reserved phone), or over the phone's limits when
        ``quiet``, no SMS goes out but a code that can never be entered right is
        recorded all the same: the conversation sees exactly what it would have seen
        (the same answers, the same tries), so nothing tells whether the account
        exists.  A conversation's code still valid stays valid then (the user may
        have it).
        """
        budgets = self._sms_budgets(requester)
        conversation = requester.conversation if requester else None
        actor = f"user:{conversation}" if conversation else "assistant"
        self._refuse_a_second_code_within_a_minute(phone or "", conversation)
        if phone:
            try:
                self._send_code(phone, purpose, conversation, budgets, actor)
                return
            except limits.RateLimited as refusal:
                if not (quiet and refusal.limit in (limits.SMS_PER_PHONE, limits.SMS_PER_PHONE_MINUTE)):
                    raise CodeRefused(str(refusal), refusal.key, refusal.values) from None
        now = self.now()
        try:
            with self.db.session() as session:
                limits.take(session, now, budgets)
                kept = self._live_code(session, phone or "", purpose, conversation)
                session.add(
                    OneTimeCode(
                        phone=phone or "",
                        sender_id=conversation,
                        purpose=purpose,
                        code_hash=kept.code_hash if kept else self._code_mac(phone or "", secrets.token_hex(16)),
                        delivered=False,
                        created_at=now,
                        expires_at=now + CODE_LIFETIME,
                    )
                )
                reason = "phone over its SMS limit" if phone else "no reserved phone or no account"
                self._audit(session, actor, "code_withheld", phone=mask_phone(phone), purpose=purpose, reason=reason)
        except limits.RateLimited as refusal:
            raise CodeRefused(str(refusal), refusal.key, refusal.values) from None

    def _refuse_a_second_code_within_a_minute(self, phone: str, conversation: Optional[str]) -> None:
        """One code a minute per conversation (sent or not, to any phone: so the refusal tells nothing
        about an account); outside a chat, one a minute per phone."""
        now = self.now()
        owner = OneTimeCode.sender_id == conversation if conversation else OneTimeCode.sender_id.is_(None)
        same = owner if conversation else and_(owner, OneTimeCode.phone == phone)
        with self.db.session() as session:
            last = session.execute(
                select(func.max(OneTimeCode.created_at)).where(
                    same, OneTimeCode.created_at > now - limits.SMS_PER_PHONE_MINUTE.window
                )
            ).scalar_one_or_none()
        if last is not None:
            minute = limits.SMS_PER_PHONE_MINUTE
            wait = last + minute.window - now
            raise CodeRefused(minute.refused(wait), minute.refusal, minute.refusal_values(wait))

    def _send_code(
        self,
        phone: str,
        purpose: str,
        conversation: Optional[str],
        budgets: List[Tuple[limits.Limit, str]],
        actor: str,
    ) -> None:
        now = self.now()
        with self.db.session() as session:
            limits.take(session, now, budgets + [(limits.SMS_PER_PHONE, phone), (limits.SMS_PER_PHONE_MINUTE, phone)])
            code = f"{secrets.randbelow(10**checks.CODE_DIGITS):0{checks.CODE_DIGITS}d}"
            session.add(
                OneTimeCode(
                    phone=phone,
                    sender_id=conversation,
                    purpose=purpose,
                    code_hash=self._code_mac(phone, code),
                    delivered=True,
                    created_at=now,
                    expires_at=now + CODE_LIFETIME,
                )
            )
            self.sms.send(
                session,
                phone,
                f"您的验证码是 {code}，{minutes_of(CODE_LIFETIME)} 分钟内有效。"
                "请勿告诉他人；工作人员不会向您索要验证码。",
                purpose,
                now,
            )
            self._audit(session, actor, "code_sent", phone=mask_phone(phone), purpose=purpose)

    def _latest_code(
        self, session: Session, phone: str, purpose: str, conversation: Optional[str]
    ) -> Optional[OneTimeCode]:
        owner = OneTimeCode.sender_id == conversation if conversation else OneTimeCode.sender_id.is_(None)
        return session.execute(
            select(OneTimeCode)
            .where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose, owner)
            .order_by(OneTimeCode.id.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()

    def _live_code(
        self, session: Session, phone: str, purpose: str, conversation: Optional[str]
    ) -> Optional[OneTimeCode]:
        latest = self._latest_code(session, phone, purpose, conversation) if phone else None
        if latest is None or latest.used_at is not None or latest.expires_at < self.now():
            return None
        return latest if latest.wrong_tries < CODE_MAX_WRONG_TRIES else None

    def check_code(self, phone: Optional[str], purpose: str, code: str, conversation: Optional[str] = None) -> None:
        """Accepts the conversation's latest unused code once; raises CodeRejected otherwise."""
        now = self.now()
        wrong_try: Optional[CodeRejected] = None
        with self.db.session() as session:
            latest = self._latest_code(session, phone or "", purpose, conversation)
            if latest is None or latest.used_at is not None:
                raise CodeRejected("checks.code_none", final=True)
            if latest.expires_at < now:
                raise CodeRejected("checks.code_expired", final=True, minutes=minutes_of(CODE_LIFETIME))
            if latest.wrong_tries >= CODE_MAX_WRONG_TRIES:
                raise CodeRejected("checks.code_too_many_tries", final=True)
            if not hmac.compare_digest(latest.code_hash, self._code_mac(phone or "", code)):
                latest.wrong_tries += 1
                left = CODE_MAX_WRONG_TRIES - latest.wrong_tries
                # Raised after the block: raising here would roll the count back.
                if left == 0:
                    wrong_try = CodeRejected("checks.code_wrong_last", final=True, tries=CODE_MAX_WRONG_TRIES)
                else:
                    wrong_try = CodeRejected("checks.code_wrong", final=False, left=left)
            else:
                latest.used_at = now
        if wrong_try is not None:
            raise wrong_try

    # -- password reset ------------------------------------------------------

    def create_reset_link(self, account_id: int, actor: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self.now()
        with self.db.session() as session:
            session.add(
                ResetToken(
                    token_hash=_digest(token),
                    account_id=account_id,
                    created_at=now,
                    expires_at=now + RESET_LINK_LIFETIME,
                )
            )
            self._audit(session, actor, "reset_link_created", account_id)
        return f"{config.public_base_url()}/webhooks/account/reset?token={token}"

    def _usable_token(self, session: Session, token: str) -> ResetToken:
        row = session.execute(
            select(ResetToken).where(ResetToken.token_hash == _digest(token or "")).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise LinkRefused("这个重置链接无效。请回到对话里让助手重新发送。")
        if row.used_at is not None:
            raise LinkRefused("这个重置链接已经用过了，每个链接只能用一次。需要的话请回到对话里重新办理。")
        if row.expires_at < self.now():
            raise LinkRefused(
                f"这个重置链接已过期（{minutes_of(RESET_LINK_LIFETIME)} 分钟内有效）。请回到对话里让助手重新发送。"
            )
        return row

    def reset_link_login(self, token: str) -> str:
        """The masked login name a valid link resets; raises LinkRefused."""
        with self.db.session() as session:
            return mask_login_name(self._usable_token(session, token).account.login_name)

    def reset_password(self, token: str, password: str, repeated: str) -> str:
        """Sets the new password and spends the link; returns the masked login name."""
        if password != repeated:
            raise InvalidInput("两次输入的新密码不一致，请重新输入。")
        problems = checks.password_problems(password)
        if problems:
            raise InvalidInput("新密码需要" + "，".join(problems) + "。")
        with self.db.session() as session:
            row = self._usable_token(session, token)
            row.used_at = self.now()
            row.account.password_hash = hash_password(password)
            self._audit(session, "reset_page", "password_reset", row.account_id)
            return mask_login_name(row.account.login_name)

    # -- uploads -------------------------------------------------------------

    def save_upload(self, sender_id: str, data: bytes, original_name: Optional[str]) -> Upload:
        stored = None
        try:
            with self.db.session() as session:
                upload = self.uploads.save(session, sender_id, data, original_name, self.now())
                stored = self.uploads.path_of(upload)
                self._audit(
                    session, f"user:{sender_id}", "upload_saved", size=upload.size, content_type=upload.content_type
                )
            return upload
        except BaseException:
            if stored is not None:
                stored.unlink(missing_ok=True)
            raise

    def purge_unattached_uploads(self, actor: str = "system:upload_sweep") -> int:
        """Deletes the photos no review or appeal uses ``UPLOAD_UNATTACHED_HOURS``
        after their upload, rows first, then files; returns how many."""
        with self.db.session() as session:
            files = self.uploads.purge_unattached(session, self.now())
            if files:
                self._audit(session, actor, "uploads_purged", count=len(files))
        for path in files:
            path.unlink(missing_ok=True)
        return len(files)

    def upload_of_sender(self, upload_id: str, sender_id: str) -> Upload:
        with self.db.session() as session:
            upload = session.get(Upload, upload_id)
        if upload is None or upload.sender_id != sender_id:
            raise InvalidInput.of("checks.photo_not_found")
        return upload

    def photo_thumbnail(self, upload_id: str, sender_id: str) -> Optional[bytes]:
        """The masked thumbnail (``uploads.masked_thumbnail``) of the conversation's photo;
        None when it is not that conversation's or its file is gone (purged)."""
        with self.db.session() as session:
            upload = session.get(Upload, upload_id)
        if upload is None or upload.sender_id != sender_id or not upload.stored_name:
            return None
        try:
            return masked_thumbnail(self.uploads.path_of(upload).read_bytes())
        except (OSError, ValueError):
            return None

    def stored_photos(self, upload_ids: Sequence[str]) -> Optional[List[Path]]:
        """Where the photos are stored, in the given order; None unless every one
        has a stored file (reviews imported from the platform have none)."""
        with self.db.session() as session:
            uploads = [session.get(Upload, upload_id) for upload_id in upload_ids]
        if not all(upload is not None and upload.stored_name for upload in uploads):
            return None
        return [self.uploads.path_of(upload) for upload in uploads if upload is not None]

    # -- appeals -------------------------------------------------------------

    def create_appeal(self, draft: AppealDraft, sender_id: str) -> Appeal:
        for upload_id in (draft.front_upload_id, draft.back_upload_id):
            self.upload_of_sender(upload_id, sender_id)
        now = self.now()
        with self.db.session() as session:
            account_id = None
            if draft.kind == AccountKind.NATURAL and draft.doc_number:
                holders = self.document_holders(draft.doc_number)
                account_id = holders[0].id if holders else None
            elif draft.unit_id:
                account_id = session.get(Unit, draft.unit_id).account_id
            appeal = Appeal(
                number=f"SS{now:%Y%m%d}{secrets.randbelow(10**8):08d}",
                kind=draft.kind,
                person_name=draft.person_name,
                doc_type=draft.doc_type,
                doc_number=draft.doc_number,
                unit_id=draft.unit_id,
                unit_name=draft.unit_name,
                renamed=draft.renamed,
                phone=draft.phone,
                account_id=account_id,
                front_upload_id=draft.front_upload_id,
                back_upload_id=draft.back_upload_id,
                sender_id=sender_id,
                state=Decision.PENDING,
                created_at=now,
            )
            session.add(appeal)
            session.flush()
            self._audit(
                session,
                f"user:{sender_id}",
                "appeal_created",
                account_id,
                number=appeal.number,
                phone=mask_phone(draft.phone),
                document=mask_document(draft.doc_number),
            )
            return appeal

    def appeals_for(
        self, *, sender_id: Optional[str] = None, phone: Optional[str] = None, doc_number: Optional[str] = None
    ) -> List[Appeal]:
        conditions = []
        if sender_id:
            conditions.append(Appeal.sender_id == sender_id)
        if phone:
            conditions.append(Appeal.phone == phone)
        if doc_number:
            conditions.append(func.upper(Appeal.doc_number) == doc_number.upper())
        if not conditions:
            return []
        with self.db.session() as session:
            return list(session.execute(select(Appeal).where(or_(*conditions)).order_by(Appeal.id.desc())).scalars())

    def list_appeals(self, state: Optional[Decision] = None) -> List[Appeal]:
        with self.db.session() as session:
            query = select(Appeal).order_by(Appeal.id)
            if state:
                query = query.where(Appeal.state == state)
            return list(session.execute(query).scalars())

    def decide_appeal(self, number: str, approve: bool, reason: Optional[str], actor: str) -> Appeal:
        """Back office: approval sends the login name and a reset link by SMS, never a password."""
        if not approve and not (reason or "").strip():
            raise InvalidInput("rejecting needs a reason (--reason); the user receives it by SMS")
        with self.db.session() as session:
            appeal = session.execute(
                select(Appeal).where(Appeal.number == number).with_for_update()
            ).scalar_one_or_none()
            if appeal is None:
                raise NotFound(f"no appeal {number}")
            if appeal.state != Decision.PENDING:
                raise InvalidInput(f"appeal {number} is already {Decision(appeal.state).value}")
            if approve and appeal.account_id is None:
                raise InvalidInput(f"appeal {number} matches no account; reject it with a reason")
            appeal.state = Decision.APPROVED if approve else Decision.REJECTED
            appeal.reason, appeal.decided_at = reason, self.now()
            if approve:
                account = session.get(Account, appeal.account_id)
                account.phone = appeal.phone
                text = (
                    f"您的申诉（{appeal.number}）已通过。登录名：{account.login_name}。"
                    "预留手机号已更新为本机号码，请用“登录名重置密码”设置新密码。"
                )
            else:
                text = f"您的申诉（{appeal.number}）未通过，原因：{reason}。请按原因补正后重新申诉。"
            self.sms.send(session, appeal.phone, text, "appeal_result", self.now())
            self._audit(
                session,
                actor,
                "appeal_" + Decision(appeal.state).value,
                appeal.account_id,
                number=number,
                reason=reason,
            )
            return appeal

    # -- manual review of real-name data -------------------------------------

    def open_review(self, account_id: int, front_upload_id: str, back_upload_id: str, sender_id: str) -> ManualReview:
        for upload_id in (front_upload_id, back_upload_id):
            self.upload_of_sender(upload_id, sender_id)
        now = self.now()
        with self.db.session() as session:
            account = session.get(Account, account_id, with_for_update=True)
            if account is None:
                raise NotFound(f"no account {account_id}")
            if account.state == RealnameState.IN_REVIEW:
                raise InvalidInput.of("checks.review_already_open")
            if account.state.is_verified:
                raise InvalidInput.of("checks.review_not_needed")
            review = ManualReview(
                account_id=account_id,
                front_upload_id=front_upload_id,
                back_upload_id=back_upload_id,
                state=Decision.PENDING,
                created_at=now,
            )
            session.add(review)
            self._set_state(session, account, RealnameState.IN_REVIEW, "上传证件照片，申请人工审核")
            session.flush()
            self._audit(session, f"user:{sender_id}", "review_opened", account_id, review=review.id)
            return review

    def _set_state(self, session: Session, account: Account, state: RealnameState, note: str) -> None:
        account.realname_state = state
        session.add(RealnameEvent(account_id=account.id, state=state, note=note, at=self.now()))

    def list_reviews(self, state: Optional[Decision] = None) -> List[ManualReview]:
        with self.db.session() as session:
            query = select(ManualReview).order_by(ManualReview.id)
            if state:
                query = query.where(ManualReview.state == state)
            reviews = list(session.execute(query).scalars())
            for review in reviews:
                _ = review.account.login_name
            return reviews

    def decide_review(self, review_id: int, approve: bool, reason: Optional[str], actor: str) -> ManualReview:
        if not approve and not (reason or "").strip():
            raise InvalidInput("rejecting needs a reason (--reason); the user receives it by SMS")
        with self.db.session() as session:
            review = session.get(ManualReview, review_id, with_for_update=True)
            if review is None:
                raise NotFound(f"no review {review_id}")
            if review.state != Decision.PENDING:
                raise InvalidInput(f"review {review_id} is already {Decision(review.state).value}")
            review.state = Decision.APPROVED if approve else Decision.REJECTED
            review.reason, review.decided_at = reason, self.now()
            account = review.account
            if approve:
                self._set_state(session, account, RealnameState.VERIFIED_MANUAL, "人工审核通过")
                text = "您的实名认证人工审核已通过（科技部平台人工审核通过）。"
            else:
                self._set_state(session, account, RealnameState.FAILED, f"人工审核未通过：{reason}")
                text = f"您的实名认证人工审核未通过，原因：{reason}。"
            if account.phone:
                self.sms.send(session, account.phone, text, "review_result", self.now())
            self._audit(
                session, actor, "review_" + Decision(review.state).value, account.id, review=review_id, reason=reason
            )
            return review

    # -- grants --------------------------------------------------------------

    def request_grant(self, account_id: int, unit_id: int, system_name: str, role: str, requester: Requester) -> str:
        """SMS to the unit's admin (the legal account's reserved phone); returns it masked.

        Counts against the requester's SMS limits and the admin's
        ``GRANT_REQUEST_LIMIT_PER_ADMIN`` a day; ``RateLimited`` (an ``InvalidInput``) when spent.
        """
        sender_id = requester.conversation
        with self.db.session() as session:
            person = session.get(Account, account_id)
            unit = session.get(Unit, unit_id)
            if person is None or unit is None:
                raise NotFound("account or unit missing")
            admin_phone = unit.account.phone
            if not admin_phone:
                raise InvalidInput.of("checks.admin_without_phone")
            limits.take(
                session,
                self.now(),
                self._sms_budgets(requester) + [(limits.GRANT_REQUESTS_PER_ADMIN, admin_phone)],
            )
            text = (
                f"贵单位用户 {person.name or ''}（登录名 {mask_login_name(person.login_name)}）"
                f"申请“{system_name}”的“{role}”权限。请用法人账号登录 → 在线办事 → 用户授权管理 办理。"
            )
            self.sms.send(session, admin_phone, text, "grant_request", self.now())
            self._audit(
                session,
                f"user:{sender_id}",
                "grant_requested",
                account_id,
                unit=unit.name,
                system=system_name,
                role=role,
            )
            return mask_phone(admin_phone)

    # -- values a flow keeps out of the conversation store -----------------------

    def keep_values(self, sender_id: str, values: Mapping[str, str]) -> None:
        """Stores (or replaces) the conversation's values by name."""
        if not values:
            return
        with self.db.session() as session:
            for name, value in values.items():
                row = session.get(ConversationValue, (sender_id, name))
                if row is None:
                    session.add(ConversationValue(sender_id=sender_id, name=name, value=value, updated_at=self.now()))
                else:
                    row.value, row.updated_at = value, self.now()

    def kept_values(self, sender_id: str) -> Dict[str, str]:
        with self.db.session() as session:
            rows = session.execute(select(ConversationValue).where(ConversationValue.sender_id == sender_id))
            return {row.name: row.value for row in rows.scalars()}

    def forget_values(self, sender_id: str, names: Iterable[str]) -> None:
        names = list(names)
        with self.db.session() as session:
            session.execute(
                delete(ConversationValue).where(
                    ConversationValue.sender_id == sender_id, ConversationValue.name.in_(names)
                )
            )

    # -- retention ---------------------------------------------------------------

    def purge_before(self, cutoff: datetime) -> Dict[str, int]:
        """Deletes what users left before ``cutoff``: SMS outbox rows, kept conversation
        values and uploaded photos.  A photo of an appeal or a review still pending stays
        (the review needs it); one of a decided appeal or review loses its file, and its
        row (which the appeal names) keeps no file name.  Counts by kind; running it
        again deletes nothing more."""
        counts = {"sms_outbox": 0, "conversation_values": 0, "uploads": 0, "photo_files": 0}
        with self.db.session() as session:
            counts["sms_outbox"] = session.execute(delete(SmsMessage).where(SmsMessage.created_at < cutoff)).rowcount
            counts["conversation_values"] = session.execute(
                delete(ConversationValue).where(ConversationValue.updated_at < cutoff)
            ).rowcount
            pending, decided = self._photos_of_cases(session)
            old = session.execute(select(Upload).where(Upload.created_at < cutoff)).scalars().all()
            files: List[Path] = []
            for upload in old:
                if upload.id in pending:
                    continue
                if upload.stored_name:
                    files.append(self.uploads.path_of(upload))
                if upload.id in decided:
                    if upload.stored_name or upload.original_name:
                        upload.stored_name, upload.original_name = "", ""
                else:
                    session.delete(upload)
                    counts["uploads"] += 1
        # After the commit: a rollback must not leave rows whose files are gone.
        for path in files:
            if path.exists():
                path.unlink()
                counts["photo_files"] += 1
        return counts

    @staticmethod
    def _photos_of_cases(session: Session) -> Tuple[Set[str], Set[str]]:
        """The upload ids of pending appeals and reviews, and of decided ones."""
        pending: Set[str] = set()
        decided: Set[str] = set()
        for model in (Appeal, ManualReview):
            rows = session.execute(select(model.front_upload_id, model.back_upload_id, model.state))
            for front, back, state in rows:
                (pending if state == Decision.PENDING else decided).update((front, back))
        return pending, decided - pending

    # -- back office helpers ---------------------------------------------------

    def outbox(self, phone: Optional[str] = None, limit: int = 20) -> Sequence[SmsMessage]:
        with self.db.session() as session:
            query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
            if phone:
                query = query.where(SmsMessage.phone == phone)
            return list(session.execute(query).scalars())

    def audit_log(self, account_id: Optional[int] = None) -> List[AuditEntry]:
        with self.db.session() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if account_id is not None:
                query = query.where(AuditEntry.account_id == account_id)
            return list(session.execute(query).scalars())
