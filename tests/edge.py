"""Builders of hostile files for the edge tests: zip bombs dressed as ledgers, image bombs."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from openpyxl import Workbook

HEAD = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
TAIL = "</sheetData></worksheet>"


def xlsx_with_sheet(sheet_xml: str) -> bytes:
    """A valid workbook whose first sheet's XML is replaced by ``sheet_xml``, deflated as Excel does."""
    wb = Workbook()
    wb.active.append(["统一社会信用代码", "隐患名称"])
    plain = io.BytesIO()
    wb.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = sheet_xml.encode() if info.filename == "xl/worksheets/sheet1.xml" else src.read(info)
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def empty_cells_bomb(cells: int) -> bytes:
    """One row of ``cells`` empty cells: kilobytes deflated, megabytes of XML, millions of objects parsed."""
    return xlsx_with_sheet(HEAD + '<row r="1">' + "<c/>" * cells + "</row>" + TAIL)


def wide_row(cells: int) -> bytes:
    """A modest file (not a bomb by ratio) with one row far wider than any ledger."""
    row = "".join(f'<c r="{_col(i)}1" t="n"><v>{i * 7919 % 100003}</v></c>' for i in range(cells))
    return xlsx_with_sheet(HEAD + '<row r="1">' + row + "</row>" + TAIL)


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` pixels: what a decoder would allocate before reading any."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
