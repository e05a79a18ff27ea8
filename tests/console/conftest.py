"""Fixtures of the console tests: those of the handoff tests (tests/handoff/conftest.py:
the ``database`` on SQLite and PostgreSQL, the movable ``clock``, the handoff
``service``, the agent ``directory``, three agents and fast password hashes), so
that these tests see exactly what they saw beside the handoff tests."""
from tests.handoff.conftest import admin, alice, bob, clock, database, directory, fast_hashes, service  # noqa: F401
