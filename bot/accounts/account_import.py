"""Importing accounts from a YAML file: how a deployment syncs the platform's
accounts into the account store, and how ``python -m bot db seed-demo`` loads
the demo accounts (``bot/accounts/demo_accounts.yml``).

Format (``docs/accounts-import.md`` has a full example)::

    accounts:                       # upserted by login_name (case-insensitive)
      - login_name: zhangwei_01     # letters, digits, underscore
        kind: natural               # natural | legal (cannot change later)
        password: "Zw@2026demo"     # plain text, hashed on import; or password_hash: pbkdf2_sha256$...
        phone: "13800138000"        # reserved phone; null: none
        name: 张伟                   # natural only
        document: {type: 居民身份证, number: "110108198804120218",
                   valid_from: 2015-03-01, valid_to: 2035-03-01}     # natural only
        realname: {state: failed, note: "…"}  # a models.RealnameState value; note optional
        overseas_training_registered: false   # natural only: 报备 with 引智司
        torch: {case: 3, key: "13522223333"}   # moved from the Torch centre; key = old user name
      - login_name: bjmm_keji
        kind: legal
        password: …
        realname: {state: verified_online}
        unit:                       # legal only; the account's name is unit.name
          name: 北京某某科技有限公司
          credit_code: 91110108MA01ABCD2X
          legal_type: 企业法人        # 企业法人 | 社会组织法人 | 事业单位法人 | 其他
          region: 境内               # 境内 | 港澳台地区 | 境外单位
          legal_representative: {name: 王某, type: 中华人民共和国大陆地区}  # type may be left out
          basic_info_complete: true
          authorization_info_complete: true
          other_info_complete: true
          main_agent: zhangwei_01   # a natural account, in the file or already stored
          former_names: [北京某某信息技术有限公司]
          systems: [{system: human_genetic, entered_on: 2025-03-01, supervisor_approved: true}]
    grants:                         # replaced per (unit, person, system); others are kept
      - {unit: 91110108MA01ABCD2X, person: zhangwei_01, system: human_genetic,
         role: 事项办理员, expires_on: 2027-06-30}
    reviews:                        # history of manual reviews, matched by (account, created_at)
      - {account: chenjing_9, state: rejected, reason: 证件照片模糊，无法辨认,
         created_at: 2026-11-10T09:00:00, decided_at: 2026-11-11T15:00:00}

Rules:

* Values are checked with the same functions as the chat (``checks``); text
  values must be quoted strings, dates are YAML dates or ISO strings, times
  without a zone are UTC.  Unknown keys are errors.
* For an existing account a key that is present replaces the stored value,
  ``null`` clears an optional one, and a key that is left out keeps it.  Lists
  (``former_names``, ``systems``) are replaced as a whole when present.
* The file is checked completely before anything is written; if anything is
  wrong ``InvalidAccountsFile`` lists every problem with its position (e.g.
  ``accounts[3] (li_ming): phone: …``, counted from 0) and nothing changes.
  Otherwise the whole file is written in one transaction.
* Plain-text passwords are only ever stored hashed; a re-import with the same
  password keeps the stored hash.  Real-name states are recorded as
  ``RealnameEvent`` rows when they (or their note) change.
* Imported reviews have no photos: each gets two placeholder ``Upload`` rows
  (sender ``import``, empty ``stored_name``, ``image/jpeg``, size 0, the
  SHA-256 of nothing) because the review table requires them.
* Every created or changed account gets an ``AuditEntry`` with the actor;
  grants and reviews get ``grant_imported`` / ``review_imported`` entries.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts.account_import_checks import Plan, check_entries
from bot.accounts.account_import_entries import (
    AccountEntry,
    GrantEntry,
    Problems,
    ReviewEntry,
    UnitEntry,
    read_entries,
)
from bot.accounts.models import (
    Account,
    AccountKind,
    Grant,
    ManualReview,
    RealnameEvent,
    RealnameState,
    Unit,
    UnitFormerName,
    UnitSystem,
    Upload,
)
from bot.store import Database, check_password, hash_password, record_audit, utcnow

IMPORT_SENDER = "import"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class InvalidAccountsFile(ValueError):
    """The file cannot be imported; ``problems`` lists every reason, nothing was written."""

    def __init__(self, problems: Sequence[str], source: Optional[str] = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.headline() + "\n" + "\n".join("  " + problem for problem in self.problems))

    def headline(self) -> str:
        count = len(self.problems)
        where = f"{self.source}: " if self.source else ""
        return f"{where}{count} problem{'s' if count != 1 else ''} in the accounts file, nothing was imported:"


@dataclass
class ImportReport:
    created: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    grants: Dict[str, int] = field(default_factory=lambda: dict(created=0, updated=0, unchanged=0))
    reviews: Dict[str, int] = field(default_factory=lambda: dict(created=0, updated=0, unchanged=0))

    def summary(self) -> str:
        def counts(values: Dict[str, int]) -> str:
            return ", ".join(f"{number} {what}" for what, number in values.items())

        accounts = dict(created=len(self.created), updated=len(self.updated), unchanged=len(self.unchanged))
        return f"accounts: {counts(accounts)}; grants: {counts(self.grants)}; " f"reviews: {counts(self.reviews)}"


# -- loading -----------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # PyYAML raises a bare ValueError (no line) for dates like 2027-02-30.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date ({error})", node.start_mark
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def load_yaml(path: Union[str, Path]) -> Optional[Dict[str, Any]]:
    """The file's data (None for an empty file); ``InvalidAccountsFile`` if it is not
    UTF-8 YAML with a mapping at the top, ``OSError`` if it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidAccountsFile([f"not UTF-8 text (byte {error.start})"], str(path)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise InvalidAccountsFile([f"not valid YAML: {_yaml_error(error)}"], str(path)) from None
    if data is not None and not isinstance(data, dict):
        raise InvalidAccountsFile(["the file must be a mapping with the keys accounts, grants, reviews"], str(path))
    return data


def _yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    if not isinstance(error, yaml.MarkedYAMLError) or mark is None:
        return " ".join(str(error).split())
    what = ", ".join(part for part in (error.context, error.problem) if part)
    return f"line {mark.line + 1}, column {mark.column + 1}: {what}"


# -- importing ---------------------------------------------------------------------


def import_accounts(
    database: Database, data: Optional[Dict[str, Any]], actor: str, clock: Callable[[], datetime] = utcnow
) -> ImportReport:
    """Checks the whole file, then writes it in one transaction; see the module docstring."""
    problems = Problems()
    entries = read_entries(data, problems)
    with database.session() as session:
        plan = check_entries(session, entries, problems)
        if problems:
            raise InvalidAccountsFile(sorted(problems, key=_file_order))
        return _Writer(session, plan, actor, clock()).write()


def _file_order(problem: str) -> Tuple[int, int]:
    """Problems in the order of the file: top level, accounts, grants, reviews, store."""
    match = re.match(r"(file|accounts|grants|reviews|store)(?:\[(\d+)\])?", problem)
    sections = ("file", "accounts", "grants", "reviews", "store")
    if match is None:
        return len(sections), 0
    return sections.index(match.group(1)), int(match.group(2) or 0)


class _Writer:
    # Runs only on a plan without problems (``import_accounts``): then every
    # Optional field of a grant or review entry (None where the file lacked or
    # spoiled the value) is set; the ``type: ignore``s below rely on that.
    def __init__(self, session: Session, plan: Plan, actor: str, now: datetime) -> None:
        self.session, self.plan, self.actor, self.now = session, plan, actor, now
        self.accounts: Dict[str, Account] = dict(plan.stored)  # lower login name → row
        self.changes: Dict[str, List[str]] = {}
        self.created: List[str] = []
        self.report = ImportReport()

    def write(self) -> ImportReport:
        for entry in self.plan.entries.accounts:
            self._write_account(entry)
        for entry in self.plan.entries.accounts:
            if entry.unit is not None:
                self._note(entry.key, _write_unit(self.session, self.accounts[entry.key], entry.unit, self.accounts))
        self.session.flush()
        for grant in self.plan.entries.grants:
            self._write_grant(grant)
        for review in self.plan.entries.reviews:
            self._write_review(review)
        self._audit_accounts()
        return self.report

    def _note(self, key: str, changed: List[str]) -> None:
        self.changes.setdefault(key, []).extend(changed)

    # -- accounts --------------------------------------------------------------

    def _write_account(self, entry: AccountEntry) -> None:
        account = self.accounts.get(entry.key)
        if account is None:
            account = Account(
                login_name=entry.login_name,
                kind=entry.kind,
                created_at=self.now,
                realname_state=RealnameState.UNVERIFIED,
                overseas_training_registered=False,
                password_hash="",
            )
            self.session.add(account)
            self.accounts[entry.key] = account
            self.created.append(entry.key)
        changed = _assign(account, entry.values)
        changed += _write_password(account, entry)
        changed += _write_realname(account, entry, self.now)
        self._note(entry.key, changed)

    # -- grants and reviews ----------------------------------------------------

    def _write_grant(self, entry: GrantEntry) -> None:
        unit = self.plan.unit_for(entry.credit_code, self.accounts)  # type: ignore[arg-type]
        person = self.accounts[entry.person.lower()]  # type: ignore[union-attr]
        grant = self.session.execute(
            select(Grant).where(Grant.unit_id == unit.id, Grant.account_id == person.id, Grant.system == entry.system)
        ).scalar_one_or_none()
        values = dict(role=entry.role, expires_on=entry.expires_on)
        if grant is None:
            self.session.add(Grant(unit=unit, account=person, system=entry.system, **values))
            outcome = "created"
        else:
            outcome = "updated" if _assign(grant, values) else "unchanged"
        self.report.grants[outcome] += 1
        if outcome != "unchanged":
            self._audit(
                "grant_imported",
                person.id,
                unit=unit.credit_code,
                system=entry.system,
                role=entry.role,
                expires_on=entry.expires_on.isoformat() if entry.expires_on else None,
            )

    def _write_review(self, entry: ReviewEntry) -> None:
        account = self.accounts[entry.account.lower()]  # type: ignore[union-attr]
        review = self.session.execute(
            select(ManualReview).where(
                ManualReview.account_id == account.id, ManualReview.created_at == entry.created_at
            )
        ).scalar_one_or_none()
        values = dict(state=entry.state, reason=entry.reason, decided_at=entry.decided_at)
        if review is None:
            front, back = (self._placeholder_upload(entry.created_at) for _ in range(2))  # type: ignore[arg-type]
            review = ManualReview(
                account=account, front_upload_id=front.id, back_upload_id=back.id, created_at=entry.created_at, **values
            )
            self.session.add(review)
            outcome = "created"
        else:
            outcome = "updated" if _assign(review, values) else "unchanged"
        self.report.reviews[outcome] += 1
        if outcome != "unchanged":
            self.session.flush()
            self._audit("review_imported", account.id, review=review.id, state=entry.state.value)  # type: ignore[union-attr]

    def _placeholder_upload(self, created_at: datetime) -> Upload:
        upload = Upload(
            id=secrets.token_hex(16),
            sender_id=IMPORT_SENDER,
            stored_name="",
            original_name=None,
            content_type="image/jpeg",
            size=0,
            sha256=EMPTY_SHA256,
            created_at=created_at,
        )
        self.session.add(upload)
        self.session.flush()
        return upload

    # -- audit -----------------------------------------------------------------

    def _audit(self, action: str, account_id: Optional[int], **detail: object) -> None:
        record_audit(self.session, self.now, self.actor, action, account_id, dict(source="import", **detail))

    def _audit_accounts(self) -> None:
        for entry in self.plan.entries.accounts:
            account, changed = self.accounts[entry.key], sorted(set(self.changes.get(entry.key, [])))
            if entry.key in self.created:
                self.report.created.append(account.login_name)
                self._audit("account_created", account.id, kind=AccountKind(account.kind).value)
            elif changed:
                self.report.updated.append(account.login_name)
                self._audit("account_updated", account.id, changed=changed)
            else:
                self.report.unchanged.append(account.login_name)


# -- writing one account -----------------------------------------------------------


def _assign(target: Any, values: Dict[str, Any]) -> List[str]:
    """Sets the attributes that differ; returns their names."""
    changed = []
    for name, value in values.items():
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    return changed


def _write_password(account: Account, entry: AccountEntry) -> List[str]:
    if entry.password is not None:
        if account.password_hash and check_password(entry.password, account.password_hash):
            return []
        account.password_hash = hash_password(entry.password)
        return ["password"]
    if entry.password_hash is not None and entry.password_hash != account.password_hash:
        account.password_hash = entry.password_hash
        return ["password"]
    return []


def _write_realname(account: Account, entry: AccountEntry, now: datetime) -> List[str]:
    realname = entry.realname
    if realname is None:
        return []
    latest = account.realname_events[-1] if account.realname_events else None
    new_note = realname.note is not None and (latest is None or latest.note != realname.note)
    if RealnameState(account.realname_state) == realname.state and not new_note:
        return []
    account.realname_state = realname.state
    account.realname_events.append(RealnameEvent(state=realname.state, note=realname.note, at=now))
    return ["realname_state"]


def _write_unit(session: Session, account: Account, entry: UnitEntry, accounts: Dict[str, Account]) -> List[str]:
    unit = account.unit
    if unit is None:
        unit = Unit(
            account=account, basic_info_complete=True, authorization_info_complete=True, other_info_complete=False
        )
        session.add(unit)
    changed = _assign(unit, entry.values)
    if account.name != unit.name:
        account.name = unit.name
    if entry.main_agent_given:
        agent = accounts[entry.main_agent.lower()] if entry.main_agent else None
        if unit.main_agent is not agent:
            unit.main_agent = agent
            changed.append("main_agent")
    if entry.former_names is not None:
        changed += _write_former_names(session, unit, entry.former_names)
    if entry.systems is not None:
        changed += _write_systems(session, unit, entry)
    return ["unit." + name for name in changed]


def _write_former_names(session: Session, unit: Unit, names: List[str]) -> List[str]:
    current = {former.name: former for former in unit.former_names}
    if set(current) == set(names):
        return []
    for name, former in current.items():
        if name not in names:
            session.delete(former)
    for name in names:
        if name not in current:
            session.add(UnitFormerName(unit=unit, name=name))
    return ["former_names"]


def _write_systems(session: Session, unit: Unit, entry: UnitEntry) -> List[str]:
    current = {row.system: row for row in unit.systems}
    wanted = {system.key: system for system in entry.systems or []}
    changed = False
    for key, row in current.items():
        if key not in wanted:
            session.delete(row)
            changed = True
    for key, system in wanted.items():
        values = dict(entered_on=system.entered_on, supervisor_approved=system.supervisor_approved)
        if key in current:
            changed = bool(_assign(current[key], values)) or changed
        else:
            session.add(UnitSystem(unit=unit, system=key, **values))
            changed = True
    return ["systems"] if changed else []
