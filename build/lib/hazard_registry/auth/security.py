"""Password hashing (argon2 through pwdlib) and JWT bearer tokens (PyJWT)."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash

from hazard_registry.errors import Unauthorized

_hasher = PasswordHash.recommended()
ALGORITHM = "HS256"
# A real hash of a random string, checked when the user does not exist so that timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-user-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, hashed)


def issue_token(*, user_id: int, generation: int, role: str, secret: str, now: datetime, ttl: timedelta) -> str:
    claims = {"sub": str(user_id), "gen": generation, "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> tuple[int, int]:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
        return int(claims["sub"]), int(claims.get("gen", 0))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Unauthorized("the bearer token is invalid or expired", code="invalid_token") from exc
