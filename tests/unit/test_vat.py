"""VAT per line (ais.billing.rules.vat_line_totals / vat_summary), TINs and the logo check."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.billing import rules
from ais.billing.logo import LogoRefused, check_logo
from ais.billing.money import round_half_up
from ais.billing.rules import VAT_EXEMPT, VATABLE, ZERO_RATED, vat_line_totals, vat_summary
from ais.billing.taxpayer import InvalidTin, format_tin

D = Decimal
TWELVE = D("12.00")
PROPERTY = settings(max_examples=300, deadline=None)

quantities = st.decimals(min_value=D("0.001"), max_value=D("99999.999"), places=3)
prices = st.decimals(min_value=D("0"), max_value=D("999999.9999"), places=4)
treatments = st.sampled_from([VATABLE, VAT_EXEMPT, ZERO_RATED])
lines = st.lists(st.tuples(quantities, prices, treatments), min_size=1, max_size=30)


# --- One line ---------------------------------------------------------------------------------------


def test_an_inclusive_price_carries_twelve_one_hundred_twelfths_of_vat():
    assert vat_line_totals(D("1"), D("1120.00"), VATABLE, TWELVE, True) == (D("1000.00"), D("120.00"))
    # 3 x 0.335 = 1.005 -> 1.01; VAT 1.01 x 12/112 = 0.10821 -> 0.11; the net takes the rest
    assert vat_line_totals(D("3"), D("0.335"), VATABLE, TWELVE, True) == (D("0.90"), D("0.11"))


def test_an_exclusive_price_adds_twelve_percent():
    assert vat_line_totals(D("2"), D("1500"), VATABLE, TWELVE, False) == (D("3000.00"), D("360.00"))
    assert vat_line_totals(D("1"), D("0.05"), VATABLE, TWELVE, False) == (D("0.05"), D("0.01"))  # 0.006 -> 0.01


def test_half_a_centavo_of_vat_rounds_up():
    # 0.35 x 12/112 = 0.0375 exactly is not a half; 4.62 x 12/112 = 0.495 is: it becomes 0.50
    assert vat_line_totals(D("1"), D("4.62"), VATABLE, TWELVE, True) == (D("4.12"), D("0.50"))


@pytest.mark.parametrize("treatment", [VAT_EXEMPT, ZERO_RATED, None])
def test_exempt_zero_rated_and_non_vat_lines_carry_no_vat(treatment):
    assert vat_line_totals(D("2"), D("1500"), treatment, TWELVE, True) == (D("3000.00"), D("0.00"))
    assert vat_line_totals(D("2"), D("1500"), treatment, TWELVE, False) == (D("3000.00"), D("0.00"))


def test_an_unknown_treatment_or_a_float_is_refused():
    with pytest.raises(ValueError):
        vat_line_totals(D("1"), D("1"), "vat-free", TWELVE, True)
    with pytest.raises(TypeError):
        vat_line_totals(D("1"), 1.5, VATABLE, TWELVE, True)  # type: ignore[arg-type]


# --- Properties -------------------------------------------------------------------------------------


@PROPERTY
@given(quantities, prices)
def test_an_inclusive_line_costs_exactly_its_rounded_price(quantity, price):
    net, vat = vat_line_totals(quantity, price, VATABLE, TWELVE, True)
    assert net + vat == round_half_up(quantity * price)
    assert vat == round_half_up((net + vat) * 12 / D(112))


@PROPERTY
@given(quantities, prices)
def test_an_exclusive_line_adds_twelve_percent_of_its_rounded_net(quantity, price):
    net, vat = vat_line_totals(quantity, price, VATABLE, TWELVE, False)
    assert net == round_half_up(quantity * price)
    assert vat == round_half_up(net * D("0.12"))


@PROPERTY
@given(lines, st.booleans())
def test_vatable_plus_vat_plus_exempt_plus_zero_rated_is_the_total(items, inclusive):
    priced = [(treatment, *vat_line_totals(q, p, treatment, TWELVE, inclusive)) for q, p, treatment in items]
    summary = vat_summary(priced)
    total = sum((net + vat for _, net, vat in priced), D("0.00"))
    assert summary.vatable + summary.vat + summary.exempt + summary.zero_rated == total == summary.total
    assert summary.non_vat == 0
    for value in (summary.vatable, summary.vat, summary.exempt, summary.zero_rated):
        assert value == value.quantize(D("0.01")) and value >= 0
    assert summary.vat == sum((vat for t, _, vat in priced if t == VATABLE), D("0.00"))


@PROPERTY
@given(st.lists(st.tuples(quantities, prices), min_size=1, max_size=30))
def test_a_seller_who_is_not_vat_registered_has_only_non_vat_sales(items):
    priced = [(None, *vat_line_totals(q, p, None, TWELVE, True)) for q, p in items]
    summary = vat_summary(priced)
    assert (summary.vatable, summary.vat, summary.exempt, summary.zero_rated) == (0, 0, 0, 0)
    assert summary.non_vat == summary.total == sum((round_half_up(q * p) for q, p in items), D("0.00"))


# --- TINs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["123-456-789-00000", "123456789 00000", " 123 456 789 00000 ", "12345678900000"])
def test_a_sellers_tin_is_written_with_its_branch_code(text):
    assert format_tin(text) == "123-456-789-00000"


@pytest.mark.parametrize("text", ["", "123-456-789", "123-456-789-000", "123-456-789-0000A", "１２３-456-789-00000"])
def test_a_sellers_tin_without_a_five_digit_branch_code_is_refused(text):
    with pytest.raises(InvalidTin):
        format_tin(text)


@pytest.mark.parametrize(
    "text, written",
    [("123456789", "123-456-789"), ("123-456-789-000", "123-456-789-000"), ("123456789 00001", "123-456-789-00001")],
)
def test_a_buyers_tin_may_omit_the_branch_code(text, written):
    assert format_tin(text, branch_required=False) == written


# --- The logo ---------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#123"/></svg>'


def test_png_jpeg_and_plain_svg_are_recognised_by_their_content():
    assert check_logo(PNG) == "image/png"
    assert check_logo(JPEG) == "image/jpeg"
    assert check_logo(b'<?xml version="1.0"?>\n' + SVG) == "image/svg+xml"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a" + b"\x00" * 10,
        b"%PDF-1.4",
        PNG + b"\x00" * 300 * 1024,
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        b'<image x:href="http://evil.example/a.png"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://evil.example/x)"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p></foreignObject></svg>',
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://evil.example/a.css);</style></svg>',
        b"<svg><rect></svg>",
        b"<html><body>not a logo</body></html>",
    ],
)
def test_anything_else_is_refused_with_a_reason(data):
    with pytest.raises(LogoRefused) as refused:
        check_logo(data)
    assert str(refused.value)


def test_the_treatments_are_the_three_the_law_names():
    assert rules.VAT_TREATMENTS == ("vatable", "exempt", "zero_rated")


# --- Credit notes -----------------------------------------------------------------------------------

from datetime import date, timedelta  # noqa: E402

from ais.billing.rules import InstallmentState, shrink_from_last, split_credit  # noqa: E402

cents = st.integers(min_value=1, max_value=10_000_000)


@st.composite
def plans(draw):
    """Installments with a paid prefix (allocation fills the oldest first) and a credit within the unpaid."""
    amounts = [D(c).scaleb(-2) for c in draw(st.lists(cents, min_size=1, max_size=12))]
    paid_total = draw(st.integers(min_value=0, max_value=int(sum(amounts) * 100) - 1)) * D("0.01")
    states, left = [], paid_total
    for number, amount in enumerate(amounts, start=1):
        paid = min(amount, left)
        left -= paid
        states.append(InstallmentState(number, date(2026, 1, 1) + timedelta(days=30 * number), amount, paid))
    unpaid = sum((s.unpaid for s in states), D("0"))
    credit = draw(st.integers(min_value=1, max_value=int(unpaid * 100))) * D("0.01")
    return states, credit


@PROPERTY
@given(plans())
def test_a_credit_shrinks_the_unpaid_installments_from_the_last_backwards(plan):
    states, credit = plan
    after = shrink_from_last(states, credit)
    assert sum(states[i].amount for i in range(len(states))) - sum(after.values()) == credit
    for state in states:
        assert state.paid <= after[state.number] <= state.amount  # nothing paid is taken back
    # Backwards: an installment is cut only once every later one has lost all it had unpaid.
    cut = [s.number for s in states if after[s.number] < s.amount]
    for number in cut:
        for later in states[number:]:
            assert after[later.number] == later.paid
    # What goes is a suffix of unpaid installments: the numbers left run 1..k.
    kept = [s.number for s in states if after[s.number] > 0]
    assert kept == list(range(1, len(kept) + 1))


def test_a_credit_beyond_the_unpaid_total_is_refused():
    states = [InstallmentState(1, date(2026, 1, 1), D("100.00"), D("40.00"))]
    with pytest.raises(ValueError):
        shrink_from_last(states, D("60.01"))
    assert shrink_from_last(states, D("60.00")) == {1: D("40.00")}


@PROPERTY
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=5), st.data())
def test_a_credit_splits_over_the_vat_buckets_exactly_and_within_each(bucket_cents, data):
    buckets = [D(c).scaleb(-2) for c in bucket_cents]
    credit = D(data.draw(st.integers(min_value=0, max_value=sum(bucket_cents)))).scaleb(-2)
    parts = split_credit(credit, buckets)
    assert sum(parts, D("0")) == credit
    assert all(D(0) <= part <= bucket for part, bucket in zip(parts, buckets, strict=True))


def test_credit_note_numbers_run_like_invoice_numbers():
    assert rules.format_credit_note_number(2026, 7) == "CN-2026-0007"
