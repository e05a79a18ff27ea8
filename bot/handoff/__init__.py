"""Human handoff: support agents take conversations over in a console and
hand them back to the assistant.

This package is the core, without Rasa and without web code: ``models``
(tables on the store's ``Base``, migration 0003 of ``bot/store/migrations``),
``service`` (``HandoffService``: the state machine, queue, transcript, ratings,
auto-assignment and the event log the console polls), ``agents``
(``AgentDirectory``: agents, login with a rate limit, console sessions, CSRF
tokens, presence), ``teams`` (``TeamDirectory``: teams, members, the routing
of topics to teams), ``assignment`` (who is offered a waiting handoff, and
the lock that keeps two processes from overfilling an agent), ``webhook``
(the unclaimed-handoff webhook), ``hours``
(``ServiceHours``: when agents answer), ``reports`` (per-day figures),
``labels`` (the words shown for its states and reasons), ``request_summary``
(why a conversation goes to a person and what the agent is handed),
``user_replies`` (what the assistant tells the user around a handoff) and
``canned`` (the console's canned replies from the FAQ).  Identity data inside
summaries and transcripts is masked with ``bot.accounts.masking``.

It uses the store (``bot.store``) and the accounts' public names only.  The
services are built once per process by ``bot.services``; the agent console's
web side (routes, pages, templates, script) is ``bot/console``, the bridge to
the running assistant ``bot/channels/handoff_bridge.py`` and the commands
(``python -m bot agents ...`` / ``teams ...`` / ``handoff report``) ``bot/cli``'s.  A test
keeps web code out of this package.
"""
