"""Money and decimal input handling for AIS.

Every sum of money in AIS is a ``decimal.Decimal`` with exactly two places.
Binary floating point cannot represent most cent values, so floats are refused
wherever they could sneak in rather than converted.

Rounding happens in exactly one place, :func:`round_half_up`.  Everything a
person types is either accepted exactly as written or refused with a message;
it is never silently rounded, because a silently changed amount on an invoice
is worse than asking the person to fix their input.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

__all__ = [
    "CENT",
    "MAX_AMOUNT",
    "InvalidAmount",
    "parse_amount",
    "parse_decimal",
    "round_half_up",
    "to_minor_units",
    "from_minor_units",
]

#: Anything larger than this is a typo (or an attack), not a real invoice.
MAX_AMOUNT = Decimal("999999999.99")

CENT = Decimal("0.01")

# Plenty of room for any product of our bounded inputs: arithmetic done under
# this context is exact, so the only rounding is the explicit one.
_EXACT_PRECISION = 200

_MONEY_PLACES = 2

# ASCII digits only (``re.ASCII``): ``Decimal()`` would accept e.g. Arabic-Indic
# digits, which nobody types into an accounting form on purpose.  Thousands
# separators must form a proper grouping ("50,000", never "5,0000" or "0,500")
# so that a mistyped decimal comma is refused instead of read as thousands.
_NUMBER_RE = re.compile(
    r"""
    (?P<sign>[+-])?
    (?:
        (?P<int>[1-9][0-9]{0,2}(?:,[0-9]{3})+ | [0-9]+)
        (?:\.(?P<frac>[0-9]+))?
      |
        \.(?P<frac_only>[0-9]+)
    )
    """,
    re.VERBOSE | re.ASCII,
)
# Same shape without the grouping rule: used only to tell the person that the
# commas, not the digits, are what is wrong.
_LOOSE_COMMAS_RE = re.compile(r"[+-]?[0-9][0-9,]*(?:\.[0-9]+)?", re.ASCII)


class InvalidAmount(ValueError):
    """A value a person entered cannot be used.

    ``str(error)`` is a complete sentence meant to be shown next to the form
    field, so it never contains Python jargon.
    """


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Messages:
    """The sentences shown for each kind of refusal.

    Amounts get their own fixed wording; other fields are named in the message
    so that a form with several numeric fields stays unambiguous.
    """

    def __init__(self, field: str | None, example: str) -> None:
        self.field = field
        self.example = example

    @property
    def _subject(self) -> str:
        return _capitalize(self.field) if self.field else "The amount"

    def empty(self) -> str:
        if self.field is None:
            return "Enter an amount."
        return f"Enter a value for {self.field}."

    def not_a_number(self) -> str:
        if self.field is None:
            return f"Enter a number, like {self.example}."
        return f"{self._subject} must be a number, like {self.example}."

    def bad_grouping(self) -> str:
        return "Use commas only to separate thousands, like 50,000.00, or leave them out."

    def too_many_places(self, places: int) -> str:
        unit = "decimal place" if places == 1 else "decimal places"
        if places == 0:
            if self.field is None:
                return "Enter a whole number."
            return f"{self._subject} must be a whole number."
        if self.field is None:
            return f"Enter an amount with at most {places} {unit}."
        return f"{self._subject} can have at most {places} {unit}."

    def not_positive(self) -> str:
        if self.field is None:
            return "Enter an amount greater than zero."
        return f"{self._subject} must be greater than zero."

    def negative(self) -> str:
        return f"{self._subject} cannot be negative."

    def below(self, minimum: Decimal) -> str:
        return f"{self._subject} must be at least {minimum}."

    def above(self, maximum: Decimal) -> str:
        if self.field is None:
            return "That amount is too large."
        return f"{self._subject} must be at most {maximum}."


def _decimal_places(value: Decimal) -> int:
    """How many decimal places ``value`` really needs (trailing zeros ignored)."""
    if value.is_zero():
        return 0
    # normalize() strips trailing zeros; a wide context keeps it from rounding.
    exponent = value.normalize(Context(prec=len(value.as_tuple().digits) + 1)).as_tuple().exponent
    assert isinstance(exponent, int)  # only finite values reach here
    return max(0, -exponent)


def _coerce(value: object, messages: _Messages) -> tuple[Decimal, int]:
    """Turn input into an exact Decimal plus the number of decimals it carries.

    Text is judged by what was written: "10.500" is refused for a 2-place field
    even though it equals 10.50, because in several locales "." separates
    thousands and the person may have meant ten thousand five hundred.  A
    ``Decimal`` from a service caller carries no such ambiguity, so it is judged
    by its value.
    """
    # bool is an int subclass; True as an amount is always a bug.
    if isinstance(value, (bool, float)):
        raise InvalidAmount(messages.not_a_number())
    if isinstance(value, int):
        return Decimal(value), 0
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount(messages.not_a_number())
        return value, _decimal_places(value)
    if not isinstance(value, str):
        raise InvalidAmount(messages.not_a_number())

    text = value.strip()
    if not text:
        raise InvalidAmount(messages.empty())
    match = _NUMBER_RE.fullmatch(text)
    if match is None:
        if "," in text and _LOOSE_COMMAS_RE.fullmatch(text):
            raise InvalidAmount(messages.bad_grouping())
        # NaN, Infinity, "1e3", letters, stray symbols all land here: the
        # regex only admits plain positional notation.
        raise InvalidAmount(messages.not_a_number())
    fraction = match.group("frac") or match.group("frac_only") or ""
    return Decimal(text.replace(",", "")), len(fraction)


def _quantize(value: Decimal, places: int) -> Decimal:
    """Give ``value`` exactly ``places`` decimals; callers ensure no rounding."""
    with localcontext() as context:
        context.prec = max(_EXACT_PRECISION, len(value.as_tuple().digits) + places + 2)
        return value.quantize(Decimal(1).scaleb(-places))


# The peso written before an amount, as people type it: "₱500", "PHP 1,000.00", "Php500".  Only
# before the number, once; the number itself follows the rule below.
_CURRENCY_PREFIX_RE = re.compile(r"^(?:₱|PHP)\s*", re.IGNORECASE)


def parse_amount(text: object) -> Decimal:
    """Parse a sum of money a person entered; return it with exactly 2 places.

    Rule: an amount is a plain positive number (optionally after the peso sign
    or "PHP") with at most two decimal places and no larger than
    :data:`MAX_AMOUNT`.  Commas are accepted only as
    correctly grouped thousands separators ("50,000.00").  Zero, negatives,
    NaN, infinities, exponent notation ("1e3"), floats and anything
    non-numeric are refused with :class:`InvalidAmount`.  Nothing is rounded:
    "10.005" is refused rather than turned into 10.01.

    ``Decimal`` and ``int`` values are accepted too, for service callers.
    """
    messages = _Messages(None, "1500.00")
    if isinstance(text, str):
        text = _CURRENCY_PREFIX_RE.sub("", text.strip(), count=1)
    number, written_places = _coerce(text, messages)
    # The sign is the more fundamental mistake, so it is reported first.
    if number <= 0:
        raise InvalidAmount(messages.not_positive())
    if written_places > _MONEY_PLACES:
        raise InvalidAmount(messages.too_many_places(_MONEY_PLACES))
    if number > MAX_AMOUNT:
        raise InvalidAmount(messages.above(MAX_AMOUNT))
    return _quantize(number, _MONEY_PLACES)


def parse_decimal(
    text: object,
    *,
    places: int,
    minimum: Decimal | int | None = None,
    maximum: Decimal | int | None = None,
    allow_zero: bool = False,
    field: str = "value",
) -> Decimal:
    """Parse a non-money number a person entered (quantity, unit price, rate).

    Rule: the same input grammar as :func:`parse_amount` (plain digits,
    optional grouped thousands commas, no exponent, NaN or infinity, never
    rounded) with at most ``places`` decimals.  The value must be at least
    ``minimum`` and at most ``maximum`` when those are given.  Without a
    ``minimum`` negatives are refused.  Zero is refused unless ``allow_zero``
    is true, even when ``minimum`` is zero or below.  The result has exactly
    ``places`` decimals.  ``field`` names the field in the messages.

    Pass a ``maximum``: without one, only the caller's storage limits the size.
    """
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise ValueError("places must be a non-negative int")
    messages = _Messages(field, "12.5" if places else "12")
    number, written_places = _coerce(text, messages)
    if number.is_zero():
        if not allow_zero:
            raise InvalidAmount(messages.not_positive())
    elif number < 0 and minimum is None:
        raise InvalidAmount(messages.negative() if allow_zero else messages.not_positive())
    if written_places > places:
        raise InvalidAmount(messages.too_many_places(places))
    if minimum is not None and number < minimum:
        raise InvalidAmount(messages.below(Decimal(minimum)))
    if maximum is not None and number > maximum:
        raise InvalidAmount(messages.above(Decimal(maximum)))
    return _quantize(number, places)


def round_half_up(value: Decimal) -> Decimal:
    """Round to whole cents, halves away from zero (0.005 -> 0.01).

    Rule: this is the single place where AIS rounds money.  It is applied to
    an invoice line's net (quantity x unit price) and to its tax.  Half-up is
    what people and tax forms expect; Python's default banker's rounding
    (half-even) would surprise them.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError("round_half_up needs a Decimal, never a float")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError("cannot round a non-finite amount")
    with localcontext() as context:
        context.prec = max(_EXACT_PRECISION, len(value.as_tuple().digits) + 4)
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal) -> int:
    """Convert an amount to whole cents exactly (Decimal("12.34") -> 1234).

    Rule: the conversion never rounds; an amount with a fraction of a cent
    raises ``ValueError`` because it means a rounding step was skipped.
    """
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise TypeError("to_minor_units needs a Decimal, never a float")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError("cannot convert a non-finite amount to cents")
    if _decimal_places(amount) > _MONEY_PLACES:
        raise ValueError(f"{amount} has a fraction of a cent")
    with localcontext() as context:
        context.prec = max(_EXACT_PRECISION, len(amount.as_tuple().digits) + 4)
        return int(amount.scaleb(_MONEY_PLACES))


def from_minor_units(n: int) -> Decimal:
    """Convert whole cents to an amount with exactly 2 places (1234 -> 12.34).

    Rule: exact inverse of :func:`to_minor_units`.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("from_minor_units needs an int number of cents")
    digits = len(str(abs(n)))
    with localcontext() as context:
        context.prec = max(_EXACT_PRECISION, digits + 4)
        return Decimal(n).scaleb(-_MONEY_PLACES)
