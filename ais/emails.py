"""Email addresses: every address AIS stores or sends to is exactly one address.

A field such as "ann@example.com, boss@example.com" would otherwise send invitations, reset links
and receipts to every address in it (SMTP takes a list).  email-validator reads the address as
the standards define it (no display name, no list, no comment), without asking DNS.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


class InvalidEmail(ValueError):
    """Not exactly one email address; ``str(error)`` is a sentence for the person who typed it."""


def single_address(text: str) -> str:
    """``text`` as one normalised email address (the domain in lower case), or InvalidEmail."""
    text = (text or "").strip()
    if not text or len(text) > MAX_LENGTH:
        raise InvalidEmail("Enter a valid email address. Give one address, like ann@example.com.")
    try:
        return validate_email(text, check_deliverability=False, allow_display_name=False).normalized
    except EmailNotValidError:
        raise InvalidEmail("Enter a valid email address. Give one address, like ann@example.com.") from None


def is_single_address(text: str) -> bool:
    try:
        single_address(text)
    except InvalidEmail:
        return False
    return True
