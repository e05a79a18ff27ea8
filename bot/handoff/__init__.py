"""Human handoff: support agents take conversations over in a console and
hand them back to the assistant.

This package is the core, without web code: ``models`` (tables on the
account store's ``Base``, migration 0003), ``service`` (``HandoffService``:
the state machine, queue, transcript, ratings and the event log the console
polls), ``agents`` (``AgentDirectory``: agents, login with a rate limit,
console sessions, CSRF tokens), ``hours`` (``ServiceHours``: when agents
answer), ``reports`` (per-day figures), ``summary`` (masking of identity data
in free text), ``canned`` (the console's canned replies) and ``bridge`` (to
the running assistant's channels: the only module that knows Rasa).

The agent console's web side (routes, pages, templates, script) is
``bot/console``; the commands (``python -m bot agents ...`` / ``handoff
report``) are ``bot/cli``'s.  A test keeps web code out of this package.
"""
