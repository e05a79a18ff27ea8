"""The agent console: support agents take conversations over from the
assistant and hand them back, in the browser, under ``/webhooks/console/``
(docs/agent-console.md).

Pages (HTML)::

  GET  login, POST login, POST logout
  GET  ""                                  the queue: waiting, mine, others'
  GET  conversations/<id>                  summary, transcript, actions
  POST conversations/<id>/claim|reply|note|transfer|hand-back|resolve
  GET  reports?days=N                      per-day figures with SVG charts
  POST presence                            在线 / 忙碌 / 离开 (going online assigns at once)
  GET  teams, POST teams/<change>          团队管理, admins only (``team_routes``)
  GET  static/console.js|console.css

JSON for the page script (``static/console.js``)::

  GET  events?after=<event id>             HandoffService.events_after
  GET  api/queue                           the three lists of the queue page
  GET  api/conversations/<id>?after=<message id>   state and new messages

The database is the only state: every request reads the session, the
handoffs and the events from it, so any number of Rasa processes behind one
address serve the console alike.  Pages poll ``events`` and, when something
changed, fetch the conversation's JSON or a fresh queue page, whose rows
replace the shown ones.

Modules, each with one concern:

* ``channel``: the Rasa input channel (``AgentConsoleInput``): the blueprint
  and the sweep of abandoned handoffs.
* ``routes``: the route handlers and the table of routes; ``team_routes``:
  those of the 团队管理 page.  Handlers call
  ``services`` only — no SQL and no HTML in them.
* ``services``: ``connect``, the one place the console obtains its database
  and services (``HandoffService``, ``AgentDirectory``), and the reads each
  page needs (``ConsoleServices``).
* ``guards``: sessions, CSRF tokens, origins, cookies (login throttling is
  ``AgentDirectory.authenticate``'s).
* ``responses``: answers with the security headers, the static files.
* ``pages`` and ``templates/``: the HTML, one renderer per page, one
  ``<%def>`` per fragment, through the template mechanism of
  ``bot/web/rendering.py`` (autoescaping on); ``charts``: the reports' bar
  charts as geometry; ``views``: words, numbers and the JSON shapes.
* ``static/``: the page script and the style sheet.

Security: strict Content-Security-Policy (no inline script or style), no
framing, no caching, ``Referrer-Policy: same-origin`` (``responses``);
session cookie and CSRF (``guards``); data escaped by the templates and
written with ``textContent`` by the script.  Agents' actions are written to
the audit log by ``HandoffService`` and ``AgentDirectory`` (login, logout).

Nothing else in ``bot`` imports this package (Rasa loads the channel by its
class path); ``bot/handoff`` holds no web code.
"""
