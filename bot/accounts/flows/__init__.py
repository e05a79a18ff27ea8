"""The account flows: the conversation steps behind the Rasa form ``account_form``.

A flow (the ``flow`` slot: reset, appeal, registered_id, registered_unit,
realname, grant, registration, torch, appeal_status) is a sequence of
questions.  Each user answer goes to ``FlowEngine.answer``; it checks the
answer (saying why and asking again when it is wrong), calls the account
service, and names the next slot to ask, or ends the flow.

The modules, from the bottom up (each imports only those above it):

* ``base``: Turn, Outcome, Context, FLOW_SLOTS, stop: the values steps work on;
  ``privacy``: which answers go to Rasa masked (kept in full server-side);
* ``prompts``: every question and button;
* ``verification``: the shared steps (who the user is, codes, account lookup, misses);
* ``flow``: what a flow is (``Flow``);
* ``reset``, ``appeal``, ``registered``, ``realname``, ``grant``,
  ``registration``, ``torch``, ``appeal_status``: one module per flow;
* ``table``: FLOWS, the one table of flows, and FLOW_OF_INTENT read off it;
* ``readers``: READERS, the reader of each slot's answer;
* ``engine``: FlowEngine (start, answer, resume, interruptions, sequencing).

Other code imports from here only.  Adding a flow: docs/account-flows.md.
"""

from bot.accounts.flows.base import FLOW_SLOTS, Context, Outcome, Turn
from bot.accounts.flows.engine import FlowEngine
from bot.accounts.flows.flow import Flow
from bot.accounts.flows.prompts import APPEAL_BUTTON, CANCEL_HINT, HUMAN_BUTTON, RESET_BUTTON
from bot.accounts.flows.table import FLOW_OF_INTENT, FLOWS, GIVEN_VALUE_SLOTS, findings_of
from bot.accounts.flows.verification import signed_flow_data, signed_verification, trusted_slots

__all__ = [
    "APPEAL_BUTTON",
    "CANCEL_HINT",
    "FLOWS",
    "FLOW_OF_INTENT",
    "FLOW_SLOTS",
    "GIVEN_VALUE_SLOTS",
    "HUMAN_BUTTON",
    "RESET_BUTTON",
    "Context",
    "Flow",
    "FlowEngine",
    "Outcome",
    "Turn",
    "findings_of",
    "signed_flow_data",
    "signed_verification",
    "trusted_slots",
]
