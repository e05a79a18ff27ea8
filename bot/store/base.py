"""The declarative base every table of the store is declared on, and how an
enum column is stored.

One ``Base`` (one ``MetaData``) for the accounts' tables, the handoff's tables
and the audit log, so the one Alembic chain covers them all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Enum
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 ships no type information and builds the base class at run
# time; without the annotation mypy rejects a variable as a base class.
Base: Any = declarative_base()


def stored_enum(kind: type) -> Enum:
    """A column type for a ``str`` enum, stored as its values ("natural",
    "in_review" ...) in a VARCHAR(32) with a CHECK, so PostgreSQL needs no
    named enum types and the CLI can print the values as they are."""
    return Enum(
        kind,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        length=32,
        validate_strings=True,
    )
