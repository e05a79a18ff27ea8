"""The conversation's language and the catalogues of what the assistant says.

Contract:

* A conversation speaks one of ``LANGUAGES`` (``zh`` first: the default and the
  fallback); it is kept in the ``language`` slot (``LANGUAGE_SLOT``, domain/core.yml).
  ``language_of(value)`` turns anything (a slot value, a browser's ``en-GB``, a
  Telegram ``language_code``, ``None``) into one of them.
* Every text the code says (not the domain's responses, which carry their own
  variations per language) lives in a catalogue: one per language, under
  ``bot/catalogues/<language>/``, one YAML file per concern (``flows.yml``,
  ``handoff.yml`` …).  A key is ``<file>.<name>`` (``flows.cancel_hint``); the
  value is a ``str.format`` template.  Every key exists in every language
  (tests/core/test_language.py fails otherwise) and every language's template
  takes the same fields.
* ``tr(key, language, **values)`` is the text in that language; an unknown key
  raises ``KeyError`` (a typo must fail in tests, not show a key to a user).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_SLOT = "language"
# The key of a message's metadata under which a channel passes the client's
# language tag (browser, Telegram app); actions/session.py reads it.
LANGUAGE_HINT_METADATA = "language_hint"
CATALOGUES = Path(__file__).with_name("catalogues")


def language_of(value: Optional[Any]) -> str:
    """One of ``LANGUAGES`` for a slot value or a client's language tag (``en-US``, ``zh_CN``)."""
    if isinstance(value, str):
        primary = value.strip().lower().replace("_", "-").split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@cache
def catalogue(language: str) -> Dict[str, str]:
    """Every template of ``language``, keyed ``<file>.<name>``."""
    templates: Dict[str, str] = {}
    for path in sorted((CATALOGUES / language).glob("*.yml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, template in entries.items():
            templates[f"{path.stem}.{name}"] = str(template)
    return templates


def tr(key: str, language: Optional[str] = None, **values: Any) -> str:
    """The text of ``key`` in ``language`` (the default language when None), formatted."""
    return catalogue(language_of(language))[key].format(**values)
