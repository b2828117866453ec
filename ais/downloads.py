"""Files people uploaded, served back: always as a download, never sniffed, never cached."""

from __future__ import annotations

from flask import current_app

from .models import PaymentProof


def proof_download(proof: PaymentProof):
    """The proof of payment as an attachment under its sanitized name."""
    response = current_app.response_class(proof.data, mimetype=proof.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{proof.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def image_response(data: bytes, content_type: str):
    """An image the app checked and re-encoded when it was saved (the payment QR code), shown inline."""
    response = current_app.response_class(data, mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
