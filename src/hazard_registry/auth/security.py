"""Password hashing (argon2 through pwdlib) and JWT bearer tokens (PyJWT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


# (secret, token) → (user id, generation, valid from, expires): tokens whose signature and claims were checked.
# Verifying an HS256 token is ~20 % of a read's event-loop time (the key prepared, the parts decoded, the JSON
# parsed on every call); a client sends the same token for its whole life. Only a token that passed the full
# check is kept, and its times are checked against the clock at every use, so an expired (or not yet valid)
# token is refused exactly as before. Generation and deactivation are the actor lookup's (deps.py), not this.
_VERIFIED: dict[tuple[str, str], tuple[int, int, float, float]] = {}
VERIFIED_MAX = 4096


def decode_token(token: str, secret: str) -> tuple[int, int]:
    """The (user id, token generation) of a valid token; 401 ``invalid_token`` for a bad, expired or not yet
    valid one. A token verified before costs a dict lookup and a clock read."""
    key = (secret, token)
    hit = _VERIFIED.get(key)
    if hit is not None:
        now = datetime.now(tz=UTC).timestamp()  # the clock PyJWT reads
        if hit[2] <= now < hit[3]:
            return hit[0], hit[1]
        _VERIFIED.pop(key, None)  # expired: the full check below raises the same error as it always did
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
        verified = (int(claims["sub"]), int(claims.get("gen", 0)))
        valid_from = max(int(claims.get("iat", 0)), int(claims.get("nbf", 0)))
        expires = int(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise Unauthorized("the bearer token is invalid or expired", code="invalid_token") from exc
    if len(_VERIFIED) >= VERIFIED_MAX:
        try:
            del _VERIFIED[next(iter(_VERIFIED))]  # the oldest; a busy worker re-verifies it once if it returns
        except (KeyError, RuntimeError, StopIteration):
            _VERIFIED.clear()
    _VERIFIED[key] = (*verified, valid_from, expires)
    return verified
