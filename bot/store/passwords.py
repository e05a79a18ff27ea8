"""Password hashes of the platform's accounts (the YAML import, the reset
page) and of support agents: PBKDF2-SHA256 with a per-password salt (standard
library only), stored as ``pbkdf2_sha256$<iterations>$<salt>$<digest>``.

``check_password`` follows the iterations a stored hash names, so hashes made
with other iteration counts keep working.  Which passwords are acceptable is
the accounts' rule (``bot.accounts.checks``), not the store's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_ALGORITHM = "pbkdf2_sha256"
_ITERATIONS = 200_000


def hash_password(password: str, iterations: int = _ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join((_ALGORITHM, str(iterations), base64.b64encode(salt).decode(), base64.b64encode(digest).decode()))


def check_password(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algorithm != _ALGORITHM:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(candidate, base64.b64decode(digest))
