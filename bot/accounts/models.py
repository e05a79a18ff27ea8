"""Tables of the account store (the platform's accounts as the assistant sees them).

Natural and legal accounts, real-name state and its history, units with
their former names and the business systems they have entered, grants,
appeals, manual reviews, uploads, one-time codes, reset links, the SMS
outbox and the values a running flow keeps out of the conversation store.
They are declared on the store's ``Base``; the audit log is the store's
(``bot.store.AuditEntry``).  Schema changes go through the store's one
Alembic chain (``bot/store/migrations``); ``python -m bot db upgrade`` applies
them.
"""

from __future__ import annotations

import enum
from typing import List

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import relationship

from bot.store import AuditEntry, Base, stored_enum


class AccountKind(str, enum.Enum):
    NATURAL = "natural"  # 自然人
    LEGAL = "legal"  # 法人 / 单位用户


class RealnameState(str, enum.Enum):
    UNVERIFIED = "unverified"  # 未实名认证
    VERIFIED_ONLINE = "verified_online"  # 国家平台实名认证通过
    FAILED = "failed"  # 实名认证失败
    IN_REVIEW = "in_review"  # 实名认证审核中
    VERIFIED_MANUAL = "verified_manual"  # 科技部平台人工审核通过

    @property
    def is_verified(self) -> bool:
        return self in (RealnameState.VERIFIED_ONLINE, RealnameState.VERIFIED_MANUAL)


class Decision(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Account(Base):
    __tablename__ = "accounts"
    # Lookups ignore case, so two login names differing only in case must not exist.
    __table_args__ = (Index("uq_accounts_login_name_lower", func.lower(text("login_name")), unique=True),)

    id = Column(Integer, primary_key=True)
    kind = Column(stored_enum(AccountKind), nullable=False)
    login_name = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(200), nullable=False)
    phone = Column(String(20), index=True)  # reserved phone; None when never set
    name = Column(String(100))  # 姓名 of a natural person; the unit's name for a legal account
    doc_type = Column(String(32))  # one of checks.DOCUMENT_TYPES (natural persons)
    doc_number = Column(String(64), index=True)
    doc_valid_from = Column(Date)
    doc_valid_to = Column(Date)
    realname_state = Column(stored_enum(RealnameState), nullable=False, default=RealnameState.UNVERIFIED)
    # Accounts moved from the Torch centre: which of the four cases of seed 003.
    torch_case = Column(Integer)
    torch_key = Column(String(64), index=True)  # the old Torch user name (credit code or phone)
    overseas_training_registered = Column(Boolean, nullable=False, default=False)  # 报备
    created_at = Column(DateTime, nullable=False)

    unit = relationship("Unit", back_populates="account", uselist=False, foreign_keys="Unit.account_id")
    realname_events: List["RealnameEvent"] = relationship(
        "RealnameEvent", back_populates="account", order_by="RealnameEvent.id"
    )
    grants: List["Grant"] = relationship("Grant", back_populates="account", foreign_keys="Grant.account_id")
    reviews: List["ManualReview"] = relationship("ManualReview", back_populates="account", order_by="ManualReview.id")

    @property
    def state(self) -> RealnameState:
        return RealnameState(self.realname_state)


class RealnameEvent(Base):
    """One change of an account's real-name state, with the reason shown to the user."""

    __tablename__ = "realname_events"

    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=False, index=True)
    state = Column(stored_enum(RealnameState), nullable=False)
    note = Column(Text)
    at = Column(DateTime, nullable=False)

    account = relationship("Account", back_populates="realname_events")


class Unit(Base):
    """The unit data of a legal account: 基本信息, 授权信息, 法定代表人信息, 其他信息."""

    __tablename__ = "units"

    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=False, unique=True)
    name = Column(String(200), nullable=False, index=True)
    credit_code = Column(String(18), nullable=False, unique=True)
    legal_type = Column(String(32), nullable=False)  # 企业法人, 社会组织法人, 事业单位法人, 其他
    region = Column(String(16), nullable=False)  # 境内, 港澳台地区, 境外单位
    legal_rep_name = Column(String(100))
    legal_rep_type = Column(String(32))  # 法定代表人类型; None → "法定代表人类型不能为空"
    basic_info_complete = Column(Boolean, nullable=False, default=True)
    authorization_info_complete = Column(Boolean, nullable=False, default=True)
    other_info_complete = Column(Boolean, nullable=False, default=False)
    main_agent_account_id = Column(Integer, ForeignKey("accounts.id"))

    account = relationship("Account", back_populates="unit", foreign_keys=[account_id])
    main_agent = relationship("Account", foreign_keys=[main_agent_account_id])
    former_names: List["UnitFormerName"] = relationship(
        "UnitFormerName", back_populates="unit", order_by="UnitFormerName.id"
    )
    systems: List["UnitSystem"] = relationship("UnitSystem", back_populates="unit")
    grants: List["Grant"] = relationship("Grant", back_populates="unit")


class UnitFormerName(Base):
    __tablename__ = "unit_former_names"

    id = Column(Integer, primary_key=True)
    unit_id = Column(Integer, ForeignKey("units.id"), nullable=False, index=True)
    name = Column(String(200), nullable=False, index=True)

    unit = relationship("Unit", back_populates="former_names")


class UnitSystem(Base):
    """A business system the legal entity has entered once via 服务事项 → 办理入口."""

    __tablename__ = "unit_systems"
    __table_args__ = (UniqueConstraint("unit_id", "system"),)

    id = Column(Integer, primary_key=True)
    unit_id = Column(Integer, ForeignKey("units.id"), nullable=False)
    system = Column(String(32), nullable=False)  # a key of systems.SYSTEMS
    entered_on = Column(Date, nullable=False)
    # 外国专家项目管理信息系统: the unit's 归口单位 must have approved it.
    supervisor_approved = Column(Boolean, nullable=False, default=True)

    unit = relationship("Unit", back_populates="systems")


