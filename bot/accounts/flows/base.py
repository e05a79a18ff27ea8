"""The values every step of the account flows works on.

Contract:

* ``Turn`` is what the user just sent; ``Outcome`` is what one call of the
  engine answers: messages to show, slots to set, the next slot to ask (or
  ``done``), or ``rejected`` when the message is no answer at all.
* ``Context`` is the running flow: its name, the form's slots (``FLOW_SLOTS``,
  the slots of domain/account_flows.yml's form), the private ``flow_data``,
  the verified account, and the conversation and client address its limits
  count against.  Steps change it only through ``set`` (a slot) and
  ``remember`` (flow_data); what they changed is what the engine returns.
* ``stop`` ends a flow after the current step with a last word.

Nothing here knows a particular flow, the engine or the account service, so
every other module of the package can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bot.language import LANGUAGE_SLOT, language_of

# Slots the form can ask; each one is a slot in domain/account_flows.yml.
FLOW_SLOTS = (
    "account_kind",
    "account_ref",
    "verification_code",
    "person_name",
    "doc_type",
    "doc_number",
    "phone",
    "unit_name",
    "photo_front",
    "photo_back",
    "system_name",
    "confirm_request",
)


@dataclass
class Turn:
    """What the user just sent."""

    text: str
    intent: Optional[str] = None
    confidence: float = 0.0
    metadata: Dict[str, Any] = field(default_factory=dict)
    sender_id: str = "anonymous"
    # Values found in the message (bot/nlu/values.py kinds -> first value of each).
    values: Dict[str, str] = field(default_factory=dict)
    # The client address the channel saw (never the user's word); "" when unknown.
    client_address: str = ""


@dataclass
class Outcome:
    slots: Dict[str, Any] = field(default_factory=dict)
    messages: List[Dict[str, Any]] = field(default_factory=list)
    ask: Optional[str] = None  # next slot to request; None with done=True ends the flow
    done: bool = False
    rejected: bool = False  # not an answer: the dialogue rules take over

    def say(self, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> "Outcome":
        self.messages.append({"text": text, **({"buttons": buttons} if buttons else {})})
        return self


class Context:
    """The flow's slots and internal data, updated as a step runs."""

    def __init__(self, slots: Dict[str, Any], sender_id: str, client_address: str = "") -> None:
        self.sender_id = sender_id
        self.client_address = client_address  # for the limits per client address
        self.flow: str = slots.get("flow") or ""
        # Slot values as Rasa keeps them (None when unset), like ``data`` below.
        self.slots: Dict[str, Any] = {name: slots.get(name) for name in FLOW_SLOTS}
        self.data: Dict[str, Any] = dict(slots.get("flow_data") or {})
        self.verified: Optional[str] = slots.get("verified_account")
        # What the flow says is in this language (bot/language.py).
        self.language: str = language_of(slots.get(LANGUAGE_SLOT))
        self.changes: Dict[str, Any] = {}

    def set(self, slot: str, value: Any) -> None:
        self.slots[slot] = value
        self.changes[slot] = value

    def remember(self, **values: Any) -> None:
        self.data.update(values)
        self.changes["flow_data"] = dict(self.data)


def stop(ctx: Context, outcome: Outcome, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> None:
    """Ends the flow after this step with a last word (nothing to look up, nothing to send)."""
    ctx.remember(finished=True)
    outcome.say(text, buttons)
