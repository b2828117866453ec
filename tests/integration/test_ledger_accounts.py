"""Editing the chart of accounts and the posting settings: add, rename, deactivate and reactivate
accounts (never delete); point a payment method or a tax treatment at another account.  Every
change is audited; `flask check` holds after each (the ``books`` fixture runs it)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from backoffice_support import ACTOR, TODAY, fresh, make_client, make_invoice, pay, sign_in_owner, text_of
from sqlalchemy import func, select

from ais.accounting.commands import rebuild_ledger
from ais.billing import accounts, ledger, rules, services
from ais.billing.checks import find_problems
from ais.billing.services import InvoiceInput, LineInput
from ais.extensions import db
from ais.models import Account, AuditEntry, JournalEntry, JournalLine, MethodAccount

D = Decimal


def account_id(code: str) -> int:
    return fresh().scalar(select(Account.id).where(Account.code == code))


def balance(code: str) -> Decimal:
    net = fresh().scalar(
        select(func.coalesce(func.sum(JournalLine.debit) - func.sum(JournalLine.credit), 0)).where(
            JournalLine.account_id == account_id(code)
        )
    )
    return D(net)


def audit_details(action: str) -> list[str]:
    return list(fresh().scalars(select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def settings_form(**changes) -> dict:
    """The posting settings page's form as it is now, with ``changes`` (field name -> account id)."""
    settings = accounts.posting_settings()
    names = [method for method in accounts.methods.METHODS if method in settings.methods]
    form = {f"method-{number}": str(settings.methods[method]) for number, method in enumerate(names)}
    form.update({f"treatment-{role}": str(settings.treatments[role]) for role in accounts.TREATMENTS})
    form.update({key.replace("_", "-", 1): str(value) for key, value in changes.items()})
    return form


@pytest.fixture
def ann(books):
    ledger.ensure_chart()
    db.session.commit()
    return make_client("Ann Cruz", email="ann@example.com")


def test_an_added_account_has_a_unique_code_and_no_role(ann):
    new_id = accounts.add_account(ACTOR, " 1025 ", "  Petty   cash ", "asset")
    account = fresh().get(Account, new_id)
    assert (account.code, account.name, account.type, account.active, account.role) == (
        "1025",
        "Petty cash",
        "asset",
        True,
        None,
    )
    with pytest.raises(accounts.AccountRefused, match="already has the code"):
        accounts.add_account(ACTOR, "1025", "Another", "asset")
    for code, name, kind, field in [("", "X", "asset", "code"), ("10 25", "X", "asset", "code"),
                                    ("1026", "", "asset", "name"), ("1026", "X", "bogus", "type")]:  # fmt: skip
        with pytest.raises(services.InvalidInput) as refused:
            accounts.add_account(ACTOR, code, name, kind)
        assert refused.value.field == field
    assert audit_details("ledger.account_added") == ["1025 Petty cash (asset)"]


def test_renaming_is_audited(ann):
    accounts.rename_account(ACTOR, account_id("1000"), "Cash in the drawer")
    assert fresh().get(Account, account_id("1000")).name == "Cash in the drawer"
    assert audit_details("ledger.account_renamed") == ["1000: Cash on hand -> Cash in the drawer"]
    with pytest.raises(services.NotFound):
        accounts.rename_account(ACTOR, 999_999, "Nope")


def test_an_account_in_use_stays_active_and_one_unused_deactivates_and_comes_back(ann):
    with pytest.raises(accounts.AccountRefused, match="receivables"):
        accounts.set_active(ACTOR, account_id("1100"), False)
    with pytest.raises(accounts.AccountRefused, match="Payments by GCash"):
        accounts.set_active(ACTOR, account_id("1020"), False)
    accounts.set_active(ACTOR, account_id("3000"), False)
    assert fresh().get(Account, account_id("3000")).active is False
    accounts.set_active(ACTOR, account_id("3000"), True)
    assert fresh().get(Account, account_id("3000")).active is True
    assert audit_details("ledger.account_deactivated") == ["3000"]
    assert audit_details("ledger.account_reactivated") == ["3000"]


def test_pointing_a_method_at_another_account_moves_its_money_and_later_payments_and_voids_follow(ann):
    invoice_id = make_invoice(ann, "5600.00")
    pay(invoice_id, "1000.00", method="GCash")
    voided_later = pay(invoice_id, "300.00", method="GCash")
    pay(invoice_id, "200.00", method="Maya")
    wallet = accounts.add_account(ACTOR, "1025", "GCash business wallet", "asset")
    assert accounts.save_posting_settings(ACTOR, {"GCash": wallet}, {}) == 1
    assert balance("1020") == 0 and balance("1025") == D("1300.00") and balance("1021") == D("200.00")
    [transfer] = fresh().scalars(select(JournalEntry).where(JournalEntry.source_type == accounts.TRANSFER)).all()
    assert transfer.journal == "general" and transfer.date == TODAY and transfer.memo.startswith("GCash: ")
    assert find_problems() == []
    pay(invoice_id, "50.00", method="GCash")
    services.void_payment(ACTOR, voided_later, "Reversed by GCash")
    assert balance("1025") == D("1050.00") and balance("1020") == 0
    assert find_problems() == []
    # and back again: the money follows
    accounts.save_posting_settings(ACTOR, {"GCash": account_id("1020")}, {})
    assert balance("1020") == D("1050.00") and balance("1025") == 0
    assert audit_details("ledger.method_account_changed") == ["GCash: 1020 -> 1025", "GCash: 1025 -> 1020"]
    # the rebuild posts every GCash payment to the account set now: the same balances
    assert rebuild_ledger(force=True, echo=lambda *a, **k: None, progress=False) == 0
    assert balance("1020") == D("1050.00") and balance("1025") == 0 and find_problems() == []


