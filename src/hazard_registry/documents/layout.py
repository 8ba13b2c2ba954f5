"""The GB/T 9704-2012 layout facts, once, for both renderers (PDF and DOCX).

Page A4; 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm (right 26 mm, bottom 35 mm). Body 三号 (16 pt) 仿宋, 22
lines of 28 characters; title 二号 (22 pt) 小标宋; page numbers 四号 (14 pt) "— 1 —" 7 mm below the text
block, odd pages right and even pages left, one character in. The issuing authority's mark and the separator
under the 文号 are red. Official faces are named first (WPS/Word use them when installed), then free
stand-ins and the face embedded in the package, so a fresh machine still prints a readable document.
"""

from __future__ import annotations

from pathlib import Path

PAGE_MM = (210, 297)
MARGINS_MM = {"top": 37, "right": 26, "bottom": 35, "left": 28}
TEXT_BLOCK_MM = (156, 225)
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28

BODY_PT = 16  # 三号
TITLE_PT = 22  # 二号
PAGE_NUMBER_PT = 14  # 四号
MARK_PT = 36  # the issuing authority's mark: the standard leaves its size to the issuer (≤ 22 × 15 mm a glyph)
PAGE_NUMBER_BELOW_MM = 7
SEPARATOR_BELOW_NUMBER_MM = 4
LINE_MM = TEXT_BLOCK_MM[1] / LINES_PER_PAGE  # ≈ 10.2 mm a line

RED = "E60012"  # the red of 发文机关标志 and the separator

EMBEDDED_FAMILY = "Registry Serif SC"
EMBEDDED_FONT = Path(__file__).with_name("fonts") / "RegistrySerifSC-Regular.otf"

# Each face: the official one first (the name WPS/Word know), then free stand-ins. The serif faces put the
# embedded GB 2312 subset before the system's Noto Serif CJK: the same glyphs on every machine, and a small
# font to subset per PDF (a third of the time of subsetting the full Noto); rarer characters fall through.
FACES = {
    "title": ["方正小标宋简体", "FZXiaoBiaoSong-B05S", EMBEDDED_FAMILY, "Noto Serif CJK SC", "Source Han Serif SC"],
    "body": ["仿宋_GB2312", "仿宋", "FangSong", "FandolFang", EMBEDDED_FAMILY, "Noto Serif CJK SC"],
    "heading": ["黑体", "SimHei", "Noto Sans CJK SC", "Source Han Sans SC", EMBEDDED_FAMILY],
    "subheading": ["楷体_GB2312", "楷体", "KaiTi", "FandolKai", "Noto Serif CJK SC", EMBEDDED_FAMILY],
}


def css_family(face: str) -> str:
    return ", ".join(f'"{name}"' for name in FACES[face]) + ", serif"
