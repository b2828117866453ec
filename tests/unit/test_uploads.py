"""The rules of an uploaded proof of payment or QR code (ais.billing.uploads): judged by content,
images re-encoded without their metadata, download names made plain."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ais.billing.uploads import MAX_PROOF_BYTES, MAX_QR_BYTES, UploadRefused, check_proof, check_qr_image, safe_filename

MAKE_TAG, GPS_TAG = 0x010F, 0x8825


def photo(kind: str = "JPEG") -> bytes:
    """A small picture carrying EXIF (camera make and a GPS block), as a phone would save it."""
    tags = Image.Exif()
    tags[MAKE_TAG] = "PhoneCam"
    tags[GPS_TAG] = {1: "N", 2: (14.0, 35.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format=kind, exif=tags.tobytes())
    return out.getvalue()


def test_a_jpeg_proof_is_re_encoded_without_its_exif():
    original = photo("JPEG")
    assert Image.open(io.BytesIO(original)).getexif()  # the fixture does carry EXIF
    checked = check_proof(original, "IMG_0042.JPG")
    stored = Image.open(io.BytesIO(checked.data))
    assert checked.content_type == "image/jpeg" and stored.format == "JPEG"
    assert dict(stored.getexif()) == {} and "exif" not in stored.info
    assert checked.filename == "IMG_0042.jpg"


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"<html><script>alert(1)</script></html>", "PNG or JPEG"),
        (b"MZ\x90\x00 an executable", "PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "cannot be read"),
        (b"\xff\xd8\xff" + b"\x00" * 100, "cannot be read"),
        (b"GIF89a" + b"\x00" * 40, "PNG or JPEG"),
    ],
)
def test_a_file_that_is_not_an_image_or_a_pdf_is_refused(data, message):
    with pytest.raises(UploadRefused, match=message):
        check_proof(data, "proof.png")


def test_a_proof_over_5_mb_is_refused():
    with pytest.raises(UploadRefused, match="at most 5 MB"):
        check_proof(b"%PDF-" + b"0" * MAX_PROOF_BYTES, "big.pdf")


@pytest.mark.parametrize(
    "name,kind,expected",
    [
        ('../../etc/pass"wd.png', "image/png", "pass-wd.png"),
        ("C:\\Users\\me\\slip.php", "application/pdf", "slip.pdf"),
        ("Résumé de paiement.jpeg", "image/jpeg", "Resume-de-paiement.jpg"),
        ("", "image/png", "proof.png"),
        ("\r\nSet-Cookie: x.pdf", "application/pdf", "Set-Cookie-x.pdf"),
    ],
)
def test_the_download_name_is_plain_and_has_the_checked_types_extension(name, kind, expected):
    assert safe_filename(name, kind) == expected


def test_a_qr_code_is_re_encoded_and_limited_to_1_mb():
    kind, data = check_qr_image(photo("PNG"))
    assert kind == "image/png" and dict(Image.open(io.BytesIO(data)).getexif()) == {}
    with pytest.raises(UploadRefused, match="at most 1 MB"):
        check_qr_image(b"\x89PNG\r\n\x1a\n" + b"0" * MAX_QR_BYTES)
    with pytest.raises(UploadRefused, match="PNG or JPEG"):
        check_qr_image(b"%PDF-1.4")


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")  # 48 megapixels, a few KB
    with pytest.raises(UploadRefused, match="too large"):
        check_proof(out.getvalue(), "huge.png")
