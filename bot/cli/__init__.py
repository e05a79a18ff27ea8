"""The command line of the assistant: ``python -m bot --help``.

One module per command group, registered in the table of ``bot/cli/main.py``:

  assistant.py   env, run, chat
  db.py          db upgrade|seed-demo
  accounts.py    accounts import|show
  sms.py         sms outbox
  reviews.py     reviews list|approve|reject
  appeals.py     appeals list|approve|reject
  uploads.py     uploads purge
  agents.py      agents create|list|disable|password
  teams.py       teams list|create|rename|delete|default|add|remove|route|unroute|topics
  handoff.py     handoff report
  privacy.py     privacy purge
  cluster.py     cluster start|stop|status (the local production cluster, bot/cluster.py)

Shared by them: ``common.py`` (registering commands, the ``--database-url``
option, ``open_services``: the services of that database built by
``bot.services.build_services``, errors as one line) and ``views.py`` (the
tables and texts they print).  The commands reach the tables only through the
services (``AccountService``, ``AgentDirectory``, ``TeamDirectory``, ``bot/accounts/account_import.py``,
``bot/handoff/reports.py``) and ``db upgrade`` through ``bot.store.upgrade``;
nothing outside this package imports it except ``bot/__main__.py``.

Every back-office command takes ``--database-url`` (default: ``DATABASE_URL``).
Errors are printed as one line on stderr (a bad accounts file: one line per
problem) with exit status 1.  Audit entries name the actor ``cli:<OS user>``.
"""
