"""The ledger's posting rules are pure functions (ais.billing.ledger): every posting balances, a
reversal undoes its entry account by account, and an entry dated in a closed period moves into the
open one naming the month it corrects."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ais.billing import ledger

ROLES = {
    role: number
    for number, role in enumerate(
        (
            "receivable",
            "sales",
            "exempt_sales",
            "zero_rated_sales",
            "output_vat",
            "sales_returns",
            "customer_credit",
            "late_fee_income",
        ),
        start=1,
    )
}
MONEY_ACCOUNT = 20
cents = st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n) / 100)


def _net(lines) -> dict[tuple[int, int | None], Decimal]:
    net: dict[tuple[int, int | None], Decimal] = defaultdict(Decimal)
    for line in lines:
        net[(line.account_id, line.client_id)] += line.debit - line.credit
    return net


@st.composite
def invoices(draw):
    vatable, exempt, zero_rated, other = draw(cents), draw(cents), draw(cents), draw(cents)
    vat = (vatable * Decimal("0.12")).quantize(Decimal("0.01"))
    return ledger.invoice_issued_posting(
        ROLES, "INV-1", 7, vatable + exempt + zero_rated + other + vat, vatable, vat, exempt, zero_rated
    )


@st.composite
def credit_notes(draw):
    amount = draw(cents)
    vat = (amount * Decimal("0.12") / Decimal("1.12")).quantize(Decimal("0.01"))
    customer_credit = draw(st.integers(0, 100)) * amount / 100
    return ledger.credit_note_posting(ROLES, "CN-1", 7, amount, vat, customer_credit.quantize(Decimal("0.01")))


postings = st.one_of(
    invoices(),
    credit_notes(),
    cents.map(lambda amount: ledger.payment_confirmed_posting(ROLES, 3, "Cash", MONEY_ACCOUNT, amount, 7)),
    cents.map(lambda amount: ledger.overpayment_posting(ROLES, "pi_1", MONEY_ACCOUNT, amount, 7)),
    cents.map(lambda amount: ledger.late_fee_posting(ROLES, 4, 2, 7, amount)),
)


@given(postings)
def test_every_posting_balances_and_keeps_no_zero_line(posting):
    lines = ledger.kept_lines("test", 1, posting.lines)
    assert sum((line.debit for line in lines), Decimal(0)) == sum((line.credit for line in lines), Decimal(0))
    assert all(line.debit or line.credit for line in lines)
    assert posting.journal in ("sales", "cash_receipts", "general")


@given(postings)
def test_a_reversal_undoes_its_entry_account_by_account(posting):
    lines = ledger.kept_lines("test", 1, posting.lines)
    both = lines + ledger.reversal_lines(lines)
    assert all(amount == 0 for amount in _net(both).values())


@given(cents.filter(bool), st.integers(min_value=21, max_value=90))
def test_a_reversal_out_of_another_money_account_moves_only_the_money_side(amount, new_account):
    lines = ledger.payment_confirmed_posting(ROLES, 3, "Cash", MONEY_ACCOUNT, amount, 7).lines
    reversed_lines = ledger.reversal_lines(lines, money_account=new_account)
    assert [(line.account_id, line.credit) for line in reversed_lines if line.client_id is None] == [
        (new_account, amount)
    ]
    assert [(line.account_id, line.debit) for line in reversed_lines if line.client_id is not None] == [
        (ROLES["receivable"], amount)
    ]


@given(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.dates(date(2024, 1, 1), date(2027, 12, 31)))
def test_an_entry_dated_in_a_closed_period_is_posted_in_the_open_one(day, today):
    open_from = date(2026, 3, 1)
    posted_on, memo, corrects = ledger.posting_day(day, "Payment 3 by Cash", open_from, today)
    if day >= open_from:
        assert (posted_on, memo, corrects) == (day, "Payment 3 by Cash", None)
    else:
        assert posted_on == max(today, open_from) >= open_from
        assert corrects == day.replace(day=1)
        assert memo == f"Payment 3 by Cash (corrects {day:%Y-%m})"
    assert ledger.posting_day(day, "x", None, today) == (day, "x", None)


def test_a_memo_stays_within_its_column_when_it_names_the_month_it_corrects():
    _, memo, _ = ledger.posting_day(date(2026, 1, 5), "m" * 300, date(2026, 3, 1), date(2026, 3, 16))
    assert len(memo) <= 255 and memo.endswith("(corrects 2026-01)")
    assert ledger.posting_day(date(2026, 1, 5) + timedelta(days=60), "m" * 300, None, date(2026, 3, 16))[1] == "m" * 255
