"""The hosted checkout pages of the payment provider stand-ins: rendered from templates with
autoescaping, the amount from minor units exactly, one button per offered method."""

from __future__ import annotations

import html.parser

from ais.payments.paymongo_provider import METHOD_NAMES
from ais.payments.stub_pages import checkout_page, minor_units

HOSTILE = '<script>alert("x")</script> & Sons'


class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.buttons, self.text = 0, [], []

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        if tag == "button":
            self.buttons.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: bytes) -> _Collect:
    parser = _Collect()
    parser.feed(page.decode())
    return parser


def test_minor_units_are_shown_exactly_with_grouping():
    assert minor_units(0) == "0.00"
    assert minor_units(5) == "0.05"
    assert minor_units(1234560) == "12,345.60"
    assert minor_units(99999999999999) == "999,999,999,999.99"  # no float rounding


def test_the_stripe_page_escapes_what_the_session_carries():
    page = checkout_page(
        "stripe_checkout.html", name=HOSTILE, description=HOSTILE, currency="PHP", amount="300.00", email=HOSTILE
    )
    parsed = _parse(page)
    assert parsed.scripts == 0
    assert "".join(parsed.text).count(HOSTILE) == 3
    assert [button["value"] for button in parsed.buttons] == ["paid", "delayed", "cancel"]
    assert "PHP 300.00" in "".join(parsed.text)


def test_the_paymongo_page_has_a_button_per_method_offered():
    methods = [(code, METHOD_NAMES.get(code, code)) for code in ("gcash", "paymaya", '"><b>odd')]
    page = checkout_page(
        "paymongo_checkout.html",
        name=HOSTILE,
        description="Installment 1 of 3",
        currency="PHP",
        amount="1.00",
        methods=methods,
    )
    parsed = _parse(page)
    assert parsed.scripts == 0 and HOSTILE in "".join(parsed.text)
    assert [button["value"] for button in parsed.buttons] == ["gcash", "paymaya", '"><b>odd', "cancel"]
    assert "Pay with GCash" in "".join(parsed.text)
