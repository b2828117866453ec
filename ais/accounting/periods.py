"""The accounting periods page (owners; docs/ACCOUNTING.md, "Periods").

* ``GET  /ledger/periods[?page=]``   backoffice.accounting.periods        the months, their state and totals
* ``POST /ledger/periods/close``     backoffice.accounting.close_period   close a month (and the open ones before it)
* ``POST /ledger/periods/reopen``    backoffice.accounting.reopen_period  reopen the last closed month, with a reason
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from .. import clock
from ..auth.access import current_actor
from ..billing import periods
from ..billing.services import BillingError
from ..database import reads_only
from ..params import page_number
from . import owner_bp
from .forms import CloseMonthForm, ReopenMonthForm


def _render(close_form=None, reopen_form=None, status=200):
    today = clock.today()
    return render_template(
        "accounting/periods.html",
        report=periods.period_page(today, page_number(request.args.get("page"))),
        close_form=close_form or CloseMonthForm(formdata=None),
        reopen_form=reopen_form or ReopenMonthForm(formdata=None),
    ), status


@owner_bp.get("/ledger/periods")
@reads_only
def periods_page():
    return _render()


@owner_bp.post("/ledger/periods/close")
def close_period():
    form = CloseMonthForm()
    if form.validate_on_submit():
        try:
            closed = periods.close_through(current_actor(), form.month.month, clock.today())
        except BillingError as error:
            form.form_errors.append(error.message)
        else:
            span = f"{closed[0]:%B %Y}" + (f" to {closed[-1]:%B %Y}" if len(closed) > 1 else "")
            flash(f"Closed {span}: nothing posts into it any more.", "success")
            return redirect(url_for(".periods_page"))
    return _render(close_form=form, status=400)


@owner_bp.post("/ledger/periods/reopen")
def reopen_period():
    form = ReopenMonthForm()
    if form.validate_on_submit():
        try:
            periods.reopen(current_actor(), form.month.month, form.reason.data)
        except BillingError as error:
            form.form_errors.append(error.message)
        else:
            flash(f"Reopened {form.month.month:%B %Y}.", "success")
            return redirect(url_for(".periods_page"))
    return _render(reopen_form=form, status=400)