def test_a_tax_treatment_posts_to_the_account_chosen_from_then_on(ann):
    books_exempt = accounts.add_account(ACTOR, "4015", "Book sales", "income")
    accounts.save_posting_settings(ACTOR, {}, {"exempt_sales": books_exempt})
    services.create_invoice(
        ACTOR,
        InvoiceInput(
            client_id=ann,
            issue_date=TODAY,
            due_date=TODAY,
            lines=[LineInput("Books", D("2"), D("150.00"), rules.VAT_EXEMPT)],
        ),
    )
    assert balance("4015") == D("-300.00") and balance("4010") == 0
    accounts.set_active(ACTOR, account_id("4010"), False)  # no longer used: it may go
    assert audit_details("ledger.sales_account_changed") == ["VAT-exempt sales: 4010 -> 4015"]


def test_a_setting_must_name_an_active_account_of_the_right_type_of_its_own(ann):
    accounts.set_active(ACTOR, account_id("3000"), False)
    before = dict(fresh().execute(select(MethodAccount.method, MethodAccount.account_id)).all())
    refusals = [
        ({"GCash": account_id("4000")}, {}),  # an income account for money
        ({"GCash": account_id("3000")}, {}),  # inactive
        ({"GCash": 999_999}, {}),
        ({"Barter": account_id("1000")}, {}),
        ({}, {"sales": account_id("1000")}),  # an asset for sales
        ({}, {"sales": account_id("4010")}),  # holds exempt sales already
        ({}, {"sales_returns": account_id("4900")}),  # not a treatment
    ]
    for chosen_methods, chosen_treatments in refusals:
        with pytest.raises(services.InvalidInput):
            accounts.save_posting_settings(ACTOR, chosen_methods, chosen_treatments)
    assert dict(fresh().execute(select(MethodAccount.method, MethodAccount.account_id)).all()) == before
    assert fresh().scalar(select(Account.role).where(Account.code == "4000")) == "sales"
    assert audit_details("ledger.method_account_changed") == []


# --- The pages ------------------------------------------------------------------------------------


def test_the_chart_page_lists_the_accounts_with_their_balances_and_adds_one(actions, ann):
    make_invoice(ann, "1120.00")
    sign_in_owner(actions)
    page = text_of(actions.client.get("/ledger/accounts"))
    assert "Accounts receivable" in page and "1,120.00" in page and "Receivables (invoices" in page
    response = actions.post("/ledger/accounts", {"code": "1025", "name": "Petty cash", "type": "asset"})
    assert response.status_code == 302 and account_id("1025") is not None
    refused = actions.post("/ledger/accounts", {"code": "1025", "name": "Again", "type": "asset"})
    assert refused.status_code == 400 and "already has the code 1025" in text_of(refused)
    refused = actions.post("/ledger/accounts", {"code": "1026", "name": "X", "type": "nonsense"})
    assert refused.status_code == 400 and account_id("1026") is None


def test_renaming_and_deactivating_from_the_page(actions, ann):
    sign_in_owner(actions)
    equity = account_id("3000")
    assert actions.post(f"/ledger/accounts/{equity}/rename", {"name": "Capital"}).status_code == 302
    assert fresh().get(Account, equity).name == "Capital"
    assert actions.post(f"/ledger/accounts/{equity}/rename", {"name": ""}).status_code == 400
    assert actions.post(f"/ledger/accounts/{equity}/deactivate").status_code == 302
    assert fresh().get(Account, equity).active is False
    assert actions.post(f"/ledger/accounts/{equity}/reactivate").status_code == 302
    refused = actions.post(f"/ledger/accounts/{account_id('1100')}/deactivate", follow_redirects=True)
    assert "stays active" in text_of(refused) and fresh().get(Account, account_id("1100")).active is True
    assert actions.post("/ledger/accounts/999999/deactivate").status_code == 404
    assert actions.post("/ledger/accounts/999999/rename", {"name": "X"}).status_code == 404


def test_the_posting_settings_page_saves_and_refuses_a_wrong_choice(actions, ann):
    sign_in_owner(actions)
    page = text_of(actions.client.get("/ledger/posting-accounts"))
    assert "GCash" in page and "VAT-exempt sales" in page
    wallet = accounts.add_account(ACTOR, "1025", "GCash business wallet", "asset")
    settings = accounts.posting_settings()
    gcash_field = f"method-{[m for m in accounts.methods.METHODS if m in settings.methods].index('GCash')}"
    form = settings_form()
    form[gcash_field] = str(wallet)
    response = actions.post("/ledger/posting-accounts", form)
    assert response.status_code == 302
    assert fresh().scalar(select(MethodAccount.account_id).where(MethodAccount.method == "GCash")) == wallet
    for value in (str(account_id("4000")), "abc", "", "99999999999999999999"):
        form[gcash_field] = value
        refused = actions.post("/ledger/posting-accounts", form)
        assert refused.status_code == 400
    assert fresh().scalar(select(MethodAccount.account_id).where(MethodAccount.method == "GCash")) == wallet
