"""The invoice form's preview (total and schedule), computed by the real rules.

Used twice: rendered into the form page (works without JavaScript) and returned as JSON by
``GET /invoices/preview`` for the live preview (static/js/invoice-form.js only displays it).
It reads the form's raw values and never changes the form's errors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app

from ..billing import money, rules, services
from ..billing.services import MAX_INSTALLMENTS
from ..formatting import format_day, format_money
from ..models import INSTALLMENT
from .forms import MAX_QUANTITY

ZERO = Decimal("0.00")


def _parse_line(line, pricing) -> tuple[Decimal, Decimal] | str:
    """(net, VAT) of one line priced as the business profile says, or the first problem with it."""
    try:
        quantity = money.parse_decimal(line.quantity.data or "", places=3, maximum=MAX_QUANTITY, field="quantity")
        price = money.parse_decimal(
            line.unit_price.data or "", places=4, maximum=money.MAX_AMOUNT, allow_zero=True, field="unit price"
        )
    except money.InvalidAmount as error:
        return str(error)
    treatment = None
    if pricing.vat_registered:
        treatment = line.vat.data if line.vat.data in rules.VAT_TREATMENTS else rules.VATABLE
    return rules.vat_line_totals(quantity, price, treatment, pricing.vat_rate or ZERO, pricing.prices_include_vat)


def invoice_preview(form, pricing: services.Pricing, currency: str | None = None) -> dict:
    currency = currency or current_app.config["AIS_CURRENCY"]
    lines: list[dict[str, object]] = []
    net_total = tax_total = ZERO
    problems = []
    for index, entry in enumerate(form.lines.entries):
        line = entry.form
        if line.is_blank():
            lines.append({"index": index, "blank": True})
            continue
        result = _parse_line(line, pricing)
        if isinstance(result, str):
            lines.append({"index": index, "error": result})
            problems.append(f"Line {index + 1}: {result}")
            continue
        net, tax = result
        net_total += net
        tax_total += tax
        lines.append(
            {
                "index": index,
                "net": format_money(net, currency),
                "tax": format_money(tax, currency),
                "total": format_money(net + tax, currency),
            }
        )
    total = net_total + tax_total
    schedule = []
    message = ""
    due = form.due_date.data if isinstance(form.due_date.data, dt.date) else None
    installment = form.payment_type.data == INSTALLMENT
    count = form.installment_count.data if installment else 1
    if total <= 0:
        message = "Add a line with a quantity and a price to see the total."
    elif total > money.MAX_AMOUNT:
        message = "The invoice total is too large."
    elif due is None:
        message = "Choose a due date to see the schedule."
    elif installment and (not isinstance(count, int) or not 2 <= count <= MAX_INSTALLMENTS):
        message = f"Choose 2 to {MAX_INSTALLMENTS} installments to see the schedule."
    else:
        frequency = form.frequency.data if form.frequency.data in rules.FREQUENCIES else rules.MONTHLY
        try:
            plan = rules.build_schedule(total, count, due, frequency)
        except ValueError as error:
            message = str(error)
        else:
            schedule = [
                {
                    "number": item.number,
                    "due_date": format_day(item.due_date),
                    "due_iso": item.due_date.isoformat(),
                    "amount": format_money(item.amount, currency),
                }
                for item in plan
            ]
    return {
        "lines": lines,
        "net": format_money(net_total, currency),
        "tax": format_money(tax_total, currency),
        "total": format_money(total, currency),
        "schedule": schedule,
        "message": message,
        "problems": problems,
    }
