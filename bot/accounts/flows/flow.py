"""What a flow is: the few functions the engine calls, and what it says about itself.

Contract: a ``Flow`` is one value (built at the end of its module, registered
in ``table.FLOWS`` under its name).  The engine calls

* ``begin(steps, ctx, turn, outcome)`` once when the flow starts (optional):
  True ends the flow at once (appeal_status shows this conversation's appeals);
* ``next_step(steps, ctx, outcome)`` after every answer: it may act and say
  things, and returns the next slot to ask, or None when the flow is done.
  ``InvalidInput`` raised here is said to the user and ends the flow;
* ``lookup(steps, ctx, turn, outcome)`` reads the ``account_ref`` answer
  (optional: None means the shared ``verification.lookup_account``).

``given_values`` are the values the first message may carry
(bot/nlu/values.py kinds): the slot they answer, and the kinds that answer
it, preferred first.  ``findings(flow_data)`` states in Chinese what the flow
found so far (for the agent's summary when the user asks for a person);
it never shows flow_data's keys, and masks what identifies anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Tuple

from bot.accounts.flows.base import Context, Outcome, Turn
from bot.accounts.flows.verification import Steps

NextStep = Callable[[Steps, Context, Outcome], Optional[str]]
# Reads one answer: sets its slot (and flow_data), or raises InvalidInput saying what is wrong.
Reader = Callable[[Steps, Context, Turn, Outcome], None]
Begin = Callable[[Steps, Context, Turn, Outcome], bool]
Findings = Callable[[Mapping[str, Any]], List[str]]
GivenValues = Tuple[Tuple[str, Tuple[str, ...]], ...]


@dataclass(frozen=True)
class Flow:
    intent: str  # the intent that starts it (FLOW_OF_INTENT)
    next_step: NextStep
    findings: Findings
    lookup: Optional[Reader] = None
    given_values: GivenValues = ()
    begin: Optional[Begin] = None
