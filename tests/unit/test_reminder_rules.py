"""The pure rules of reminders: which step an installment is at on a day, the due dates a run
reads, and what part of an installment is neither paid nor awaiting confirmation."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ais.billing import rules
from ais.billing.reminders import (
    DUE_STEP,
    InvalidSchedule,
    ReminderSchedule,
    before_step,
    current_step,
    due_date_ranges,
    overdue_step,
    parse_days,
)

DUE = date(2026, 3, 16)
STEPS = ReminderSchedule().steps()


def test_the_default_schedule_is_three_days_before_on_the_day_and_1_7_14_30_days_after():
    assert [step.key for step in STEPS] == ["before:3", "due", "overdue:1", "overdue:7", "overdue:14", "overdue:30"]
    assert [step.courtesy for step in STEPS] == [True, True, False, False, False, False]


@pytest.mark.parametrize(
    "today,expected",
    [
        (DUE - timedelta(days=4), None),
        (DUE - timedelta(days=3), "before:3"),
        (DUE - timedelta(days=1), "before:3"),  # a missed run is made up until the next step
        (DUE, "due"),
        (DUE + timedelta(days=1), "overdue:1"),
        (DUE + timedelta(days=3), "overdue:1"),
        (DUE + timedelta(days=4), None),  # made up for 3 days only
        (DUE + timedelta(days=7), "overdue:7"),
        (DUE + timedelta(days=30), "overdue:30"),
        (DUE + timedelta(days=32), "overdue:30"),
        (DUE + timedelta(days=33), None),
    ],
)
def test_an_installment_is_at_its_latest_step_for_a_few_days(today, expected):
    step = current_step(STEPS, DUE, today)
    assert (step.key if step else None) == expected


def test_with_reminders_off_there_is_no_step():
    assert ReminderSchedule(enabled=False).steps() == []


@given(
    before=st.one_of(st.none(), st.integers(1, 40)),
    on_due=st.booleans(),
    overdue=st.lists(st.integers(1, 90), max_size=8, unique=True).map(lambda days: tuple(sorted(days))),
    offset=st.integers(-60, 130),
)
def test_the_due_date_ranges_are_exactly_the_installments_at_a_step(before, on_due, overdue, offset):
    steps = ReminderSchedule(before_days=before, on_due_date=on_due, overdue_days=overdue).steps()
    today = date(2026, 6, 1)
    due = today - timedelta(days=offset)
    in_range = any(start <= due <= end for start, end in due_date_ranges(steps, today))
    assert in_range == (current_step(steps, due, today) is not None)


def test_steps_are_ordered_by_their_day():
    assert sorted([overdue_step(7), DUE_STEP, before_step(2)]) == [before_step(2), DUE_STEP, overdue_step(7)]


@pytest.mark.parametrize("text", ["1, x", "-1", "1.5", "١"])
def test_days_that_are_not_whole_numbers_are_refused(text):
    with pytest.raises(InvalidSchedule):
        parse_days(text)


def test_days_are_read_sorted_and_once():
    assert parse_days(" 14, 1,7 ,7; 30") == (1, 7, 14, 30)


@pytest.mark.parametrize(
    "kwargs",
    [{"before_days": 0}, {"overdue_days": (0,)}, {"overdue_days": (400,)}, {"overdue_days": tuple(range(1, 11))}],
)
def test_a_schedule_out_of_bounds_is_refused(kwargs):
    with pytest.raises(InvalidSchedule):
        ReminderSchedule(**kwargs)


def test_a_stored_schedule_reads_back_and_a_broken_one_falls_back_to_the_default():
    schedule = ReminderSchedule(before_days=None, on_due_date=False, overdue_days=(2, 5))
    assert ReminderSchedule.from_text(schedule.to_text()) == schedule
    assert ReminderSchedule.from_text("{not json") == ReminderSchedule()


def _inst(number, day, amount, paid="0.00"):
    return rules.InstallmentState(number, DUE + timedelta(days=day), Decimal(amount), Decimal(paid))


def test_money_awaiting_confirmation_covers_installments_in_due_date_order():
    installments = [_inst(1, 0, "100.00", "40.00"), _inst(2, 30, "100.00"), _inst(3, 60, "100.00")]
    assert rules.uncovered(installments, Decimal("80.00")) == {
        1: Decimal("0.00"),
        2: Decimal("80.00"),
        3: Decimal("100.00"),
    }
    assert rules.uncovered(installments) == {1: Decimal("60.00"), 2: Decimal("100.00"), 3: Decimal("100.00")}


@given(
    amounts=st.lists(st.integers(1, 10_000), min_size=1, max_size=6),
    awaiting=st.integers(0, 70_000),
)
def test_uncovered_is_the_balance_less_what_awaits_confirmation(amounts, awaiting):
    installments = [_inst(n + 1, 7 * n, Decimal(a) / 100) for n, a in enumerate(amounts)]
    left = rules.uncovered(installments, Decimal(awaiting) / 100)
    owed = rules.owed(installments, DUE, Decimal(awaiting) / 100)
    assert sum(left.values()) == owed.to_pay
