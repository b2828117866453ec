"""What every payment form checks the same way (back office and portal alike)."""

from __future__ import annotations

from decimal import Decimal

from wtforms.validators import ValidationError

from . import money


class PaymentChecks:
    """Mixed into a FlaskForm with fields ``amount``, ``date`` and ``method``.

    The amount is parsed once, by the one money parser (never rounded), into ``amount_value``;
    the method must be one of ``method_choices``.
    """

    method_choices: tuple[str, ...] = ()
    method_message = "Choose how it was paid."
    amount_value: Decimal | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("amount", "date", "method"):
            getattr(self, name).flags.required = True

    def validate_amount(self, field):
        self.amount_value = None
        try:
            self.amount_value = money.parse_amount(field.data or "")
        except money.InvalidAmount as error:
            raise ValidationError(str(error)) from None

    def validate_method(self, field):
        if field.data not in self.method_choices:
            raise ValidationError(self.method_message)
