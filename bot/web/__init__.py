"""The assistant's web pages outside the chat and the agent console.

* ``account`` (the ``AccountWebInput`` channel, under ``/webhooks/account/``):
  the one-time password-reset page the assistant links to, and the upload of
  document photos (JSON) for the account flows.
* ``pages`` and ``templates/``: the reset page's HTML, one renderer per page.
* ``rendering``: the one template mechanism (Mako, autoescaping on) of every
  HTML page the assistant serves, the agent console's (``bot/console/``)
  included.

Route handlers call services only (``AccountService`` through
``bot.channels.common``); no SQL here.  Nothing outside ``bot/web`` and
``bot/console`` imports this package: Rasa loads the channel by its class path
in ``credentials.yml``.
"""
