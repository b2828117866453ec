"""Philippine taxpayer identification numbers (pure: no Flask, no database).

A TIN is nine digits; a branch code of five digits (``00000`` for the head office) follows it on
invoices: ``NNN-NNN-NNN-NNNNN``, the format of Odoo's Philippine localization and of RR 7-2024.
Older documents print a three-digit branch code (``NNN-NNN-NNN-NNN``).
"""

from __future__ import annotations

import re

__all__ = ["InvalidTin", "format_tin"]

_SEPARATORS = re.compile(r"[\s\-]")


class InvalidTin(ValueError):
    """``str(error)`` is a sentence for the person who typed it."""


def format_tin(text: str, *, branch_required: bool = True) -> str:
    """The TIN written ``NNN-NNN-NNN-NNNNN``, from digits with or without dashes and spaces.

    With ``branch_required`` (the seller's own TIN) the five-digit branch code must be given; a
    buyer's TIN may also be the nine digits alone or with the older three-digit branch code.
    Anything else raises :class:`InvalidTin`.
    """
    digits = _SEPARATORS.sub("", text or "")
    example = "123-456-789-00000" if branch_required else "123-456-789 or 123-456-789-00000"
    if not digits.isascii() or not digits.isdigit():
        raise InvalidTin(f"Enter the TIN as digits, like {example}.")
    allowed = (14,) if branch_required else (9, 12, 14)
    if len(digits) not in allowed:
        if branch_required:
            raise InvalidTin("Enter the 9-digit TIN and the 5-digit branch code, like 123-456-789-00000.")
        raise InvalidTin(f"Enter the 9-digit TIN, with its branch code if any, like {example}.")
    parts = [digits[0:3], digits[3:6], digits[6:9]]
    if len(digits) > 9:
        parts.append(digits[9:])
    return "-".join(parts)
