"""The account-support assistant of the MOST government service platform.

The platform's technical support contacts live here, once: the account flows,
the handoff messages and anything else that names them import these.  (The
domain's responses and the demo page, which cannot import, repeat them.)
"""

SUPPORT_PHONE = "010-88659000"
SUPPORT_EMAIL = "fuwu@most.cn"
