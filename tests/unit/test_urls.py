"""id_url (ais/urls.py) must give exactly what url_for gives, on every route of the app."""
import re

import pytest

from ais.urls import id_url


@pytest.mark.parametrize("script_root", ["", "/books"])
def test_id_url_agrees_with_url_for_on_every_route(app, script_root):
    from flask import url_for

    checked = 0
    with app.test_request_context("/", base_url=f"http://localhost{script_root}/"):
        for rule in app.url_map.iter_rules():
            names = re.findall(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", rule.rule)
            for ids in ({name: 7 for name in names}, {name: 1234567 + i for i, name in enumerate(names)}):
                try:
                    expected = url_for(rule.endpoint, **ids)
                except Exception:  # noqa: BLE001 - e.g. a string argument given an int is still built
                    continue
                assert id_url(rule.endpoint, **ids) == expected, rule.rule
                checked += 1
            # Extra values (a query string) and non-int values are left to url_for.
            extra = {**{name: 3 for name in names}, "page": 2}
            assert id_url(rule.endpoint, **extra) == url_for(rule.endpoint, **extra)
        assert id_url("backoffice.invoice_detail", invoice_id="12") == url_for("backoffice.invoice_detail", invoice_id="12")
        assert id_url("backoffice.invoice_detail", invoice_id=12).startswith(script_root + "/invoices/12")
    assert checked > 20


def test_id_url_format_fills_in_as_id_url_builds(app):
    from ais.urls import id_url, id_url_format

    with app.test_request_context("/", base_url="http://localhost/sub{dir}"):
        template = id_url_format("backoffice.payment_confirm")
        assert template.format(payment_id=42) == id_url("backoffice.payment_confirm", payment_id=42)
        assert id_url_format("static") is None  # not a route of int arguments only
