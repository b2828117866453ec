"""Files people upload besides the logo: a payment's proof and the payment QR code.

Each is checked by its content, never by its name or declared type.  An image (PNG or JPEG) must
open and verify with Pillow and is then re-encoded from its pixels, so nothing but the picture
survives: no EXIF (location, device), no comments, no trailing bytes.  A PDF must start with
``%PDF-`` and is kept as sent (it is only ever served as a download).
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

__all__ = [
    "MAX_PROOF_BYTES",
    "MAX_QR_BYTES",
    "CheckedFile",
    "UploadRefused",
    "check_proof",
    "check_qr_image",
    "safe_filename",
]

MAX_PROOF_BYTES = 5 * 1024 * 1024
MAX_QR_BYTES = 1024 * 1024
MAX_PIXELS = 40_000_000  # a 5 MB file may not decompress into gigabytes

PNG, JPEG, PDF = "image/png", "image/jpeg", "application/pdf"


class UploadRefused(ValueError):
    """``str(error)`` says why, for the form."""


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    filename: str
    data: bytes


def safe_filename(name: str, content_type: str) -> str:
    """A plain ASCII name for the download (letters, digits, dot, dash, underscore) with the
    extension of its checked type, whatever the client's file was called."""
    stem = unicodedata.normalize("NFKD", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    stem = stem.encode("ascii", "ignore").decode().rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-._")[:80] or "proof"
    extension = {PNG: "png", JPEG: "jpg", PDF: "pdf"}[content_type]
    return f"{stem}.{extension}"


def _reencode_image(data: bytes) -> tuple[str, bytes]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            if image_format not in ("PNG", "JPEG"):
                raise UploadRefused("Upload a PNG or JPEG image, or a PDF.")
            if probe.width * probe.height > MAX_PIXELS:
                raise UploadRefused("This image is too large (over 40 megapixels).")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            out = io.BytesIO()
            if image_format == "JPEG":
                pixels = image.convert("RGB")
                pixels.save(out, format="JPEG", quality=90)  # no exif=, no comment: none is written
                return JPEG, out.getvalue()
            pixels = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
            pixels.save(out, format="PNG", optimize=True)  # pnginfo not passed: no text chunks
            return PNG, out.getvalue()
    except UploadRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UploadRefused("This image cannot be read; save it again as PNG or JPEG.") from None


def check_qr_image(data: bytes) -> tuple[str, bytes]:
    """(media type, re-encoded bytes) of a QR image: PNG or JPEG under 1 MB, else UploadRefused."""
    if not data:
        raise UploadRefused("The file is empty.")
    if len(data) > MAX_QR_BYTES:
        raise UploadRefused("The QR image must be at most 1 MB.")
    if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        raise UploadRefused("Upload the QR code as a PNG or JPEG image.")
    return _reencode_image(data)


def check_proof(data: bytes, filename: str = "") -> CheckedFile:
    """A proof of payment as it will be stored: a PNG or JPEG re-encoded without metadata, or a
    PDF as sent; at most 5 MB.  Anything else is UploadRefused."""
    if not data:
        raise UploadRefused("The file is empty.")
    if len(data) > MAX_PROOF_BYTES:
        raise UploadRefused("The proof must be at most 5 MB.")
    if data.startswith(b"%PDF-"):
        content_type, stored = PDF, data
    elif data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        content_type, stored = _reencode_image(data)
    else:
        raise UploadRefused("Attach a photo or screenshot (PNG or JPEG) or a PDF.")
    return CheckedFile(content_type, safe_filename(filename, content_type), stored)
