"""Signed identity tokens the platform passes for logged-in users.

The platform puts ``identity_token`` into the message metadata. The token is
``<payload>.<signature>``: ``payload`` is base64url (no padding) of the JSON
claims and ``signature`` is base64url of HMAC-SHA256(payload,
IDENTITY_TOKEN_SECRET).  The claims, all required:

* ``login_name``: the account the user is logged in to;
* ``aud``: the assistant (``IDENTITY_TOKEN_AUDIENCE``), so a token signed for
  another service is refused here;
* ``iat``, ``exp``: issued and expiry time in unix seconds; a token is refused
  after ``exp``, and ``max_age_seconds`` (``IDENTITY_TOKEN_MAX_AGE``) after
  ``iat`` whatever its ``exp``;
* ``jti``: a unique id (16–64 of ``A-Z a-z 0-9 _ -``): the flows accept a
  token in one conversation only (a replay elsewhere is refused, see
  ``bot.accounts.flows.verification``).

An empty secret disables tokens; a secret shorter than
``config.MIN_SECRET_LENGTH`` is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from bot.config import MIN_SECRET_LENGTH

# A token issued this many seconds "in the future" is still accepted: clocks differ.
CLOCK_SKEW_SECONDS = 30
TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class InvalidToken(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    """What a valid token vouches for."""

    login_name: str
    token_id: str  # the token's jti
    issued_at: float
    expires_at: float


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, secret: str) -> str:
    return _b64encode(hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def sign(
    login_name: str,
    secret: str,
    audience: str,
    lifetime_seconds: int = 300,
    now: Optional[float] = None,
    token_id: Optional[str] = None,
    **claims: Any,
) -> str:
    """What the platform does; used by tests, the demo and integrators.

    ``claims`` override or add claims (tests build bad tokens with them).
    """
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"the secret needs at least {MIN_SECRET_LENGTH} characters")
    issued = int(time.time() if now is None else now)
    body: Dict[str, Any] = {
        "login_name": login_name,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime_seconds,
        "jti": token_id or secrets.token_urlsafe(16),
    }
    body.update(claims)
    payload = _b64encode(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_signature(payload, secret)}"


def verify(token: str, secret: str, audience: str, max_age_seconds: int, now: Optional[float] = None) -> Identity:
    """The identity the token vouches for; raises InvalidToken (the reason in words) otherwise."""
    if not secret:
        raise InvalidToken("identity tokens are disabled (IDENTITY_TOKEN_SECRET is empty)")
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidToken(f"IDENTITY_TOKEN_SECRET is shorter than {MIN_SECRET_LENGTH} characters")
    if not isinstance(token, str) or token.count(".") != 1:
        raise InvalidToken("malformed token")
    payload, signature = token.split(".")
    if not (payload.isascii() and signature.isascii()):
        raise InvalidToken("malformed token")
    if not hmac.compare_digest(signature, _signature(payload, secret)):
        raise InvalidToken("bad signature")
    try:
        claims = json.loads(_b64decode(payload))
        identity = Identity(
            login_name=str(claims["login_name"]),
            token_id=claims["jti"],
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
        )
        token_audience = claims["aud"]
    except (ValueError, KeyError, TypeError):
        raise InvalidToken("malformed payload: login_name, aud, iat, exp and jti are required") from None
    if not isinstance(identity.token_id, str) or not TOKEN_ID.fullmatch(identity.token_id):
        raise InvalidToken("malformed jti")
    if token_audience != audience:
        raise InvalidToken("wrong audience")
    if not (math.isfinite(identity.issued_at) and math.isfinite(identity.expires_at)):
        raise InvalidToken("malformed iat or exp")
    moment = time.time() if now is None else now
    if identity.expires_at <= moment:
        raise InvalidToken("token expired")
    if identity.issued_at > moment + CLOCK_SKEW_SECONDS:
        raise InvalidToken("token issued in the future")
    if identity.issued_at < moment - max_age_seconds:
        raise InvalidToken("token too old (iat)")
    return identity
