"""Reading an accounts file (the format is described in ``bot.accounts.account_import``)
into typed entries.

Nothing here touches the database: every problem of shape or value is
collected with its position (``accounts[3] (li_ming): phone: …``) so that the
importer can report all of them at once.  A key that is present replaces the
stored value (``null`` clears it); a key that is left out keeps it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Set

from bot.accounts import checks
from bot.accounts.checks import InvalidInput
from bot.accounts.models import AccountKind, Decision, RealnameState
from bot.accounts.systems import ROLES, SYSTEM_BY_KEY

LEGAL_TYPES = ("企业法人", "社会组织法人", "事业单位法人", "其他")
REGIONS = ("境内", "港澳台地区", "境外单位")
# 法定代表人身份类型 as the platform's form offers it (seed 001).
LEGAL_REP_TYPES = ("中华人民共和国大陆地区", "中华人民共和国港、澳、台地区", "其他")
TORCH_CASES = (1, 2, 3, 4)
MAX_NOTE_CHARS = 500

TOP_KEYS = ("accounts", "grants", "reviews")
ACCOUNT_KEYS = (
    "login_name",
    "kind",
    "password",
    "password_hash",
    "phone",
    "name",
    "document",
    "realname",
    "overseas_training_registered",
    "torch",
    "unit",
)
NATURAL_ONLY_KEYS = ("name", "document", "overseas_training_registered")
DOCUMENT_KEYS = ("type", "number", "valid_from", "valid_to")
REALNAME_KEYS = ("state", "note")
TORCH_KEYS = ("case", "key")
UNIT_KEYS = (
    "name",
    "credit_code",
    "legal_type",
    "region",
    "legal_representative",
    "basic_info_complete",
    "authorization_info_complete",
    "other_info_complete",
    "main_agent",
    "former_names",
    "systems",
)
UNIT_REQUIRED = ("name", "credit_code", "legal_type", "region")
LEGAL_REP_KEYS = ("name", "type")
SYSTEM_KEYS = ("system", "entered_on", "supervisor_approved")
GRANT_KEYS = ("unit", "person", "system", "role", "expires_on")
REVIEW_KEYS = ("account", "state", "reason", "created_at", "decided_at")


class Problems(list):  # of str
    """Every problem found, each as ``position: message``."""

    def add(self, position: str, message: str) -> None:
        self.append(f"{position}: {message}")


# -- entries -------------------------------------------------------------------


@dataclass
class RealnameEntry:
    state: RealnameState
    note: Optional[str]


@dataclass
class SystemEntry:
    key: str
    entered_on: date
    supervisor_approved: bool


@dataclass
class UnitEntry:
    values: Dict[str, Any] = field(default_factory=dict)  # Unit columns that were given
    main_agent: Optional[str] = None
    main_agent_given: bool = False
    former_names: Optional[List[str]] = None  # None: left out
    systems: Optional[List[SystemEntry]] = None  # None: left out


@dataclass
class AccountEntry:
    label: str
    login_name: str
    kind: Optional[AccountKind]
    values: Dict[str, Any] = field(default_factory=dict)  # Account columns that were given
    password: Optional[str] = None
    password_hash: Optional[str] = None
    password_given: bool = False  # password or password_hash present, valid or not
    realname: Optional[RealnameEntry] = None
    unit: Optional[UnitEntry] = None
    failed: Set[str] = field(default_factory=set)  # paths that had a problem

    @property
    def key(self) -> str:
        return self.login_name.lower()

    def bad(self, prefix: str) -> bool:
        """Whether a value under ``prefix`` had a problem (cross-checks then skip it)."""
        return any(path == prefix or path.startswith(prefix + ".") for path in self.failed)


@dataclass
class GrantEntry:
    label: str
    credit_code: Optional[str]
    person: Optional[str]
    system: Optional[str]
    role: Optional[str]
    expires_on: Optional[date]


@dataclass
class ReviewEntry:
    label: str
    account: Optional[str]
    state: Optional[Decision]
    reason: Optional[str]
    created_at: Optional[datetime]
    decided_at: Optional[datetime]


@dataclass
class Entries:
    accounts: List[AccountEntry] = field(default_factory=list)
    grants: List[GrantEntry] = field(default_factory=list)
    reviews: List[ReviewEntry] = field(default_factory=list)


# -- reading one mapping -----------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a mapping"
    return value.isoformat() if isinstance(value, date) else repr(value)


def checked_text(
    value: Any, parse: Optional[Callable[[str], str]] = None, keep_all: bool = False, exact: bool = False
) -> str:
    """The stripped text, checked by ``parse`` (which raises ``InvalidInput``).

    ``keep_all``: the parsed value may differ only in blanks, case and
    full-width forms (nothing dropped); ``exact``: it must equal the text.
    """
    if not isinstance(value, str):
        example = f', e.g. "{value}"' if isinstance(value, (int, float)) else f", not {_shown(value)}"
        raise InvalidInput("must be text in quotes" + example)
    value = value.strip()
    if not value:
        raise InvalidInput("must not be empty")
    if parse is None:
        return value
    parsed = parse(value)
    changed = (
        parsed != value if exact else (keep_all and checks.normalise(parsed).upper() != checks.normalise(value).upper())
    )
    if changed:
        raise InvalidInput(f"would be read as {parsed!r}; write it exactly like that")
    return parsed


class Reader:
    """One mapping of the file; each read records its problems under the key's position."""

    def __init__(
        self,
        raw: Any,
        label: str,
        problems: Problems,
        allowed: Sequence[str],
        path: str = "",
        failed: Optional[Set[str]] = None,
    ) -> None:
        self.label, self.path, self.problems = label, path, problems
        self.failed: Set[str] = set() if failed is None else failed  # paths with a problem
        self.raw: Dict[Any, Any] = raw if isinstance(raw, dict) else {}
        if not isinstance(raw, dict):
            self.fail(None, f"expected a mapping with the keys {', '.join(allowed)}, got {_shown(raw)}")
        for key in self.raw:
            if key not in allowed:
                self.fail(None, f"unknown key {str(key)!r} (allowed: {', '.join(allowed)})")

    def position(self, key: Optional[str]) -> str:
        path = ".".join(part for part in (self.path, key) if part)
        return f"{self.label}: {path}" if path else self.label

    def fail(self, key: Optional[str], message: str) -> None:
        self.problems.add(self.position(key), message)
        self.failed.add(".".join(part for part in (self.path, key) if part))

    def given(self, key: str) -> bool:
        return key in self.raw

    def require(self, *keys: str) -> None:
        for key in keys:
            if self.raw.get(key) is None:
                self.fail(key, "missing (required)")

    def text(
        self, key: str, parse: Optional[Callable[[str], str]] = None, keep_all: bool = False, exact: bool = False
    ) -> Optional[str]:
        """The checked text, or None (null, left out or a problem); see ``checked_text``."""
        value = self.raw.get(key)
        if value is None:
            return None
        try:
            return checked_text(value, parse, keep_all, exact)
        except InvalidInput as error:
            self.fail(key, str(error))
            return None

    def note(self, key: str) -> Optional[str]:
        value = self.text(key)
        if value is not None and len(value) > MAX_NOTE_CHARS:
            self.fail(key, f"at most {MAX_NOTE_CHARS} characters")
            return None
        return value

    def choice(self, key: str, options: Sequence[str]) -> Optional[str]:
        value = self.raw.get(key)
        if value is None:
            return None
        if value not in options:
            self.fail(key, f"{_shown(value)} is not one of: {', '.join(options)}")
            return None
        return value

    def boolean(self, key: str) -> Optional[bool]:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {_shown(value)}")
            return None
        return value

    def integer(self, key: str, options: Sequence[int]) -> Optional[int]:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value not in options:
            self.fail(key, f"{_shown(value)} is not one of: {', '.join(map(str, options))}")
            return None
        return value

    def day(self, key: str) -> Optional[date]:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fail(key, f"must be a date like 2026-06-30, not {_shown(value)}")
        return None

    def moment(self, key: str) -> Optional[datetime]:
        """A date and time; naive values are UTC (as the store keeps them)."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                pass
        if not isinstance(value, datetime):
            self.fail(key, f"must be a date and time like 2026-11-10T09:00:00, not {_shown(value)}")
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=0)

    def items(self, key: str) -> List[Any]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"must be a list, not {_shown(value)}")
            return []
        return value

    def child(self, key: str, allowed: Sequence[str], index: Optional[int] = None, raw: Any = None) -> "Reader":
        name = key if index is None else f"{key}[{index}]"
        path = ".".join(part for part in (self.path, name) if part)
        return Reader(
            self.raw.get(key) if index is None else raw, self.label, self.problems, allowed, path, self.failed
        )


# -- value checks that the checks module does not have ------------------------------


def parse_torch_key(text: str) -> str:
    """The old Torch user name: a credit code (enterprise) or a mobile number (person)."""
    if len(checks.normalise(text)) == 18:
        return checks.parse_credit_code(text)
    try:
        return checks.parse_phone(text)
    except InvalidInput:
        raise InvalidInput(
            "must be a unified social credit code (18 characters) or a mobile " "phone number (11 digits)"
        ) from None


def parse_password_hash(text: str) -> str:
    """A hash made by ``bot.store.hash_password``: pbkdf2_sha256$iterations$salt$digest."""
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha256" or not parts[1].isdigit():
        raise InvalidInput(
            "must be a hash made by bot.store.passwords.hash_password (pbkdf2_sha256$<iterations>$<salt>$<digest>)"
        )
    try:
        base64.b64decode(parts[2], validate=True)
        base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("salt and digest must be base64") from None
    if len(text) > 200:
        raise InvalidInput("is longer than 200 characters")
    return text


def parse_new_password(text: str) -> str:
    problems = checks.password_problems(text)
    if problems:
        raise InvalidInput("does not meet the platform's rules: needs " + ", ".join(problems))
    return text


# -- accounts ----------------------------------------------------------------------


def _label(section: str, index: int, raw: Any, name_key: str) -> str:
    name = raw.get(name_key) if isinstance(raw, dict) else None
    return f"{section}[{index}] ({name})" if isinstance(name, str) and name.strip() else f"{section}[{index}]"


def read_account(raw: Any, index: int, problems: Problems) -> Optional[AccountEntry]:
    reader = Reader(raw, _label("accounts", index, raw, "login_name"), problems, ACCOUNT_KEYS)
    reader.require("login_name", "kind")
    login_name = reader.text("login_name", checks.parse_login_name, exact=True)
    kind = reader.choice("kind", [kind.value for kind in AccountKind])
    entry = AccountEntry(reader.label, login_name or "", AccountKind(kind) if kind else None, failed=reader.failed)
    _read_password(reader, entry)
    _read_kind_specific(reader, entry)
    if reader.given("phone"):
        entry.values["phone"] = reader.text("phone", checks.parse_phone)
    if reader.given("realname"):
        entry.realname = _read_realname(reader)
    if reader.given("torch"):
        entry.values.update(_read_torch(reader))
    return entry if login_name else None


def _read_password(reader: Reader, entry: AccountEntry) -> None:
    entry.password_given = reader.given("password") or reader.given("password_hash")
    if reader.given("password") and reader.given("password_hash"):
        reader.fail("password", "give password or password_hash, not both")
        return
    entry.password = reader.text("password", parse_new_password)
    entry.password_hash = reader.text("password_hash", parse_password_hash)
    for key in ("password", "password_hash"):
        if reader.given(key) and reader.raw[key] is None:
            reader.fail(key, "must not be null (leave the key out to keep the stored password)")


def _read_kind_specific(reader: Reader, entry: AccountEntry) -> None:
    if entry.kind == AccountKind.LEGAL:
        for key in NATURAL_ONLY_KEYS:
            if reader.given(key):
                reader.fail(key, "not for legal accounts (a legal account's name is unit.name)")
        if reader.given("unit"):
            entry.unit = read_unit(reader)
        return
    if reader.given("unit"):
        reader.fail("unit", "only legal accounts (kind: legal) have a unit")
    if reader.given("name"):
        entry.values["name"] = reader.text("name", checks.parse_person_name, keep_all=True)
    if reader.given("document"):
        entry.values.update(_read_document(reader))
    if reader.given("overseas_training_registered"):
        registered = reader.boolean("overseas_training_registered")
        entry.values["overseas_training_registered"] = bool(registered)


def _read_document(reader: Reader) -> Dict[str, Any]:
    cleared = dict(doc_type=None, doc_number=None, doc_valid_from=None, doc_valid_to=None)
    if reader.raw.get("document") is None:
        return cleared
    document = reader.child("document", DOCUMENT_KEYS)
    document.require("type", "number")
    doc_type = document.choice("type", [doc.name for doc in checks.DOCUMENT_TYPES])
    number = document.text("number", lambda text: checks.parse_document_number(text, doc_type))
    valid_from, valid_to = document.day("valid_from"), document.day("valid_to")
    if valid_from and valid_to and valid_from > valid_to:
        document.fail("valid_to", "is before valid_from")
    return dict(doc_type=doc_type, doc_number=number, doc_valid_from=valid_from, doc_valid_to=valid_to)


def _read_realname(reader: Reader) -> Optional[RealnameEntry]:
    if reader.raw.get("realname") is None:
        reader.fail("realname", "must not be null (leave it out to keep the stored state)")
        return None
    realname = reader.child("realname", REALNAME_KEYS)
    realname.require("state")
    state = realname.choice("state", [state.value for state in RealnameState])
    note = realname.note("note")
    return RealnameEntry(RealnameState(state), note) if state else None


def _read_torch(reader: Reader) -> Dict[str, Any]:
    if reader.raw.get("torch") is None:
        return dict(torch_case=None, torch_key=None)
    torch = reader.child("torch", TORCH_KEYS)
    torch.require("case", "key")
    return dict(torch_case=torch.integer("case", TORCH_CASES), torch_key=torch.text("key", parse_torch_key))


# -- units -------------------------------------------------------------------------


def read_unit(reader: Reader) -> Optional[UnitEntry]:
    if reader.raw.get("unit") is None:
        reader.fail("unit", "must not be null (a legal account always has its unit)")
        return None
    unit = reader.child("unit", UNIT_KEYS)
    entry = UnitEntry()
    readers: Dict[str, Callable[[str], Any]] = {
        "name": lambda key: unit.text(key, checks.parse_unit_name, keep_all=True),
        "credit_code": lambda key: unit.text(key, checks.parse_credit_code),
        "legal_type": lambda key: unit.choice(key, LEGAL_TYPES),
        "region": lambda key: unit.choice(key, REGIONS),
        "basic_info_complete": unit.boolean,
        "authorization_info_complete": unit.boolean,
        "other_info_complete": unit.boolean,
    }
    for key, read in readers.items():
        if unit.given(key):
            entry.values[key] = read(key)
            if entry.values[key] is None and unit.raw[key] is None:
                unit.fail(key, "must not be null")
    if unit.given("legal_representative"):
        entry.values.update(_read_legal_rep(unit))
    if unit.given("main_agent"):
        entry.main_agent_given = True
        entry.main_agent = unit.text("main_agent", checks.parse_login_name, exact=True)
    if unit.given("former_names"):
        entry.former_names = _read_former_names(unit, entry.values.get("name"))
    if unit.given("systems"):
        entry.systems = _read_systems(unit)
    return entry


def _read_legal_rep(unit: Reader) -> Dict[str, Any]:
    if unit.raw.get("legal_representative") is None:
        return dict(legal_rep_name=None, legal_rep_type=None)
    rep = unit.child("legal_representative", LEGAL_REP_KEYS)
    rep.require("name")
    return dict(
        legal_rep_name=rep.text("name", checks.parse_person_name, keep_all=True),
        legal_rep_type=rep.choice("type", LEGAL_REP_TYPES),
    )


def _read_former_names(unit: Reader, current: Optional[str]) -> List[str]:
    names: List[str] = []
    for index, raw in enumerate(unit.items("former_names")):
        key = f"former_names[{index}]"
        try:
            name = checked_text(raw, checks.parse_unit_name, keep_all=True)
        except InvalidInput as error:
            unit.fail(key, str(error))
            continue
        if name in names or name == current:
            unit.fail(key, f"{name} is listed twice or is the current name")
        else:
            names.append(name)
    return names


def _read_systems(unit: Reader) -> List[SystemEntry]:
    entries: List[SystemEntry] = []
    for index, raw in enumerate(unit.items("systems")):
        item = unit.child("systems", SYSTEM_KEYS, index, raw)
        item.require("system", "entered_on")
        key = item.choice("system", list(SYSTEM_BY_KEY))
        if key and SYSTEM_BY_KEY[key].natural_only:
            item.fail("system", f"{key} is for natural-person accounts only; a unit cannot enter it")
            key = None
        if key and any(entry.key == key for entry in entries):
            item.fail("system", f"{key} is listed twice")
            key = None
        entered_on, approved = item.day("entered_on"), item.boolean("supervisor_approved")
        if key and entered_on:
            entries.append(SystemEntry(key, entered_on, True if approved is None else approved))
    return entries


# -- grants and reviews ------------------------------------------------------------


def read_grant(raw: Any, index: int, problems: Problems) -> GrantEntry:
    reader = Reader(raw, f"grants[{index}]", problems, GRANT_KEYS)
    reader.require("unit", "person", "system", "role")
    system = reader.choice("system", list(SYSTEM_BY_KEY))
    if system and SYSTEM_BY_KEY[system].natural_only:
        reader.fail("system", f"{system} is for natural-person accounts only; no unit grants it")
        system = None
    return GrantEntry(
        reader.label,
        reader.text("unit", checks.parse_credit_code),
        reader.text("person", checks.parse_login_name, exact=True),
        system,
        reader.choice("role", ROLES),
        reader.day("expires_on"),
    )


def read_review(raw: Any, index: int, problems: Problems) -> ReviewEntry:
    reader = Reader(raw, _label("reviews", index, raw, "account"), problems, REVIEW_KEYS)
    reader.require("account", "state", "created_at")
    state_text = reader.choice("state", [state.value for state in Decision])
    state = Decision(state_text) if state_text else None
    entry = ReviewEntry(
        reader.label,
        reader.text("account", checks.parse_login_name, exact=True),
        state,
        reader.note("reason"),
        reader.moment("created_at"),
        reader.moment("decided_at"),
    )
    _check_review_decision(reader, entry)
    return entry


def _check_review_decision(reader: Reader, entry: ReviewEntry) -> None:
    if entry.state == Decision.PENDING:
        for key in ("reason", "decided_at"):
            if reader.given(key):
                reader.fail(key, "only a decided (approved or rejected) review has one")
    if entry.state == Decision.REJECTED and not entry.reason:
        reader.fail("reason", "a rejected review needs the reason the user was given")
    if entry.created_at and entry.decided_at and entry.decided_at < entry.created_at:
        reader.fail("decided_at", "is before created_at")


# -- the whole file ----------------------------------------------------------------


def read_entries(data: Any, problems: Problems) -> Entries:
    """The entries of the file; problems of shape and value go to ``problems``."""
    if data is None:
        problems.add("file", "is empty; expected the keys " + ", ".join(TOP_KEYS))
        return Entries()
    top = Reader(data, "file", problems, TOP_KEYS)
    entries = Entries()
    for index, raw in enumerate(top.items("accounts")):
        account = read_account(raw, index, problems)
        if account is not None:
            entries.accounts.append(account)
    entries.grants = [read_grant(raw, index, problems) for index, raw in enumerate(top.items("grants"))]
    entries.reviews = [read_review(raw, index, problems) for index, raw in enumerate(top.items("reviews"))]
    return entries
