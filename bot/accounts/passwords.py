"""Password hashes: PBKDF2-SHA256 with a per-password salt (standard library only),
and the platform's password rule as users are told it (``PASSWORD_RULE``: the
reset link's message and the reset page; ``checks.password_problems`` enforces it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_ALGORITHM = "pbkdf2_sha256"
_ITERATIONS = 200_000

PASSWORD_RULE = "新密码至少 8 位，包含大写字母、小写字母、数字、特殊符号中的至少 3 种。"


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
