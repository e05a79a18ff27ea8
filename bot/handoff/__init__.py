"""Human handoff: support agents take conversations over in a console and
hand them back to the assistant.

This package is the core, without Rasa or web code: ``models`` (tables on
the account store's ``Base``, migration 0003), ``service`` (``HandoffService``:
the state machine, queue, transcript, ratings and the event log the console
polls), ``agents`` (``AgentDirectory``: agents, login with a rate limit,
console sessions, CSRF tokens), ``hours`` (``ServiceHours``: when agents
answer), ``reports`` (per-day figures), ``summary`` (masking of identity data
in free text) and ``cli`` (``python -m bot agents ...`` / ``handoff report``).
"""
