"""The table of the account flows: flow name -> Flow.  The one place a flow is registered.

Contract: ``FLOWS`` names every flow (the values of the ``flow`` slot in
domain/account_flows.yml); ``FLOW_OF_INTENT`` (the intent that starts each
flow) and ``GIVEN_VALUE_SLOTS`` are read off it; ``findings_of`` is what a
flow found so far, in words, for the agent's summary.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from bot.accounts.flows.appeal import APPEAL
from bot.accounts.flows.appeal_status import APPEAL_STATUS
from bot.accounts.flows.flow import Flow, GivenValues
from bot.accounts.flows.grant import GRANT
from bot.accounts.flows.realname import REALNAME
from bot.accounts.flows.registered import REGISTERED_ID, REGISTERED_UNIT
from bot.accounts.flows.registration import REGISTRATION
from bot.accounts.flows.reset import RESET
from bot.accounts.flows.torch import TORCH

FLOWS: Dict[str, Flow] = {
    "reset": RESET,
    "appeal": APPEAL,
    "registered_id": REGISTERED_ID,
    "registered_unit": REGISTERED_UNIT,
    "realname": REALNAME,
    "grant": GRANT,
    "registration": REGISTRATION,
    "torch": TORCH,
    "appeal_status": APPEAL_STATUS,
}
FLOW_OF_INTENT: Dict[str, str] = {flow.intent: name for name, flow in FLOWS.items()}
# Values the first message may carry, per flow (see Flow.given_values).
GIVEN_VALUE_SLOTS: Dict[str, GivenValues] = {name: flow.given_values for name, flow in FLOWS.items()}


def findings_of(flow: Optional[str], flow_data: Optional[Mapping[str, Any]]) -> List[str]:
    """What the running flow found, in Chinese words; nothing for an unknown flow or no data."""
    known = FLOWS.get(flow or "")
    if known is None or not flow_data:
        return []
    return known.findings(flow_data)
