"""The audit trail's rows (ais.backoffice.audit.audit_rows) write what the template's loop they
replaced wrote, for every kind of entry, with hostile text escaped."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import product
from pathlib import Path
from types import SimpleNamespace

from test_forms_rendering import _normalized

from ais.backoffice.audit import audit_rows

REFERENCE = (Path(__file__).parent / "reference" / "audit_rows_template.html").read_text()
AT = dt.datetime(2026, 11, 30, 8, 5, 9, tzinfo=dt.timezone.utc)


def entries():
    kinds = product([None, 7], [None, "Ann <Cruz> & Co"], [None, 12], [None, "INV-2026-0001"],
                    [None, Decimal("0.00"), Decimal("-1234.56")], [None, "", 'said "no" <b>'])
    return [SimpleNamespace(at=AT + dt.timedelta(seconds=n), actor_label=f"owner{n} <x>", action="payment.void",
                            client_id=client_id, client_name=client_name, invoice_id=invoice_id,
                            invoice_no=invoice_no, amount_before=amount, amount_after=Decimal("5.00") if amount else None,
                            detail=detail, ip_address="127.0.0.1" if n % 2 else "")
            for n, (client_id, client_name, invoice_id, invoice_no, amount, detail) in enumerate(kinds)]


def test_the_rows_equal_the_template_they_replaced(app):
    rows = entries()
    with app.test_request_context("/"):
        expected = app.jinja_env.from_string(REFERENCE).render(entries=SimpleNamespace(items=rows))
        got = audit_rows(rows)
    assert _normalized(got) == _normalized(expected)
    assert str(got).count("<tr>") == len(rows) == 144


def test_the_rows_link_and_escape(app):
    with app.test_request_context("/", base_url="http://localhost/books/"):
        html = str(audit_rows(entries()[-1:]))
    assert '<a href="/books/clients/7">Ann &lt;Cruz&gt; &amp; Co</a>' in html
    assert '<a href="/books/invoices/12">INV-2026-0001</a>' in html and "<b>" not in html
    assert "₱-1,234.56" in html or "-₱1,234.56" in html
