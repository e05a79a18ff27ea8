"""Signed identity tokens the platform passes for logged-in users.

The platform puts ``identity_token`` into the message metadata. The token is
``<payload>.<signature>``: ``payload`` is base64url (no padding) of the JSON
``{"login_name": "...", "exp": <unix seconds>}`` and ``signature`` is
base64url of HMAC-SHA256(payload, IDENTITY_TOKEN_SECRET).  With a valid,
unexpired token the assistant treats the user as verified for that account.
An empty secret disables tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Optional


class InvalidToken(ValueError):
    pass


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, secret: str) -> str:
    return _b64encode(hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def sign(login_name: str, secret: str, lifetime_seconds: int = 3600, now: Optional[float] = None) -> str:
    """What the platform does; used by tests, the demo and integrators."""
    claims = {"login_name": login_name, "exp": int((now or time.time()) + lifetime_seconds)}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{_signature(payload, secret)}"


def verify(token: str, secret: str, now: Optional[float] = None) -> str:
    """The login name the token vouches for; raises InvalidToken otherwise."""
    if not secret:
        raise InvalidToken("identity tokens are disabled (IDENTITY_TOKEN_SECRET is empty)")
    if not isinstance(token, str) or token.count(".") != 1:
        raise InvalidToken("malformed token")
    payload, signature = token.split(".")
    if not (payload.isascii() and signature.isascii()):
        raise InvalidToken("malformed token")
    if not hmac.compare_digest(signature, _signature(payload, secret)):
        raise InvalidToken("bad signature")
    try:
        claims = json.loads(_b64decode(payload))
        login_name, expires = str(claims["login_name"]), float(claims["exp"])
    except (ValueError, KeyError, TypeError):
        raise InvalidToken("malformed payload") from None
    if expires < (now or time.time()):
        raise InvalidToken("token expired")
    return login_name
