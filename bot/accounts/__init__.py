"""The account store and the services the assistant's account flows use.

``models`` holds the tables, ``database`` the engine and migrations,
``service`` the operations the actions call (one place for every rule),
``documents``/``masking``/``text_rules`` the checks on what users type,
``sms`` the gateway and codes, ``identity`` the platform's signed tokens and
``uploads`` the stored photos.
"""
