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
  ``tr_every(key, separator, **values)`` is every language's text, joined.
* A domain response (domain/*.yml) holds one variation per language: the
  default language's without a condition, each other language's with
  ``language_condition(language)``.  Rasa shows a variation whose condition
  matches the slots before any unconditioned one, whatever their order
  (rasa/core/nlg/generator.py ``ResponseVariationFilter``).
  ``response_variant(variants, language)`` picks a language's variation the
  same way, for code that reads the domain files itself (canned replies, tests)
  and must not rely on the variations' order.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

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


def tr_every(key: str, separator: str = "\n", **values: Any) -> str:
    """The text of ``key`` in every language, the default language's first, joined by ``separator``:
    for what is said before the conversation's language can be known (the busy message, a request
    too large to read)."""
    return separator.join(tr(key, language, **values) for language in LANGUAGES)


def language_condition(language: str) -> List[Dict[str, str]]:
    """The ``condition`` of a domain response's variation in ``language`` (not the default)."""
    return [{"type": "slot", "name": LANGUAGE_SLOT, "value": language}]


def response_variant(variants: Sequence[Any], language: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The variation of one domain response (its list of variations) that Rasa shows to a
    conversation in ``language``: the one conditioned on that language, else the one without a
    condition (the default language's, also the fallback of a language it lacks); None if neither."""
    wanted = language_of(language)
    dicts = [variant for variant in variants if isinstance(variant, dict)]
    if wanted != DEFAULT_LANGUAGE:
        own = next((variant for variant in dicts if variant.get("condition") == language_condition(wanted)), None)
        if own is not None:
            return own
    return next((variant for variant in dicts if not variant.get("condition")), None)