class Grant(Base):
    """A unit grants a natural person a role in one business system."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("unit_id", "account_id", "system"),)

    id = Column(Integer, primary_key=True)
    unit_id = Column(Integer, ForeignKey("units.id"), nullable=False)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=False, index=True)
    system = Column(String(32), nullable=False)
    role = Column(String(16), nullable=False)  # 事项管理员 or 事项办理员
    expires_on = Column(Date)  # None: no expiry

    unit = relationship("Unit", back_populates="grants")
    account = relationship("Account", back_populates="grants", foreign_keys=[account_id])


class Upload(Base):
    """A file a user sent in the chat; stored outside any web root under ``stored_name``."""

    __tablename__ = "uploads"

    id = Column(String(32), primary_key=True)  # random, unguessable
    sender_id = Column(String(128), nullable=False, index=True)
    stored_name = Column(String(64), nullable=False)
    original_name = Column(String(255))
    content_type = Column(String(32), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)


class Appeal(Base):
    """申诉找回: a request to get an account back without login name or reserved phone."""

    __tablename__ = "appeals"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    kind = Column(stored_enum(AccountKind), nullable=False)
    person_name = Column(String(100))
    doc_type = Column(String(32))
    doc_number = Column(String(64), index=True)
    unit_name = Column(String(200))
    unit_id = Column(Integer, ForeignKey("units.id"))
    renamed = Column(Boolean, nullable=False, default=False)
    phone = Column(String(20), nullable=False, index=True)
    account_id = Column(Integer, ForeignKey("accounts.id"))  # the account it recovers, if found
    front_upload_id = Column(String(32), ForeignKey("uploads.id"), nullable=False)
    back_upload_id = Column(String(32), ForeignKey("uploads.id"), nullable=False)
    sender_id = Column(String(128), index=True)
    state = Column(stored_enum(Decision), nullable=False, default=Decision.PENDING)
    reason = Column(Text)
    created_at = Column(DateTime, nullable=False)
    decided_at = Column(DateTime)

    account = relationship("Account")
    unit = relationship("Unit")


class ManualReview(Base):
    """人工审核 of an account's real-name data, opened with photos of the document."""

    __tablename__ = "manual_reviews"

    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=False, index=True)
    front_upload_id = Column(String(32), ForeignKey("uploads.id"), nullable=False)
    back_upload_id = Column(String(32), ForeignKey("uploads.id"), nullable=False)
    state = Column(stored_enum(Decision), nullable=False, default=Decision.PENDING)
    reason = Column(Text)
    created_at = Column(DateTime, nullable=False)
    decided_at = Column(DateTime)

    account = relationship("Account", back_populates="reviews")


class OneTimeCode(Base):
    """An SMS code for one conversation; only its HMAC (under SMS_CODE_SECRET) is stored.

    ``phone`` is empty for the stand-in code of a lookup that found nothing, and
    ``delivered`` false for a code no SMS carried (that stand-in, or a phone over
    its limit): such a code can never be entered right, and the conversation sees
    the same answers as with a code that was sent (docs/security.md section 8).
    """

    __tablename__ = "one_time_codes"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, index=True)
    sender_id = Column(String(128), index=True)  # the conversation the code verifies; None outside a chat
    purpose = Column(String(32), nullable=False)
    code_hash = Column(String(64), nullable=False)
    delivered = Column(Boolean, nullable=False, default=True, server_default=true())
    created_at = Column(DateTime, nullable=False, index=True)
    expires_at = Column(DateTime, nullable=False)
    wrong_tries = Column(Integer, nullable=False, default=0)
    used_at = Column(DateTime)


class RateLimitHit(Base):
    """One counted request (a lookup, an SMS) against a limit (bot/accounts/limits.py).

    ``key`` is a SHA-256 of what is counted (a conversation, a client address,
    a phone), so the table keeps no address or number.
    """

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_key_at", "bucket", "key", "at"),)

    id = Column(Integer, primary_key=True)
    bucket = Column(String(32), nullable=False)
    key = Column(String(64), nullable=False)
    at = Column(DateTime, nullable=False)


class ResetToken(Base):
    """A one-time password-reset link; only the token's hash is stored."""

    __tablename__ = "reset_tokens"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime)

    account = relationship("Account")


class SmsMessage(Base):
    """The SMS outbox: every message the gateway sent (or tried to)."""

    __tablename__ = "sms_outbox"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, index=True)
    text = Column(Text, nullable=False)
    purpose = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False)  # stored, sent, failed
    created_at = Column(DateTime, nullable=False)


class ConversationValue(Base):
    """What a running account flow needs in full (a phone, a document number, a name), kept here
    and not in the conversation store, whose slots hold the masked value only (flows/privacy.py).

    One row per conversation and name; a finished flow deletes its rows, and
    ``python -m bot privacy purge`` the ones older than ``RETENTION_DAYS``.
    """

    __tablename__ = "conversation_values"

    sender_id = Column(String(128), primary_key=True)
    name = Column(String(32), primary_key=True)
    value = Column(Text, nullable=False)
    updated_at = Column(DateTime, nullable=False, index=True)


# The store's audit log names the account an entry is about (migration 0001).
AuditEntry.__table__.append_constraint(ForeignKeyConstraint(["account_id"], ["accounts.id"]))
