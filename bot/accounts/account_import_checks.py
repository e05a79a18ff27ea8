"""Checks of an accounts file against itself and the store, before anything is written.

``check_entries`` reads the rows the file refers to, adds every problem it
finds to ``problems`` (positions as in ``account_import_entries``) and returns the
``Plan`` the writer follows.  Values are judged as they will be after the
import: a key the file leaves out keeps the stored value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.accounts.account_import_entries import AccountEntry, Entries, GrantEntry, Problems, ReviewEntry
from bot.accounts.checks import DOCUMENT_TYPE_BY_NAME, MAINLAND_ID
from bot.accounts.models import Account, AccountKind, Decision, ManualReview, RealnameState, Unit

VERIFIED = (RealnameState.VERIFIED_ONLINE, RealnameState.VERIFIED_MANUAL)


@dataclass
class Plan:
    entries: Entries
    stored: Dict[str, Account] = field(default_factory=dict)  # lower login name → stored row
    stored_units: Dict[str, Unit] = field(default_factory=dict)  # credit code → stored unit
    unit_owner: Dict[str, str] = field(default_factory=dict)  # credit code → file account key

    def unit_for(self, credit_code: str, accounts: Dict[str, Account]) -> Unit:
        owner = self.unit_owner.get(credit_code)
        return accounts[owner].unit if owner else self.stored_units[credit_code]


def check_entries(session: Session, entries: Entries, problems: Problems) -> Plan:
    return _Checker(session, entries, problems).run()


def _referenced_logins(entries: Entries) -> Set[str]:
    names = {entry.key for entry in entries.accounts}
    names |= {
        entry.unit.main_agent.lower() for entry in entries.accounts if entry.unit is not None and entry.unit.main_agent
    }
    names |= {grant.person.lower() for grant in entries.grants if grant.person}
    names |= {review.account.lower() for review in entries.reviews if review.account}
    return names


class _Checker:
    def __init__(self, session: Session, entries: Entries, problems: Problems) -> None:
        self.session, self.problems = session, problems
        self.plan = Plan(entries)
        self.by_key: Dict[str, AccountEntry] = {}

    def run(self) -> Plan:
        self._index_accounts()
        self._load_store()
        for entry in self.by_key.values():
            self._check_account(entry)
        self._check_credit_codes()
        self._check_documents()
        self._check_grants()
        self._check_reviews()
        return self.plan

    def fail(self, label: str, key: str, message: str) -> None:
        self.problems.add(f"{label}: {key}" if key else label, message)

    # -- what the file and the store hold ----------------------------------------

    def _index_accounts(self) -> None:
        for entry in self.plan.entries.accounts:
            first = self.by_key.get(entry.key)
            if first is not None:
                self.fail(entry.label, "login_name", f"the same login name as {first.label}")
            else:
                self.by_key[entry.key] = entry

    def _load_store(self) -> None:
        names = _referenced_logins(self.plan.entries)
        rows = (
            self.session.execute(select(Account).where(func.lower(Account.login_name).in_(sorted(names))))
            .scalars()
            .all()
            if names
            else []
        )
        for account in rows:
            key = account.login_name.lower()
            if key in self.plan.stored:
                self.problems.add(
                    "store", f"holds several accounts named {key} in different letter case; " "fix them by hand first"
                )
            self.plan.stored[key] = account
        codes = {code for code in (self.final_code(entry) for entry in self.by_key.values()) if code}
        codes |= {grant.credit_code for grant in self.plan.entries.grants if grant.credit_code}
        units = (
            self.session.execute(select(Unit).where(Unit.credit_code.in_(sorted(codes)))).scalars().all()
            if codes
            else []
        )
        self.plan.stored_units = {unit.credit_code: unit for unit in units}

    def final(self, entry: AccountEntry, column: str, default: Any = None) -> Any:
        """The account's value after the import."""
        if column in entry.values:
            return entry.values[column]
        stored = self.plan.stored.get(entry.key)
        return getattr(stored, column) if stored is not None else default

    def final_state(self, key: str) -> Optional[RealnameState]:
        entry, stored = self.by_key.get(key), self.plan.stored.get(key)
        if entry is not None and entry.realname is not None:
            return entry.realname.state
        if stored is not None:
            return RealnameState(stored.realname_state)
        return RealnameState.UNVERIFIED if entry is not None else None

    def final_code(self, entry: AccountEntry) -> Optional[str]:
        if entry.unit is not None and "credit_code" in entry.unit.values:
            return entry.unit.values["credit_code"]
        stored = self.plan.stored.get(entry.key)
        return stored.unit.credit_code if stored is not None and stored.unit is not None else None

    def kind_of(self, key: str) -> Optional[AccountKind]:
        entry, stored = self.by_key.get(key), self.plan.stored.get(key)
        if entry is not None:
            return entry.kind
        return AccountKind(stored.kind) if stored is not None else None

    # -- one account -------------------------------------------------------------

    def _check_account(self, entry: AccountEntry) -> None:
        stored = self.plan.stored.get(entry.key)
        if stored is not None and entry.kind and AccountKind(stored.kind) != entry.kind:
            self.fail(
                entry.label,
                "kind",
                f"the stored account is {AccountKind(stored.kind).value}; " "the kind of an account cannot change",
            )
            return
        if stored is None and not entry.password_given:
            self.fail(entry.label, "password", "missing (a new account needs password or password_hash)")
        if entry.kind == AccountKind.LEGAL:
            self._check_unit(entry, stored)
        elif entry.kind == AccountKind.NATURAL:
            self._check_natural_realname(entry)
        self._check_torch(entry)

    def _check_unit(self, entry: AccountEntry, stored: Optional[Account]) -> None:
        has_stored_unit = stored is not None and stored.unit is not None
        if entry.unit is None:
            if not has_stored_unit:
                self.fail(entry.label, "unit", "missing (a new legal account needs its unit)")
            return
        if not has_stored_unit:
            for key in ("name", "credit_code", "legal_type", "region"):
                if key not in entry.unit.values:
                    self.fail(entry.label, f"unit.{key}", "missing (required for a new unit)")
        agent = entry.unit.main_agent
        if agent:
            kind = self.kind_of(agent.lower())
            if kind is None:
                self.fail(entry.label, "unit.main_agent", f"no account {agent} in the file or the store")
            elif kind != AccountKind.NATURAL:
                self.fail(
                    entry.label,
                    "unit.main_agent",
                    f"{agent} is a legal account; the main agent must be a natural person",
                )

    def _check_natural_realname(self, entry: AccountEntry) -> None:
        state = self.final_state(entry.key)
        where = "realname.state" if entry.realname is not None else "document"
        if state is None or not state.is_verified or entry.bad("document") or entry.bad("realname"):
            return
        doc_type, number = self.final(entry, "doc_type"), self.final(entry, "doc_number")
        if not number:
            self.fail(entry.label, where, f"{state.value} needs a document (type and number)")
            return
        document = DOCUMENT_TYPE_BY_NAME.get(doc_type or "")
        if state == RealnameState.VERIFIED_ONLINE and document is not None and not document.online:
            self.fail(
                entry.label,
                where,
                f"a {doc_type} is never verified online; " "its accounts are verified_manual (manual review)",
            )
        if (
            state == RealnameState.VERIFIED_ONLINE
            and doc_type == MAINLAND_ID
            and not self.final(entry, "doc_valid_from")
        ):
            self.fail(
                entry.label, "document.valid_from", "online verification of a 居民身份证 needs the valid_from date"
            )

    def _check_torch(self, entry: AccountEntry) -> None:
        case, key = self.final(entry, "torch_case"), self.final(entry, "torch_key")
        if case is None or key is None or entry.bad("torch"):
            return
        by_code = len(key) == 18
        expected = {1: key, 2: key, 3: "HJ_" + key, 4: key if by_code else None}.get(case)
        if expected and entry.login_name.upper() != expected.upper():
            self.fail(entry.label, "torch", f"case {case} means the login name is {expected}")
        if not by_code and entry.kind == AccountKind.LEGAL:
            self.fail(
                entry.label,
                "torch.key",
                "a phone number is a personal Torch account; " "a legal account's key is its credit code",
            )
        if by_code and entry.kind == AccountKind.LEGAL and self.final_code(entry) not in (None, key):
            self.fail(entry.label, "torch.key", "must be the unit's credit code")
        if case == 4 and by_code and entry.kind == AccountKind.LEGAL:
            self.fail(entry.label, "torch.case", "case 4 means the credit code became a natural account")

    # -- across accounts -----------------------------------------------------------

    def _check_credit_codes(self) -> None:
        for entry in self.by_key.values():
            code = self.final_code(entry) if entry.kind == AccountKind.LEGAL else None
            if code is None:
                continue
            if code in self.plan.unit_owner:
                owner = self.by_key[self.plan.unit_owner[code]]
                self.fail(entry.label, "unit.credit_code", f"the same credit code as {owner.label}")
                continue
            stored_unit = self.plan.stored_units.get(code)
            if stored_unit is not None and stored_unit.account.login_name.lower() != entry.key:
                self.fail(
                    entry.label,
                    "unit.credit_code",
                    f"already belongs to the unit of account {stored_unit.account.login_name}",
                )
                continue
            self.plan.unit_owner[code] = entry.key

    def _check_documents(self) -> None:
        """One document can be real-name verified on one account only."""
        holders: Dict[str, List[str]] = defaultdict(list)
        for entry in self.by_key.values():
            number = self.final(entry, "doc_number")
            if number and self.final_state(entry.key) in VERIFIED:
                holders[number.upper()].append(entry.key)
        for number, login in self._stored_verified_holders(holders):
            if login.lower() not in self.by_key:
                holders[number].append(login.lower())
        for keys in holders.values():
            for key in keys:
                if key in self.by_key and len(keys) > 1:
                    others = ", ".join(other for other in keys if other != key)
                    self.fail(
                        self.by_key[key].label,
                        "document.number",
                        f"is also real-name verified on {others}; one document can be " "verified on one account only",
                    )

    def _stored_verified_holders(self, numbers: Iterable[str]) -> List[Tuple[str, str]]:
        numbers = sorted(numbers)
        if not numbers:
            return []
        rows = self.session.execute(
            select(func.upper(Account.doc_number), Account.login_name).where(
                func.upper(Account.doc_number).in_(numbers), Account.realname_state.in_(VERIFIED)
            )
        )
        return [(number, login) for number, login in rows]

    # -- grants ------------------------------------------------------------------

    def _systems_of(self, code: str) -> Optional[Set[str]]:
        """The systems the unit will have entered; None for an unknown unit."""
        owner = self.plan.unit_owner.get(code)
        if owner is None:
            unit = self.plan.stored_units.get(code)
            return {row.system for row in unit.systems} if unit is not None else None
        entry, stored = self.by_key[owner], self.plan.stored.get(owner)
        if entry.unit is not None and entry.unit.systems is not None:
            return {system.key for system in entry.unit.systems}
        unit = stored.unit if stored is not None else None
        return {row.system for row in unit.systems} if unit is not None else set()

    def _check_grants(self) -> None:
        seen: Dict[Tuple[str, str, str], str] = {}
        for grant in self.plan.entries.grants:
            self._check_grant_unit(grant)
            self._check_grant_person(grant)
            if grant.credit_code and grant.person and grant.system:
                triple = (grant.credit_code, grant.person.lower(), grant.system)
                if triple in seen:
                    self.fail(grant.label, "", f"the same unit, person and system as {seen[triple]}")
                seen.setdefault(triple, grant.label)

    def _check_grant_unit(self, grant: GrantEntry) -> None:
        if not grant.credit_code:
            return
        systems = self._systems_of(grant.credit_code)
        if systems is None:
            self.fail(grant.label, "unit", f"no unit with credit code {grant.credit_code} " "in the file or the store")
        elif grant.system and grant.system not in systems:
            self.fail(
                grant.label,
                "system",
                f"the unit {grant.credit_code} has not entered {grant.system} "
                "(unit.systems); a unit can only grant what it holds",
            )

    def _check_grant_person(self, grant: GrantEntry) -> None:
        if not grant.person:
            return
        kind = self.kind_of(grant.person.lower())
        if kind is None:
            self.fail(grant.label, "person", f"no account {grant.person} in the file or the store")
        elif kind != AccountKind.NATURAL:
            self.fail(grant.label, "person", f"{grant.person} is a legal account; grants go to natural persons")

    # -- reviews -----------------------------------------------------------------

    def _check_reviews(self) -> None:
        seen: Set[Tuple[str, Optional[datetime]]] = set()  # created_at None when missing or invalid
        pending: Counter = Counter()
        for review in self.plan.entries.reviews:
            if not review.account:
                continue
            key = review.account.lower()
            if self.kind_of(key) is None:
                self.fail(review.label, "account", f"no account {review.account} in the file or the store")
                continue
            if review.created_at and (key, review.created_at) in seen:
                self.fail(review.label, "created_at", "another review of this account has the same created_at")
            seen.add((key, review.created_at))
            if review.state == Decision.PENDING:
                pending[key] += 1
                self._check_pending(review, key)
        self._check_one_pending(pending, seen)

    def _check_pending(self, review: ReviewEntry, key: str) -> None:
        state = self.final_state(key)
        if state != RealnameState.IN_REVIEW:
            self.fail(
                review.label,
                "state",
                f"a pending review needs the account's real-name state "
                f"in_review, not {state.value if state else 'unknown'}",
            )

    def _check_one_pending(self, pending: Counter, seen: Set[Tuple[str, Optional[datetime]]]) -> None:
        accounts = {key: self.plan.stored[key].id for key in pending if key in self.plan.stored}
        stored = (
            self.session.execute(
                select(ManualReview).where(
                    ManualReview.account_id.in_(list(accounts.values())), ManualReview.state == Decision.PENDING
                )
            )
            .scalars()
            .all()
            if accounts
            else []
        )
        for row in stored:
            key = row.account.login_name.lower()
            if (key, row.created_at) not in seen:
                pending[key] += 1
        for key, count in pending.items():
            if count > 1:
                label = next(r.label for r in self.plan.entries.reviews if r.account and r.account.lower() == key)
                self.fail(label, "state", f"{key} would have {count} pending reviews; at most one at a time")
