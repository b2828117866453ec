"""`flask --app ais export-beancount`: the ledger as a Beancount file that Beancount itself loads
with no errors, whose balance of every account equals the trial balance to the centavo."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from backoffice_support import ACTOR, TODAY, make_client, make_invoice, pay, report
from beancount import loader
from beancount.core import data

from ais.accounting import plaintext
from ais.accounting.commands import export_beancount
from ais.billing import ledger, periods, rules, services
from ais.billing.services import InvoiceInput, LineInput
from ais.extensions import db

D = Decimal


@pytest.fixture
def history(books):
    """Books made through the services: VATable, exempt and zero-rated sales, payments by several
    methods, a void, a credit note, a customer credit, a voided invoice and a late payment dated
    in a closed month."""
    ann = make_client("Ann Cruz", email="ann@example.com")
    ben = make_client("Ben Santos", email="ben@example.com")
    first = make_invoice(ann, "1120.00", issued=date(2026, 1, 10), count=3, due=date(2026, 1, 20))
    second = make_invoice(ben, "2240.00", issued=date(2026, 2, 3))
    mixed = services.create_invoice(
        ACTOR,
        InvoiceInput(
            client_id=ben,
            issue_date=date(2026, 2, 14),
            due_date=TODAY,
            lines=[
                LineInput("Taxed", D("1"), D("560.00")),
                LineInput("Books", D("2"), D("150.00"), rules.VAT_EXEMPT),
                LineInput("Export", D("1"), D("400.00"), rules.ZERO_RATED),
            ],
        ),
    )
    pay(first, "400.00", method="Bank transfer", on=date(2026, 1, 25))
    bounced = pay(first, "100.00", method="Check", on=date(2026, 2, 2))
    services.void_payment(ACTOR, bounced, "Bounced")
    services.confirm_payment(ACTOR, report(second, "1000.00", method="GCash", on=date(2026, 2, 10)))
    services.credit_invoice(ACTOR, second, D("224.00"), "Returned")
    pay(mixed, "1260.00", method="Card", on=date(2026, 2, 20))
    services.credit_invoice(ACTOR, mixed, D("100.00"), "Goodwill")  # a customer credit
    services.void_invoice(ACTOR, make_invoice(ann, "560.00", issued=date(2026, 3, 2)), "Duplicate")
    periods.close_through(ACTOR, date(2026, 1, 1), TODAY)
    pay(first, "120.00", method="Cash", on=date(2026, 1, 30))  # posted today, corrects January
    return ann


def loaded(path):
    entries, errors, options = loader.load_file(str(path))
    assert errors == [], [str(error) for error in errors]
    assert options["operating_currency"] == ["PHP"]
    return entries


def balances_of(entries) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(lambda: D("0.00"))
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units.currency == "PHP"
                sums[posting.account] += posting.units.number
    return {account: amount for account, amount in sums.items() if amount}


def trial_balance_by_name(as_of: date) -> dict[str, Decimal]:
    names = plaintext.account_names()
    return {names[row.account_id]: row.debit - row.credit for row in ledger.trial_balance(as_of).rows}


def test_the_export_loads_in_beancount_and_every_balance_equals_the_trial_balance(history, tmp_path):
    path = tmp_path / "books.beancount"
    assert export_beancount(str(path), None, echo=lambda *a, **k: None, progress=False) == 0
    entries = loaded(path)
    transactions = [entry for entry in entries if isinstance(entry, data.Transaction)]
    assert len(transactions) == ledger.entry_count()
    expected = trial_balance_by_name(TODAY)
    assert balances_of(entries) == expected
    assert "Assets:Cash-On-Hand" in expected and "Income:Sales-VAT-Exempt" in expected
    # each transaction names its journal and number, and what it corrects
    late = [entry for entry in transactions if entry.meta.get("corrects-period") == "2026-01"]
    assert len(late) == 1 and late[0].date == TODAY and "cash-receipts" in late[0].tags
    assert all(len(entry.links) == 1 for entry in transactions)
    opens = {entry.account: entry.date for entry in entries if isinstance(entry, data.Open)}
    assert opens["Assets:Accounts-Receivable"] == date(2026, 1, 10)
    assert opens["Assets:Cash-On-Hand"] == TODAY  # first used by the late payment, posted today


def test_the_export_as_of_a_day_holds_the_entries_up_to_it(history, tmp_path):
    path = tmp_path / "january.beancount"
    export_beancount(str(path), date(2026, 1, 31), echo=lambda *a, **k: None, progress=False)
    entries = loaded(path)
    assert max(entry.date for entry in entries) <= date(2026, 1, 31)
    assert balances_of(entries) == trial_balance_by_name(date(2026, 1, 31))


def test_the_command_writes_the_file_with_progress_and_to_standard_output(app, history, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "out.beancount"
    result = runner.invoke(args=["export-beancount", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {ledger.entry_count()} transactions to {path}." in result.output
    assert balances_of(loaded(path)) == trial_balance_by_name(TODAY)
    printed = runner.invoke(args=["export-beancount", "--as-of", "2026-02-28"])
    assert printed.exit_code == 0 and 'option "operating_currency" "PHP"' in printed.output
    assert "2026-03-" not in printed.output
    refused = runner.invoke(args=["export-beancount", "--as-of", "February"])
    assert refused.exit_code == 2 and "February" in refused.output


def test_account_names_follow_beancounts_rules_and_stay_unique(books):
    assert plaintext.component("Cash on hand") == "Cash-On-Hand"
    assert plaintext.component("Owner's capital") == "Owners-Capital"
    assert plaintext.component("Sales, VAT-exempt") == "Sales-VAT-Exempt"
    assert plaintext.component("Café Ñoño wallet") == "Cafe-Nono-Wallet"
    ledger.ensure_chart()
    from ais.models import Account

    db.session.add_all(
        [
            Account(code="1001", name="cash ON hand", type="asset", active=True),
            Account(code="1002", name="¿¡!", type="asset", active=True),
        ]
    )
    db.session.commit()
    names = set(plaintext.account_names().values())
    assert {"Assets:Cash-On-Hand", "Assets:Cash-ON-Hand", "Assets:1002"} <= names
    assert len(names) == len(plaintext.account_names())
