"""Rewards under 安全生产领域举报奖励办法 (安监总财〔2018〕19号), arts. 11–12. Money is integer fen.

- A verified major hazard or illegal production (art. 11): 15 % of the administrative fine, at least
  3,000 元, at most 300,000 元.
- A verified concealed or falsely reported accident (art. 12): per concealed death, 30,000 元 for a general
  (一般) accident, 40,000 元 for a larger (较大), 50,000 元 for a major (重大), 60,000 元 for an especially
  major (特别重大) one; at most 300,000 元.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

YUAN = 100  # fen per yuan
FINE_RATE = Decimal("0.15")
MIN_FEN = 3_000 * YUAN
MAX_FEN = 300_000 * YUAN
PER_DEATH_FEN = {
    "general": 30_000 * YUAN,
    "larger": 40_000 * YUAN,
    "major": 50_000 * YUAN,
    "especially_major": 60_000 * YUAN,
}


def for_fine(fine_fen: int) -> int:
    share = (Decimal(fine_fen) * FINE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(min(max(share, Decimal(MIN_FEN)), Decimal(MAX_FEN)))


def for_concealed_deaths(deaths: int, accident_class: str) -> int:
    return min(deaths * PER_DEATH_FEN[accident_class], MAX_FEN)
