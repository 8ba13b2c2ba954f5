"""Files in and out at the edge: names made safe, images bounded in pixels before any decoding, and the
headers that stop a browser from running what it downloads.

A file name is the uploader's text: it is cut to its last path component, stripped of control and path
characters and kept short, so ``../../../../etc/passwd`` is stored and sent back as ``passwd``. An image's
size is read from its header (``Image.open`` reads no pixels); one past the budget is refused before a
single pixel is decoded — except a JPEG, which libjpeg can decode at 1/2, 1/4 or 1/8 scale (``draft``), so
a large phone photo is taken at a smaller size for the cost of the smaller size. Files go out as
attachments, with ``nosniff`` and a Content-Security-Policy that lets nothing in them run or load.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO

import filetype
from fastapi.responses import FileResponse
from PIL import Image, ImageOps, UnidentifiedImageError

from hazard_registry.errors import PayloadTooLarge, UnsupportedMedia

FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"*:<>?|\\/]+')
MAX_NAME = 120

# Pillow's own guard warns at MAX_IMAGE_PIXELS and refuses at twice that; ours is checked first, per call,
# and this only stops any decode we did not ask for from going further than the largest budget.
Image.MAX_IMAGE_PIXELS = 200_000_000


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """The last component of ``name``, with no path, control or quoting characters, at most MAX_NAME long."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    if not base:
        return fallback
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:16] if dot and len(ext) <= 16 else ""
        base = (stem if dot else base)[: MAX_NAME - len(ext) - 1] + ("." + ext if ext else "")
    return base


def file_responses(media_types: Iterable[str]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a download: the stored file in any of the types a route accepts."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": "The file as stored", "content": dict.fromkeys(sorted(media_types), binary)}}


def download(path: Path, media_type: str, filename: str) -> FileResponse:
    """A stored file, as an attachment that the browser neither sniffs nor runs."""
    return FileResponse(
        path,
        media_type=media_type,
        filename=safe_filename(filename),
        headers=FILE_HEADERS,
        content_disposition_type="attachment",
    )


def _too_many_pixels(width: int, height: int, max_pixels: int) -> PayloadTooLarge:
    size = f"{width}×{height} pixels" if width else "larger than any accepted"
    return PayloadTooLarge(
        f"the image is {size}; at most {max_pixels} pixels are accepted",
        code="image_too_large",
        limit=max_pixels,
    )


def check_pixels(source: IO[bytes], max_pixels: int) -> None:
    """Refuse an image whose header declares more than ``max_pixels``; reads the header only."""
    try:
        with Image.open(source) as img:
            width, height = img.size
    except Image.DecompressionBombError as exc:  # past even Pillow's own ceiling
        raise _too_many_pixels(0, 0, max_pixels) from exc
    except (UnidentifiedImageError, OSError, ValueError):
        return  # not an image Pillow knows: its type was already judged by content
    if width * height > max_pixels:
        raise _too_many_pixels(width, height, max_pixels)


def reencode_image(data: bytes, fmt: str, max_pixels: int) -> bytes:
    """The image re-encoded from its pixels alone: EXIF (GPS position, camera, time), XMP, ICC and comments
    are not carried over; the orientation EXIF asked for is applied to the pixels first. Memory stays near
    one decoded copy of at most ``max_pixels`` pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > max_pixels and img.format == "JPEG":
                    scale = next((s for s in (2, 4, 8) if (width / s) * (height / s) <= max_pixels), 8)
                    img.draft(img.mode, (math.ceil(width / scale), math.ceil(height / scale)))
                    width, height = img.size
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height, max_pixels)
                img.load()
                transparency = img.info.get("transparency")
                ImageOps.exif_transpose(img, in_place=True)
                img.info = {"transparency": transparency} if transparency is not None else {}
                if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
                    img = img.convert("RGB")
                out = io.BytesIO()
                if fmt == "PNG":
                    img.save(out, format=fmt)
                else:
                    img.save(out, format=fmt, quality=90, exif=b"")
                return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(0, 0, max_pixels) from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise UnsupportedMedia("the image cannot be read") from exc


def store_blob(root: Path, stream: BinaryIO, max_bytes: int) -> tuple[str, int, str, Path]:
    """Copy an upload to a temporary file under ``root`` while hashing it; refuse it past ``max_bytes``.
    Returns its sha256, size, media type judged by content, and the temporary file to move into place."""
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"files are limited to {max_bytes} bytes", limit=max_bytes)
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size, sniff(head), tmp


def sniff(head: bytes) -> str:
    kind = filetype.guess(head)
    return kind.mime if kind else "application/octet-stream"


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256
