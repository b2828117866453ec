"""The chart of accounts and the posting settings (owners; docs/ACCOUNTING.md, "Editing the chart").

* ``GET  /ledger/accounts``                         backoffice.accounting.accounts            the chart, with balances
* ``POST /ledger/accounts``                         backoffice.accounting.account_add         add an account
* ``POST /ledger/accounts/<id>/rename``             backoffice.accounting.account_rename      rename it
* ``POST /ledger/accounts/<id>/deactivate``         backoffice.accounting.account_deactivate  deactivate it
* ``POST /ledger/accounts/<id>/reactivate``         backoffice.accounting.account_reactivate  reactivate it
* ``GET|POST /ledger/posting-accounts``             backoffice.accounting.posting_accounts    which account each
  payment method and each tax treatment of sales posts to
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ..auth.access import current_actor
from ..billing import accounts, methods
from ..billing.services import BillingError, NotFound
from ..database import reads_only
from . import owner_bp
from .forms import AccountForm, ActionForm, RenameAccountForm, posting_accounts_form


def _chart(form=None, failed_id=None, rename_form=None, status=200):
    return render_template(
        "accounting/accounts.html",
        rows=accounts.account_rows(),
        form=form or AccountForm(formdata=None),
        rename_form=rename_form,
        failed_id=failed_id,
        action_form=ActionForm(formdata=None),
    ), status


@owner_bp.get("/ledger/accounts")
@reads_only
def accounts_page():
    return _chart()


@owner_bp.post("/ledger/accounts")
def account_add():
    form = AccountForm()
    if form.validate_on_submit():
        try:
            accounts.add_account(current_actor(), form.code.data, form.name.data, form.type.data)
        except BillingError as error:
            _show(form, error)
        else:
            flash(f"Account {form.code.data.strip()} {form.name.data.strip()} added.", "success")
            return redirect(url_for(".accounts_page"))
    return _chart(form=form, status=400)


@owner_bp.post("/ledger/accounts/<int:account_id>/rename")
def account_rename(account_id: int):
    form = RenameAccountForm()
    if form.validate_on_submit():
        try:
            accounts.rename_account(current_actor(), account_id, form.name.data)
        except NotFound:
            return _chart(status=404)
        except BillingError as error:
            _show(form, error)
        else:
            flash("The account was renamed.", "success")
            return redirect(url_for(".accounts_page"))
    return _chart(rename_form=form, failed_id=account_id, status=400)


def _set_active(account_id: int, active: bool):
    form = ActionForm()
    if not form.validate_on_submit():
        return _chart(status=400)
    try:
        accounts.set_active(current_actor(), account_id, active)
    except NotFound:
        return _chart(status=404)
    except BillingError as error:
        flash(error.message, "danger")
        return redirect(url_for(".accounts_page"))
    flash("The account was reactivated." if active else "The account was deactivated.", "success")
    return redirect(url_for(".accounts_page"))


@owner_bp.post("/ledger/accounts/<int:account_id>/deactivate")
def account_deactivate(account_id: int):
    return _set_active(account_id, False)


@owner_bp.post("/ledger/accounts/<int:account_id>/reactivate")
def account_reactivate(account_id: int):
    return _set_active(account_id, True)


@owner_bp.route("/ledger/posting-accounts", methods=["GET", "POST"])
def posting_accounts():
    settings = accounts.posting_settings()
    method_names = [method for method in methods.METHODS if method in settings.methods]
    form = posting_accounts_form(settings, method_names, accounts.TREATMENTS)
    if form.validate_on_submit():
        chosen_methods = {method: form[f"method-{number}"].data for number, method in enumerate(method_names)}
        chosen_treatments = {role: form[f"treatment-{role}"].data for role in accounts.TREATMENTS}
        try:
            changed = accounts.save_posting_settings(current_actor(), chosen_methods, chosen_treatments)
        except BillingError as error:
            form.form_errors.append(error.message)
        else:
            flash(f"Saved: {changed} setting{'s' if changed != 1 else ''} changed.", "success")
            return redirect(url_for(".posting_accounts"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "accounting/posting_accounts.html",
        form=form,
        method_fields=[form[f"method-{number}"] for number in range(len(method_names))],
        treatment_fields=[form[f"treatment-{role}"] for role in accounts.TREATMENTS],
    ), status


def _show(form, error: BillingError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
