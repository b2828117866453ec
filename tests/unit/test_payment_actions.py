"""The payment actions (ais.backoffice.actions.payment_actions) write what the Jinja macro they
replaced wrote, for every state, with and without an error, with hostile text escaped."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_forms_rendering import _normalized

from ais.backoffice.actions import payment_actions

REFERENCE_MACRO = (Path(__file__).parent / "reference" / "payment_actions_macro.html").read_text()


@pytest.mark.parametrize("state", ["reported", "confirmed", "rejected", "voided"])
@pytest.mark.parametrize("error", [None, "", 'Only 12.00 is open & "more" <b>'])
@pytest.mark.parametrize("allow_void", [True, False])
@pytest.mark.parametrize("back", ["/payments?state=reported&page=2", '/x"><script>', "/payments?q={0}{payment_id}}"])
def test_payment_actions_equal_the_macro_they_replaced(app, state, error, allow_void, back):
    payment = SimpleNamespace(id=42, state=state, amount=Decimal("1234.50"), date=dt.date(2026, 11, 3))
    template = app.jinja_env.from_string(
        REFERENCE_MACRO + "{{ payment_actions(payment, 'PHP', back, error, allow_void) }}")
    with app.test_request_context("/"):
        expected = template.render(payment=payment, back=back, error=error, allow_void=allow_void)
        got = payment_actions(payment, "PHP", back, error, allow_void)
    assert _normalized(got) == _normalized(expected)


def test_a_reported_payment_can_be_confirmed_or_rejected_with_a_reason(app):
    payment = SimpleNamespace(id=7, state="reported", amount=Decimal("50.00"), date=dt.date(2026, 1, 2))
    with app.test_request_context("/"):
        html = str(payment_actions(payment, "PHP", "/payments", "Too late"))
    assert 'action="/payments/7/confirm"' in html and 'action="/payments/7/reject"' in html
    assert html.count('name="csrf_token"') == 2 and html.count('name="next" value="/payments"') == 2
    assert '<details class="reason-disclosure" open>' in html
    assert 'aria-describedby="reject-error-7"' in html and ">Too late</div>" in html
