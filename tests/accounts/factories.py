"""Small helpers the account-store tests share: rows made directly in the
tables, photos made in memory, and raw reads of whole tables."""
from __future__ import annotations

import io
import os
from typing import Iterable, List, Optional

import sqlalchemy as sa
from PIL import Image

from bot.accounts.models import Account, AccountKind, RealnameState, Unit, UnitFormerName
from bot.store import Database
from bot.store.passwords import hash_password
from tests.accounts.conftest import START

OLD_PASSWORD = "Old-Passw0rd"


def add_account(database: Database, login_name: str, *, kind: AccountKind = AccountKind.NATURAL,
                password: str = OLD_PASSWORD, phone: Optional[str] = None, name: Optional[str] = None,
                doc_type: Optional[str] = None, doc_number: Optional[str] = None,
                state: RealnameState = RealnameState.UNVERIFIED) -> int:
    with database.session() as session:
        account = Account(kind=kind, login_name=login_name,
                          # Few iterations: the stored hash says how many, check_password follows it.
                          password_hash=hash_password(password, iterations=1000),
                          phone=phone, name=name, doc_type=doc_type, doc_number=doc_number,
                          realname_state=state, created_at=START)
        session.add(account)
        session.flush()
        return account.id


def add_unit(database: Database, account_id: int, name: str, credit_code: str,
             former_names: Iterable[str] = ()) -> int:
    with database.session() as session:
        unit = Unit(account_id=account_id, name=name, credit_code=credit_code,
                    legal_type="企业法人", region="境内")
        session.add(unit)
        session.flush()
        for former in former_names:
            session.add(UnitFormerName(unit_id=unit.id, name=former))
        return unit.id


def rows(database: Database, table: str, columns: str = "*") -> List[tuple]:
    """The table as it is stored, read with plain SQL."""
    with database.session() as session:
        return [tuple(row) for row in session.execute(sa.text(f"SELECT {columns} FROM {table}"))]


def photo(fmt: str = "JPEG", size=(120, 90)) -> bytes:
    """A real photo-like image (noise, so JPEG data is not trivially small)."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()
