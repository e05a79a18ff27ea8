"""Masking of identity data inside free text: what agents see of a handoff.

The assistant already masks what it puts in a handoff summary; this masks
again whatever looks like a mainland ID number or a mobile phone number, in
summaries (before they are stored) and in transcripts (when shown).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict

from bot.accounts.masking import mask_document, mask_phone

# Not part of a longer run of digits: an order number is not an ID number.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![0-9])")


def mask_text(text: str) -> str:
    """``text`` with ID numbers and mobile numbers partly hidden."""
    text = _ID_NUMBER.sub(lambda match: mask_document(match.group(0).upper()), text)
    return _PHONE.sub(lambda match: mask_phone("".join(match.groups())), text)


def mask_value(value: Any) -> Any:
    """Every string inside lists and dicts (keys too) masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(str(key)): mask_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item) for item in value]
    return value


def summary_json(summary: Dict[str, Any]) -> str:
    """The summary as stored: masked JSON; refuses what JSON cannot hold."""
    if not isinstance(summary, dict):
        raise TypeError(f"a handoff summary must be a dict, not {type(summary).__name__}")
    return json.dumps(mask_value(summary), ensure_ascii=False)


def summary_from_json(stored: str) -> Dict[str, Any]:
    return json.loads(stored) if stored else {}
