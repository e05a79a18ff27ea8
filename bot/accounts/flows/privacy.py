"""What the conversation store may hold of a flow's answers: masks only.

Contract:

* ``MASKED`` names the answers that identify a person — the slots
  ``person_name``, ``doc_number`` and ``phone`` and the ``flow_data`` entries
  ``code_phone`` and ``appeal_phone`` — with the mask each is shown by
  (``bot.accounts.masking``).  Slots and ``flow_data`` go back to Rasa, whose
  tracker store keeps every value they ever took; so ``masked`` replaces
  these values by their masks and returns the full ones, which the engine
  keeps server-side (``AccountService.keep_values``, keyed by the
  conversation).  ``restored`` puts the full values back when the next turn
  comes in: a value whose mask the tracker holds; an unmasked value (a
  conversation begun before this rule) as it is; a mask with nothing kept
  behind it (purged, forgotten) counts as no answer, so the question is asked
  again.
* ``NOTICE_KEPT`` marks, among the kept values, that the conversation was
  shown the privacy notice (``prompts.privacy_notice``); finishing a flow
  forgets the answers (``KEPT_NAMES``) but not the mark.

Nothing here reads the database; the engine's ``Steps`` does.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from bot.accounts.masking import mask_document, mask_name, mask_phone

Mask = Callable[[Optional[str]], str]
MASKED_SLOTS: Dict[str, Mask] = {"person_name": mask_name, "doc_number": mask_document, "phone": mask_phone}
MASKED_DATA: Dict[str, Mask] = {"code_phone": mask_phone, "appeal_phone": mask_phone}
# Slot and flow_data names never collide: one namespace for the kept values.
MASKED: Dict[str, Mask] = {**MASKED_SLOTS, **MASKED_DATA}
KEPT_NAMES = tuple(MASKED)
NOTICE_KEPT = "privacy_notice_shown"
MASK_CHARACTER = "*"


def masked(changes: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """``changes`` (slots, ``flow_data`` among them) with identity values masked, and those values in full."""
    out = dict(changes)
    kept: Dict[str, str] = {}
    for name, mask in MASKED_SLOTS.items():
        value = out.get(name)
        if isinstance(value, str) and value:
            kept[name], out[name] = value, mask(value)
    data = out.get("flow_data")
    if isinstance(data, dict):
        data = dict(data)
        for name, mask in MASKED_DATA.items():
            value = data.get(name)
            if isinstance(value, str) and value:
                kept[name], data[name] = value, mask(value)
        out["flow_data"] = data
    return out, kept


def needs_restoring(slots: Mapping[str, Any]) -> bool:
    """Whether any identity value is set (only then are the kept values read)."""
    data = slots.get("flow_data")
    if not isinstance(data, dict):
        data = {}
    return any(slots.get(name) for name in MASKED_SLOTS) or any(data.get(name) for name in MASKED_DATA)


def restored(slots: Mapping[str, Any], kept: Mapping[str, str]) -> Dict[str, Any]:
    """The slots with the full values back in place of their masks (see the module docstring)."""
    out = dict(slots)
    for name, mask in MASKED_SLOTS.items():
        out[name] = _restore(out.get(name), kept.get(name), mask)
    data = out.get("flow_data")
    if isinstance(data, dict):
        data = dict(data)
        for name, mask in MASKED_DATA.items():
            if name in data:
                data[name] = _restore(data[name], kept.get(name), mask)
        out["flow_data"] = data
    return out


def _restore(seen: Any, kept: Optional[str], mask: Mask) -> Any:
    if not isinstance(seen, str) or not seen:
        return seen
    if kept is not None and mask(kept) == seen:
        return kept
    return None if MASK_CHARACTER in seen else seen
