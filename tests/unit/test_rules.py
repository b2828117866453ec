"""Tests for ais.billing.rules: schedules, allocation, amounts due, statuses, re-planning."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ais.billing import rules
from ais.billing.money import MAX_AMOUNT, from_minor_units, to_minor_units
from ais.billing.rules import (
    BIWEEKLY,
    FREQUENCIES,
    MONTHLY,
    WEEKLY,
    Allocation,
    InstallmentIn,
    InstallmentState,
    OverAllocation,
    PaymentIn,
    ScheduledInstallment,
)

D = Decimal
MAX_CENTS = to_minor_units(MAX_AMOUNT)
PROPERTY = settings(max_examples=200, deadline=None)


def d(text: str) -> Decimal:
    return Decimal(text)


# -- strategies ----------------------------------------------------------------


@st.composite
def amount_and_count(draw, max_count=120):
    count = draw(st.integers(min_value=1, max_value=max_count))
    cents = draw(st.integers(min_value=count, max_value=MAX_CENTS))
    return from_minor_units(cents), count


@st.composite
def end_of_month_dates(draw):
    """Dates on the 28th-31st (whichever exist), including 29 Feb of leap years."""
    year = draw(st.integers(min_value=1900, max_value=2400))
    month = draw(st.integers(min_value=1, max_value=12))
    last = calendar.monthrange(year, month)[1]
    day = draw(st.integers(min_value=28, max_value=last))
    return date(year, month, day)


any_start = st.one_of(end_of_month_dates(), st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31)))


@st.composite
def payments_and_installments(draw, allow_over=False):
    inst_cents = draw(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=12))
    installments = [InstallmentIn(number=n, amount=from_minor_units(c)) for n, c in enumerate(inst_cents, start=1)]
    total = sum(inst_cents)
    paid_total = draw(st.integers(min_value=0, max_value=total))
    count = draw(st.integers(min_value=0, max_value=8))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=paid_total), min_size=count, max_size=count)))
    bounds = [0, *cuts, paid_total]
    pieces = [b - a for a, b in zip(bounds, bounds[1:], strict=False) if b - a > 0]
    ids = draw(st.permutations(range(1, len(pieces) + 1)))
    days = draw(st.lists(st.integers(min_value=0, max_value=5), min_size=len(pieces), max_size=len(pieces)))
    payments = [
        PaymentIn(id=pid, date=date(2026, 1, 1) + timedelta(days=day), amount=from_minor_units(cents))
        for pid, day, cents in zip(ids, days, pieces, strict=False)
    ]
    shuffled = draw(st.permutations(payments))
    shuffled_installments = draw(st.permutations(installments))
    return list(shuffled), list(shuffled_installments)


@st.composite
def installment_states(draw, require_unpaid=False):
    """A realistic plan: a schedule with some payments allocated oldest first."""
    amount, count = draw(amount_and_count(max_count=24))
    first_due = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
    frequency = draw(st.sampled_from(FREQUENCIES))
    schedule = rules.build_schedule(amount, count, first_due, frequency)
    total = to_minor_units(amount)
    paid_cents = draw(st.integers(min_value=0, max_value=total - 1 if require_unpaid else total))
    remaining = paid_cents
    states = []
    for item in schedule:
        piece = min(remaining, to_minor_units(item.amount))
        remaining -= piece
        states.append(
            InstallmentState(
                number=item.number, due_date=item.due_date, amount=item.amount, paid=from_minor_units(piece)
            )
        )
    return states


# -- line totals ---------------------------------------------------------------


def test_line_totals_multiplies_and_rounds_net_half_up():
    assert rules.line_totals(d("3"), d("0.3350"), None) == (d("1.01"), d("0.00"))  # 1.005 -> 1.01


def test_line_totals_without_tax_rate_has_zero_tax():
    net, tax = rules.line_totals(d("2.000"), d("1500.0000"), None)
    assert (net, tax) == (d("3000.00"), d("0.00"))
    assert str(tax) == "0.00"


def test_line_totals_tax_is_computed_on_the_rounded_net():
    # net 1.005 rounds to 1.01; 50% of 1.01 = 0.505 -> 0.51.  On the unrounded net
    # it would be 0.5025 -> 0.50.
    assert rules.line_totals(d("1"), d("1.0050"), d("50")) == (d("1.01"), d("0.51"))


def test_line_totals_twelve_percent_vat_example():
    assert rules.line_totals(d("1.5"), d("999.9900"), d("12.00")) == (d("1499.99"), d("180.00"))


def test_line_totals_zero_rate_gives_zero_tax():
    assert rules.line_totals(d("1"), d("10"), d("0")) == (d("10.00"), d("0.00"))


@PROPERTY
@given(
    st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n).scaleb(-3)),
    st.integers(min_value=0, max_value=10**10).map(lambda n: Decimal(n).scaleb(-4)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10000).map(lambda n: Decimal(n).scaleb(-2))),
)
def test_line_totals_are_cents_within_half_a_cent_of_the_exact_values(quantity, price, rate):
    net, tax = rules.line_totals(quantity, price, rate)
    assert net.as_tuple().exponent == -2 and tax.as_tuple().exponent == -2
    assert abs(net - quantity * price) <= d("0.005")
    expected_tax = net * (rate or 0) / 100
    assert abs(tax - expected_tax) <= d("0.005")


def test_line_totals_refuses_floats():
    with pytest.raises(TypeError):
        rules.line_totals(1.5, d("1"), None)


# -- split_amount --------------------------------------------------------------


@PROPERTY
@given(amount_and_count())
def test_split_amount_parts_sum_exactly_to_the_amount(case):
    amount, count = case
    parts = rules.split_amount(amount, count)
    assert len(parts) == count
    assert sum(parts, D("0.00")) == amount


@PROPERTY
@given(amount_and_count())
def test_split_amount_parts_are_equal_except_the_last_which_takes_the_leftover_cents(case):
    amount, count = case
    parts = rules.split_amount(amount, count)
    part = parts[0]
    assert all(p == part for p in parts[:-1])
    assert part >= D("0.01")
    assert part <= parts[-1] < part + count * D("0.01")
    assert part == (amount / count).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert all(p.as_tuple().exponent == -2 for p in parts)


def test_split_amount_puts_leftover_cents_on_the_last_installment():
    assert rules.split_amount(d("100.00"), 3) == [d("33.33"), d("33.33"), d("33.34")]
    assert rules.split_amount(d("0.05"), 3) == [d("0.01"), d("0.01"), d("0.03")]


def test_split_amount_single_part_is_the_whole_amount():
    assert rules.split_amount(d("12.34"), 1) == [d("12.34")]


def test_split_amount_refuses_installments_below_one_cent():
    with pytest.raises(ValueError, match="each installment must be at least 0.01"):
        rules.split_amount(d("0.03"), 5)


def test_split_amount_allows_exactly_one_cent_each():
    assert rules.split_amount(d("0.05"), 5) == [d("0.01")] * 5


@pytest.mark.parametrize("amount", [d("0"), d("-1.00"), d("1.001")])
def test_split_amount_refuses_non_positive_or_sub_cent_amounts(amount):
    with pytest.raises(ValueError):
        rules.split_amount(amount, 2)


@pytest.mark.parametrize("count", [0, -1])
def test_split_amount_refuses_count_below_one(count):
    with pytest.raises(ValueError):
        rules.split_amount(d("10.00"), count)


def test_split_amount_refuses_floats():
    with pytest.raises(TypeError):
        rules.split_amount(10.0, 2)


# -- add_months / due_dates ----------------------------------------------------


def test_31_january_monthly_goes_28_feb_then_31_march():
    assert rules.due_dates(date(2026, 1, 31), 3, MONTHLY) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


def test_31_january_monthly_in_a_leap_year_goes_29_feb():
    assert rules.due_dates(date(2024, 1, 31), 3, MONTHLY) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]


def test_29_february_monthly_keeps_the_29th_afterwards():
    assert rules.due_dates(date(2024, 2, 29), 3, MONTHLY) == [date(2024, 2, 29), date(2024, 3, 29), date(2024, 4, 29)]


def test_29_february_plus_twelve_months_is_28_february_in_a_common_year():
    assert rules.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert rules.add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)


def test_31st_monthly_clamps_in_30_day_months_without_drifting():
    dates = rules.due_dates(date(2026, 3, 31), 4, MONTHLY)
    assert dates == [date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)]


def test_add_months_crosses_year_boundaries_both_ways():
    assert rules.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert rules.add_months(date(2026, 1, 31), -2) == date(2025, 11, 30)
    assert rules.add_months(date(2026, 5, 5), 0) == date(2026, 5, 5)


def test_weekly_and_biweekly_due_dates_step_7_and_14_days():
    start = date(2026, 2, 26)
    assert rules.due_dates(start, 3, WEEKLY) == [date(2026, 2, 26), date(2026, 3, 5), date(2026, 3, 12)]
    assert rules.due_dates(start, 3, BIWEEKLY) == [date(2026, 2, 26), date(2026, 3, 12), date(2026, 3, 26)]


def test_due_dates_refuses_unknown_frequency_and_zero_count():
    with pytest.raises(ValueError):
        rules.due_dates(date(2026, 1, 1), 3, "daily")
    with pytest.raises(ValueError):
        rules.due_dates(date(2026, 1, 1), 0, MONTHLY)


@PROPERTY
@given(any_start, st.integers(min_value=1, max_value=60))
def test_monthly_due_dates_keep_the_anchor_day_clamped_to_month_length_without_drift(start, count):
    dates = rules.due_dates(start, count, MONTHLY)
    assert len(dates) == count
    assert dates[0] == start
    for k, due in enumerate(dates):
        months = start.year * 12 + start.month - 1 + k
        assert (due.year, due.month - 1) == divmod(months, 12)
        assert due.day == min(start.day, calendar.monthrange(due.year, due.month)[1])
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False))


@PROPERTY
@given(any_start, st.integers(min_value=1, max_value=60), st.sampled_from([WEEKLY, BIWEEKLY]))
def test_weekly_and_biweekly_due_dates_are_evenly_spaced(start, count, frequency):
    step = 7 if frequency == WEEKLY else 14
    dates = rules.due_dates(start, count, frequency)
    assert dates[0] == start
    assert all((b - a).days == step for a, b in zip(dates, dates[1:], strict=False))
    assert len(dates) == count


@PROPERTY
@given(end_of_month_dates(), st.integers(min_value=-120, max_value=120))
def test_add_months_lands_in_the_right_month_with_clamped_day(anchor, months):
    result = rules.add_months(anchor, months)
    index = anchor.year * 12 + anchor.month - 1 + months
    assert (result.year, result.month - 1) == divmod(index, 12)
    assert result.day == min(anchor.day, calendar.monthrange(result.year, result.month)[1])


# -- build_schedule ------------------------------------------------------------


def test_build_schedule_numbers_dates_and_amounts():
    schedule = rules.build_schedule(d("1000.00"), 3, date(2026, 1, 31), MONTHLY)
    assert schedule == [
        ScheduledInstallment(1, date(2026, 1, 31), d("333.33")),
        ScheduledInstallment(2, date(2026, 2, 28), d("333.33")),
        ScheduledInstallment(3, date(2026, 3, 31), d("333.34")),
    ]


def test_build_schedule_can_start_numbering_after_existing_installments():
    schedule = rules.build_schedule(d("10.00"), 2, date(2026, 1, 1), WEEKLY, first_number=4)
    assert [s.number for s in schedule] == [4, 5]


@PROPERTY
@given(amount_and_count(max_count=60), any_start, st.sampled_from(FREQUENCIES), st.integers(min_value=1, max_value=50))
def test_build_schedule_totals_the_amount_with_consecutive_numbers(case, start, frequency, first_number):
    amount, count = case
    schedule = rules.build_schedule(amount, count, start, frequency, first_number)
    assert sum((s.amount for s in schedule), D("0")) == amount
    assert [s.number for s in schedule] == list(range(first_number, first_number + count))
    assert [s.due_date for s in schedule] == rules.due_dates(start, count, frequency)


def test_scheduled_installment_is_frozen():
    item = ScheduledInstallment(1, date(2026, 1, 1), d("1.00"))
    with pytest.raises(AttributeError):
        item.amount = d("2.00")  # type: ignore[misc]


# -- allocate ------------------------------------------------------------------


def test_payment_spanning_two_installments():
    installments = [InstallmentIn(1, d("100.00")), InstallmentIn(2, d("100.00")), InstallmentIn(3, d("100.00"))]
    payments = [PaymentIn(7, date(2026, 1, 5), d("150.00"))]
    assert rules.allocate(payments, installments) == [
        Allocation(7, 1, d("100.00")),
        Allocation(7, 2, d("50.00")),
    ]


def test_older_payment_is_allocated_first_regardless_of_input_order():
    installments = [InstallmentIn(2, d("50.00")), InstallmentIn(1, d("50.00"))]
    payments = [PaymentIn(1, date(2026, 2, 1), d("30.00")), PaymentIn(2, date(2026, 1, 1), d("60.00"))]
    assert rules.allocate(payments, installments) == [
        Allocation(2, 1, d("50.00")),
        Allocation(2, 2, d("10.00")),
        Allocation(1, 2, d("30.00")),
    ]


def test_payments_on_the_same_date_are_ordered_by_id():
    installments = [InstallmentIn(1, d("10.00")), InstallmentIn(2, d("10.00"))]
    payments = [PaymentIn(9, date(2026, 1, 1), d("10.00")), PaymentIn(3, date(2026, 1, 1), d("10.00"))]
    allocations = rules.allocate(payments, installments)
    assert rules.first_installment_numbers(allocations) == {3: 1, 9: 2}


def test_payment_finishing_an_installment_exactly_does_not_produce_a_zero_piece_on_the_next():
    installments = [InstallmentIn(1, d("10.00")), InstallmentIn(2, d("10.00"))]
    allocations = rules.allocate([PaymentIn(1, date(2026, 1, 1), d("10.00"))], installments)
    assert allocations == [Allocation(1, 1, d("10.00"))]


def test_zero_amount_payments_produce_no_allocation():
    allocations = rules.allocate([PaymentIn(1, date(2026, 1, 1), d("0.00"))], [InstallmentIn(1, d("10.00"))])
    assert allocations == []
    assert rules.first_installment_numbers(allocations) == {}


def test_allocate_refuses_payments_exceeding_the_installments():
    with pytest.raises(OverAllocation):
        rules.allocate([PaymentIn(1, date(2026, 1, 1), d("10.01"))], [InstallmentIn(1, d("10.00"))])
    assert issubclass(OverAllocation, ValueError)


def test_allocate_accepts_payments_exactly_equal_to_the_installments():
    allocations = rules.allocate(
        [PaymentIn(1, date(2026, 1, 1), d("20.00"))], [InstallmentIn(1, d("10.00")), InstallmentIn(2, d("10.00"))]
    )
    assert rules.installment_paid_amounts(allocations) == {1: d("10.00"), 2: d("10.00")}


def test_allocate_with_no_payments_is_empty():
    assert rules.allocate([], [InstallmentIn(1, d("10.00"))]) == []


def test_allocate_refuses_duplicate_ids_and_numbers():
    with pytest.raises(ValueError):
        rules.allocate([PaymentIn(1, date(2026, 1, 1), d("1.00"))] * 2, [InstallmentIn(1, d("10.00"))])
    with pytest.raises(ValueError):
        rules.allocate([], [InstallmentIn(1, d("10.00")), InstallmentIn(1, d("5.00"))])


def test_allocate_refuses_sub_cent_amounts():
    with pytest.raises(ValueError):
        rules.allocate([PaymentIn(1, date(2026, 1, 1), d("1.001"))], [InstallmentIn(1, d("10.00"))])


def test_installment_in_due_date_is_optional():
    assert InstallmentIn(1, d("1.00")).due_date is None


@PROPERTY
@given(payments_and_installments())
def test_allocation_never_overpays_an_installment_and_spends_every_payment_exactly(case):
    payments, installments = case
    allocations = rules.allocate(payments, installments)
    assert all(a.amount > 0 for a in allocations)
    paid = rules.installment_paid_amounts(allocations)
    for inst in installments:
        assert paid.get(inst.number, D("0")) <= inst.amount
    for payment in payments:
        spent = sum((a.amount for a in allocations if a.payment_id == payment.id), D("0"))
        assert spent == payment.amount
    assert sum(paid.values(), D("0")) == sum((p.amount for p in payments), D("0"))


@PROPERTY
@given(payments_and_installments())
def test_allocation_follows_payment_order_and_fills_installments_in_number_order(case):
    payments, installments = case
    allocations = rules.allocate(payments, installments)
    rank = {p.id: i for i, p in enumerate(sorted(payments, key=lambda p: (p.date, p.id)))}
    keys = [(rank[a.payment_id], a.installment_number) for a in allocations]
    assert keys == sorted(keys)
    assert [a.installment_number for a in allocations] == sorted(a.installment_number for a in allocations)
    # Filled in order: every installment before the last one touched is full.
    paid = rules.installment_paid_amounts(allocations)
    if allocations:
        last = allocations[-1].installment_number
        for inst in installments:
            if inst.number < last:
                assert paid.get(inst.number) == inst.amount
            elif inst.number > last:
                assert inst.number not in paid


@PROPERTY
@given(payments_and_installments())
def test_first_installment_is_the_one_covering_the_payments_first_cent(case):
    payments, installments = case
    allocations = rules.allocate(payments, installments)
    first = rules.first_installment_numbers(allocations)
    ordered_installments = sorted(installments, key=lambda i: i.number)
    offset = 0  # cents paid before this payment
    for payment in sorted(payments, key=lambda p: (p.date, p.id)):
        end = 0
        for inst in ordered_installments:
            end += to_minor_units(inst.amount)
            if end > offset:
                assert first[payment.id] == inst.number
                break
        offset += to_minor_units(payment.amount)
    assert set(first) == {p.id for p in payments}


@PROPERTY
@given(payments_and_installments(), st.integers(min_value=1, max_value=10**6))
def test_allocation_refuses_any_excess_over_the_installments(case, extra_cents):
    payments, installments = case
    total = sum((i.amount for i in installments), D("0"))
    already = sum((p.amount for p in payments), D("0"))
    extra = PaymentIn(10**6, date(2030, 1, 1), total - already + from_minor_units(extra_cents))
    with pytest.raises(OverAllocation):
        rules.allocate([*payments, extra], installments)


# -- InstallmentState / amount due now -----------------------------------------


def state(number, due, amount, paid="0.00"):
    return InstallmentState(number=number, due_date=due, amount=d(amount), paid=d(paid))


PLAN = [
    state(1, date(2026, 1, 31), "100.00"),
    state(2, date(2026, 2, 28), "100.00"),
    state(3, date(2026, 3, 31), "100.01"),
]


def test_unpaid_is_amount_minus_paid():
    assert state(1, date(2026, 1, 1), "100.00", "40.00").unpaid == d("60.00")


def test_installment_state_refuses_overpayment_and_negative_paid():
    with pytest.raises(ValueError):
        state(1, date(2026, 1, 1), "10.00", "10.01")
    with pytest.raises(ValueError):
        state(1, date(2026, 1, 1), "10.00", "-0.01")


def test_amount_due_now_sums_every_overdue_and_today_installment():
    assert rules.amount_due_now(PLAN, date(2026, 2, 28)) == d("200.00")
    assert [i.number for i in rules.installments_due_now(PLAN, date(2026, 2, 28))] == [1, 2]


def test_amount_due_now_is_the_next_installment_when_nothing_is_due_yet():
    assert rules.amount_due_now(PLAN, date(2026, 1, 1)) == d("100.00")
    assert [i.number for i in rules.installments_due_now(PLAN, date(2026, 1, 1))] == [1]


def test_amount_due_now_counts_only_the_unpaid_part():
    plan = [state(1, date(2026, 1, 31), "100.00", "100.00"), state(2, date(2026, 2, 28), "100.00", "30.00"), PLAN[2]]
    assert rules.amount_due_now(plan, date(2026, 3, 1)) == d("70.00")
    assert rules.amount_due_now(plan, date(2026, 2, 1)) == d("70.00")


def test_amount_due_now_after_paying_everything_due_is_the_next_installment():
    plan = [state(1, date(2026, 1, 31), "100.00", "100.00"), PLAN[1], PLAN[2]]
    assert rules.amount_due_now(plan, date(2026, 2, 10)) == d("100.00")


def test_amount_due_now_is_zero_when_everything_is_paid():
    plan = [state(i.number, i.due_date, str(i.amount), str(i.amount)) for i in PLAN]
    assert rules.amount_due_now(plan, date(2026, 6, 1)) == d("0.00")
    assert str(rules.amount_due_now(plan, date(2026, 6, 1))) == "0.00"
    assert rules.installments_due_now(plan, date(2026, 6, 1)) == []
    assert rules.next_unpaid(plan) is None


def test_next_unpaid_is_the_lowest_numbered_installment_with_a_balance():
    plan = [state(1, date(2026, 1, 31), "100.00", "100.00"), state(2, date(2026, 2, 28), "100.00", "1.00"), PLAN[2]]
    assert rules.next_unpaid(plan).number == 2
    assert rules.next_unpaid(list(reversed(plan))).number == 2


@PROPERTY
@given(installment_states(), st.dates(min_value=date(1999, 1, 1), max_value=date(2111, 1, 1)))
def test_amount_due_now_is_consistent_with_the_installments_due_now(states, today):
    due_now = rules.installments_due_now(states, today)
    amount = rules.amount_due_now(states, today)
    outstanding = sum((s.unpaid for s in states), D("0"))
    assert amount == sum((s.unpaid for s in due_now), D("0"))
    assert D("0") <= amount <= outstanding
    assert (amount > 0) == (outstanding > 0)
    assert all(s.unpaid > 0 for s in due_now)
    # Everything unpaid and due by today is included.
    for s in states:
        if s.unpaid > 0 and s.due_date <= today:
            assert s in due_now
    if due_now and all(s.due_date > today for s in due_now):
        assert len(due_now) == 1
        earliest = min((s for s in states if s.unpaid > 0), key=lambda s: (s.due_date, s.number))
        assert due_now == [earliest]


# -- statuses ------------------------------------------------------------------


def status(**overrides):
    args = dict(amount=d("300.00"), paid=d("0.00"), earliest_unpaid_due=date(2026, 2, 1), today=date(2026, 1, 15))
    args.update(overrides)
    return rules.invoice_status(**args)


def test_due_on_today_is_not_overdue():
    assert status(today=date(2026, 2, 1)) == rules.PENDING
    assert rules.installment_status(state(1, date(2026, 2, 1), "10.00"), date(2026, 2, 1)) == rules.PENDING


def test_due_yesterday_is_overdue():
    assert status(today=date(2026, 2, 2)) == rules.OVERDUE
    assert status(today=date(2026, 2, 2), paid=d("100.00")) == rules.OVERDUE
    assert rules.installment_status(state(1, date(2026, 2, 1), "10.00", "5.00"), date(2026, 2, 2)) == rules.OVERDUE


def test_invoice_status_draft_wins_over_everything():
    assert status(issued=False, voided=True, paid=d("300.00")) == rules.DRAFT


def test_invoice_status_void_wins_over_paid_and_overdue():
    assert status(voided=True, paid=d("300.00")) == rules.VOID
    assert status(voided=True, today=date(2027, 1, 1)) == rules.VOID


def test_invoice_status_paid_when_paid_reaches_the_amount_even_if_dates_passed():
    assert status(paid=d("300.00"), today=date(2027, 1, 1)) == rules.PAID


def test_invoice_status_partial_when_some_paid_and_nothing_overdue():
    assert status(paid=d("0.01")) == rules.PARTIAL


def test_invoice_status_pending_when_nothing_paid_and_nothing_overdue():
    assert status() == rules.PENDING
    assert status(earliest_unpaid_due=None) == rules.PENDING


def test_installment_status_values():
    today = date(2026, 2, 15)
    assert rules.installment_status(state(1, date(2026, 1, 1), "10.00", "10.00"), today) == rules.PAID
    assert rules.installment_status(state(1, date(2026, 3, 1), "10.00", "4.00"), today) == rules.PARTIAL
    assert rules.installment_status(state(1, date(2026, 3, 1), "10.00"), today) == rules.PENDING
    assert rules.installment_status(state(1, date(2026, 2, 14), "10.00"), today) == rules.OVERDUE


def test_status_constants():
    assert (rules.PAID, rules.OVERDUE, rules.PARTIAL, rules.PENDING, rules.VOID, rules.DRAFT) == (
        "paid",
        "overdue",
        "partial",
        "pending",
        "void",
        "draft",
    )
    assert FREQUENCIES == ("weekly", "biweekly", "monthly")


# -- replan --------------------------------------------------------------------


def test_replan_keeps_paid_cuts_partial_and_spreads_the_rest():
    plan = [
        state(1, date(2026, 1, 31), "100.00", "100.00"),
        state(2, date(2026, 2, 28), "100.00", "40.00"),
        state(3, date(2026, 3, 31), "100.01"),
    ]
    new = rules.replan(plan, 3, date(2026, 4, 15), WEEKLY)
    assert new == [
        ScheduledInstallment(1, date(2026, 1, 31), d("100.00")),
        ScheduledInstallment(2, date(2026, 2, 28), d("40.00")),
        ScheduledInstallment(3, date(2026, 4, 15), d("53.33")),
        ScheduledInstallment(4, date(2026, 4, 22), d("53.33")),
        ScheduledInstallment(5, date(2026, 4, 29), d("53.35")),
    ]


def test_replan_with_nothing_paid_replaces_the_whole_schedule_from_number_one():
    new = rules.replan(PLAN, 2, date(2026, 5, 1), MONTHLY)
    assert new == [
        ScheduledInstallment(1, date(2026, 5, 1), d("150.00")),
        ScheduledInstallment(2, date(2026, 6, 1), d("150.01")),
    ]


def test_replan_refuses_when_nothing_is_unpaid():
    plan = [state(i.number, i.due_date, str(i.amount), str(i.amount)) for i in PLAN]
    with pytest.raises(ValueError):
        rules.replan(plan, 2, date(2026, 5, 1), MONTHLY)


def test_replan_refuses_installments_below_one_cent():
    plan = [state(1, date(2026, 1, 1), "10.00", "9.98")]
    with pytest.raises(ValueError, match="at least 0.01"):
        rules.replan(plan, 3, date(2026, 5, 1), MONTHLY)


@PROPERTY
@given(
    installment_states(require_unpaid=True),
    st.integers(min_value=1, max_value=36),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.sampled_from(FREQUENCIES),
)
def test_replan_preserves_the_total_and_every_paid_part(states, count, first_due, frequency):
    unpaid = sum((s.unpaid for s in states), D("0"))
    assume(to_minor_units(unpaid) >= count)
    earliest = rules.earliest_replan_start(states)
    if earliest is not None and first_due < earliest:
        with pytest.raises(rules.ScheduleOutOfOrder):
            rules.replan(states, count, first_due, frequency)
        first_due = earliest  # the earliest start that keeps the schedule in due-date order
    new = rules.replan(states, count, first_due, frequency)
    assert [s.number for s in new] == [s.number for s in sorted(new, key=lambda s: (s.due_date, s.number))]

    assert sum((s.amount for s in new), D("0")) == sum((s.amount for s in states), D("0"))
    by_number = {s.number: s for s in new}
    assert len(by_number) == len(new)  # numbers are unique
    kept = [s for s in states if s.paid > 0]
    for old in kept:
        item = by_number[old.number]
        assert item.due_date == old.due_date
        assert item.amount == old.paid
    fresh = new[len(kept) :]
    assert len(fresh) == count
    assert sum((s.amount for s in fresh), D("0")) == unpaid
    start = kept[-1].number + 1 if kept else 1
    assert [s.number for s in fresh] == list(range(start, start + count))
    assert [s.due_date for s in fresh] == rules.due_dates(first_due, count, frequency)

    # The same money re-allocated over the new schedule lands on the kept installments.
    paid = sum((s.paid for s in states), D("0"))
    allocations = rules.allocate(
        [PaymentIn(1, date(2000, 1, 1), paid)] if paid else [],
        [InstallmentIn(s.number, s.amount) for s in new],
    )
    paid_after = rules.installment_paid_amounts(allocations)
    assert paid_after == {s.number: s.paid for s in kept}


# -- invoice numbers -----------------------------------------------------------


@pytest.mark.parametrize(
    "year, seq, expected",
    [
        (2026, 1, "INV-2026-0001"),
        (2026, 42, "INV-2026-0042"),
        (2026, 9999, "INV-2026-9999"),
        (2026, 10000, "INV-2026-10000"),
    ],
)
def test_format_invoice_number_pads_to_four_digits_and_grows_beyond(year, seq, expected):
    assert rules.format_invoice_number(year, seq) == expected


def test_format_invoice_number_refuses_non_positive_sequence():
    with pytest.raises(ValueError):
        rules.format_invoice_number(2026, 0)


@PROPERTY
@given(st.integers(min_value=1, max_value=10**7))
def test_invoice_numbers_sort_by_sequence_within_four_digits_and_parse_back(seq):
    number = rules.format_invoice_number(2026, seq)
    prefix, year, digits = number.split("-")
    assert (prefix, year, int(digits)) == ("INV", "2026", seq)
    assert len(digits) == max(4, len(str(seq)))


def test_rules_module_has_no_float_literals_or_float_calls():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(rules))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), "float literal"
        assert not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "float"), "float() call"


# -- what is owed (rules.owed) ---------------------------------------------------


def test_owed_splits_overdue_due_today_and_the_next_installment():
    owed = rules.owed(PLAN, date(2026, 2, 28))
    assert (owed.overdue, owed.due_today, owed.balance) == (d("100.00"), d("100.00"), d("300.01"))
    assert (owed.pay_now, owed.suggested, owed.suggested_label) == (d("200.00"), d("200.00"), "Due now")
    assert owed.next_installment == rules.NextInstallment(3, date(2026, 3, 31), d("100.01"))


def test_owed_money_awaiting_confirmation_reduces_what_is_asked():
    owed = rules.owed(PLAN, date(2026, 2, 28), d("150.00"))
    assert (owed.pay_now, owed.suggested, owed.suggested_label) == (d("50.00"), d("50.00"), "Due now")


def test_owed_when_reported_money_covers_what_is_due_the_next_installment_is_suggested_as_such():
    owed = rules.owed(PLAN, date(2026, 2, 28), d("250.00"))
    assert owed.pay_now == d("0.00")
    # 50.00 of the 250.00 reported goes to installment 3, so 50.01 of it is left to pay.
    assert owed.next_installment == rules.NextInstallment(3, date(2026, 3, 31), d("50.01"))
    assert (owed.suggested, owed.suggested_label) == (d("50.01"), "Next installment")


def test_owed_nothing_due_yet_suggests_the_next_installment_never_due_now():
    owed = rules.owed(PLAN, date(2026, 1, 1))
    assert (owed.overdue, owed.due_today, owed.pay_now) == (d("0.00"), d("0.00"), d("0.00"))
    assert (owed.suggested, owed.suggested_label) == (d("100.00"), "Next installment")


def test_owed_nothing_is_asked_when_everything_is_paid_or_reported():
    assert rules.owed(PLAN, date(2026, 1, 1), d("300.01")).suggested_label == ""
    paid = [state(1, date(2026, 1, 31), "100.00", "100.00")]
    assert rules.owed(paid, date(2026, 6, 1)) == rules.Owed(
        d("0.00"), d("0.00"), d("0.00"), d("0.00"), d("0.00"), None, d("0.00"), ""
    )


@settings(max_examples=300)
@given(
    states=installment_states(),
    today=st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 1, 1)),
    held_share=st.integers(min_value=0, max_value=100),
)
def test_owed_is_consistent_for_any_plan(states, today, held_share):
    balance = sum((s.unpaid for s in states), D("0.00"))
    held = from_minor_units(to_minor_units(balance) * held_share // 100)
    owed = rules.owed(states, today, held)
    assert owed.balance == balance
    assert owed.overdue + owed.due_today == sum((s.unpaid for s in states if s.due_date <= today), D("0.00"))
    assert owed.pay_now == max(owed.overdue + owed.due_today - held, D("0.00"))
    assert D("0.00") <= owed.suggested <= owed.to_pay == balance - held
    if owed.pay_now > 0:
        assert (owed.suggested, owed.suggested_label) == (owed.pay_now, "Due now")
    elif owed.next_installment is not None:
        assert owed.next_installment.due_date > today
        assert (owed.suggested, owed.suggested_label) == (owed.next_installment.amount, "Next installment")
    else:
        # Nothing is asked only when reported money covers everything still unpaid after today.
        assert owed.suggested == 0 and owed.suggested_label == ""
        assert sum((s.unpaid for s in states if s.due_date > today), D("0.00")) <= max(
            held - owed.overdue - owed.due_today, D("0.00")
        )
