"""Email addresses: every address AIS stores or sends to is exactly one address.

A field such as "ann@example.com, boss@example.com" would otherwise send invitations, reset links
and receipts to every address in it (SMTP takes a list).  email-validator reads an address a
person types as the standards define it (no display name, no list, no comment), without asking
DNS.  The outbox holds every recipient to the narrower rule that matters when sending, one bare
address (``is_one_recipient``), so that a local mailbox such as the default sender
``billing@localhost``, which email-validator calls reserved, still receives owner notices.
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


# Characters that separate, name or quote addresses in a header: none may appear in one recipient.
_NOT_IN_ONE_ADDRESS = frozenset(',;<>()"[]\\: \t\r\n')


def is_one_recipient(text: str) -> bool:
    """Whether the outbox may send to ``text``: one bare address, never a list or a display name."""
    text = text or ""
    if not text or len(text) > MAX_LENGTH or _NOT_IN_ONE_ADDRESS & set(text):
        return False
    local, at, domain = text.rpartition("@")
    return bool(at and local and domain) and "@" not in local and not domain.startswith(".")
