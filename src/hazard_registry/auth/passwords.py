"""Which passwords are refused: common ones (a small bundled list), trivial ones, and the username."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@lru_cache
def common_passwords() -> frozenset[str]:
    text = resources.files("hazard_registry.auth").joinpath("data", "common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _sequential(pw: str) -> bool:
    low = pw.lower()
    return any(low in seq or low in seq[::-1] for seq in SEQUENCES)


def weakness(password: str, username: str | None) -> str | None:
    """Why ``password`` is refused (Chinese first), or None. Length limits are the schema's."""
    low = password.lower()
    if not password.strip():
        return "密码不能全为空白 (the password is only whitespace)"
    if len(set(low)) < 4 or _sequential(password):
        return "密码过于简单 (the password is trivial: too few different characters, or a sequence)"
    if low in common_passwords() or low.strip() in common_passwords():
        return "密码为常见密码 (the password is on the list of common passwords)"
    if username and len(username) >= 3 and (username.lower() in low or low in username.lower()):
        return "密码不能包含用户名 (the password contains the username)"
    return None
