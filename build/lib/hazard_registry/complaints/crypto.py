"""Secrets of the complaint desk: receipt codes (only their hash is kept) and the reporter's identity
(encrypted with MultiFernet, so keys can be rotated: the first key encrypts, every key decrypts)."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# No 0/O, 1/I/L, U/V pairs: a code read aloud over the 12350 hotline or copied from paper survives.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
GROUPS, GROUP_LEN = 4, 4  # 29**16 ≈ 2**77.7: guessing one of even a million live codes is hopeless


def new_receipt() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(raw[i : i + GROUP_LEN] for i in range(0, len(raw), GROUP_LEN))


def normalize_receipt(code: str) -> str | None:
    """The canonical form of what a reporter typed (any case, spaces or dashes), or None if it cannot be one."""
    raw = "".join(ch for ch in code.upper() if ch not in " -\t")
    if len(raw) != GROUPS * GROUP_LEN or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


def receipt_hash(code: str) -> str:
    """SHA-256 of the canonical code. The code's own entropy makes a pepper unnecessary; the hash alone
    cannot be turned back into a code, so a database dump does not let anyone follow a complaint."""
    normalized = normalize_receipt(code)
    if normalized is None:
        raise ValueError("not a receipt code")
    return hashlib.sha256(normalized.encode()).hexdigest()


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one complaint key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:  # a key was dropped before every row was rotated
            raise RuntimeError("a complaint secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()
