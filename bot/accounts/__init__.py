"""The account store and the services the assistant's account flows use.

``models`` holds the tables (on the store's ``Base``; engine, sessions,
migrations, audit log and password hashing are ``bot.store``'s), ``service``
the operations the actions call (one place for every rule), ``flows`` the
conversation steps behind the form, ``diagnosis`` what is wrong with an
account, ``checks``/``masking`` what users type and what is shown, ``sms``
the gateway, ``identity`` the platform's signed tokens, ``uploads`` the
stored photos, ``account_import`` (with ``account_import_entries`` and
``account_import_checks``) the YAML import of accounts (and the demo data).

The process's ``AccountService`` and ``FlowEngine`` are built by
``bot.services``, never here.
"""
