"""The collections pages.  Thin views: a form parses, one function reads or writes, the page renders.

* ``GET|POST /settings/reminders``      backoffice.collections.reminder_settings  the owner's schedule
* ``GET  /aging[?as_of=&page=]``        backoffice.collections.aging_report      the aging report
* ``GET  /aging/clients/<id>[?as_of=]`` backoffice.collections.aging_client      one client's open installments
* ``GET  /aging.csv[?as_of=]``          backoffice.collections.aging_csv         the report as CSV
* ``GET  /clients/<id>/statement[?from=&to=]``  backoffice.collections.client_statement  a statement
* ``GET  /clients/<id>/statement.pdf[?from=&to=&size=]``  backoffice.collections.client_statement_pdf  as PDF
* ``GET|POST /settings/statements``     backoffice.collections.statement_settings  monthly emails on/off
* ``GET  /forecast``                     backoffice.collections.forecast          by month and by week
* ``GET  /forecast/clients?from=&to=``   backoffice.collections.forecast_clients  expected per client in a period
* ``GET|POST /portal/reminders``        portal.collections.reminders_page / _save  a client's choice
* ``GET  /portal/statement[?from=&to=]`` portal.collections.statement           the client's own statement
* ``GET  /portal/statement.pdf[?from=&to=&size=]`` portal.collections.statement_pdf  the same as PDF
* ``GET  /portal/calendar``             portal.collections.calendar_page        the calendar address
* ``POST /portal/calendar``             portal.collections.calendar_reset       a new address
* ``GET  /calendar/<token>.ics``        calendar.feed                           the feed (public, secret address)

A date that cannot be read (``as_of=2026-02-30``) is a 400 with a sentence saying so; an unknown
client a 404.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from .. import clock
from ..auth.access import current_actor
from ..backoffice.charts import monthly_bar_chart
from ..billing import aging, late_fees, promises, proposals, reminders, services, statements
from ..billing.money import InvalidAmount, parse_decimal
from ..billing.rules import add_months
from ..billing.services import BillingError
from ..database import reads_only
from ..documents import pdf
from ..formatting import format_money
from ..portal.queries import client_reminder_choice
from ..portal.scope import portal_url, scope
from . import calendar, calendar_bp, client_bp, exports, owner_bp, queries
from .forms import (
    ApproveProposalForm,
    CalendarResetForm,
    CourtesyRemindersForm,
    DeclineProposalForm,
    LateFeePolicyForm,
    MonthlyStatementsForm,
    ProposalLimitsForm,
    ProposePlanForm,
    ReminderScheduleForm,
    WaiveFeeForm,
)

MAX_PAGE = 100_000
MAX_ID = 2**31 - 1  # ids are INTEGER columns: a larger id in a URL is simply not found
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def date_arg(name: str) -> dt.date | None:
    """A date query parameter (YYYY-MM-DD), None when absent; 400 when it cannot be read."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        value = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        value = None
    if value is None or not EARLIEST <= value <= LATEST:
        abort(400, description=f"“{text[:20]}” is not a date: use YYYY-MM-DD, e.g. 2026-03-31.")
    return value


def page_arg() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def period_args() -> tuple[dt.date, dt.date]:
    """A statement's period from ``from`` and ``to`` (both included): by default the month two
    months back from its start up to today (three calendar months to date)."""
    end = date_arg("to") or clock.today()
    start = date_arg("from") or add_months(end.replace(day=1), -2)
    if start > end:
        abort(400, description="The period starts after it ends: choose a “from” date on or before the “to” date.")
    return start, end


# --- The aging report ---------------------------------------------------------------------------


def _aging_cells(rows: list[aging.ClientAging]) -> list[tuple[list[tuple[str, str, bool]], str]]:
    """Each row's cells as the page shows them: (label, amount as text, is zero) per bucket, and
    the total as text.  Each distinct amount is formatted once (most cells are zero): the page's
    cost was Babel's, ~13 µs an amount, 150 amounts a page."""
    texts: dict = {}

    def text(amount) -> str:
        found = texts.get(amount)
        if found is None:
            found = texts[amount] = format_money(amount)
        return found

    labels = aging.BUCKET_LABELS
    return [
        (
            [(labels[bucket], text(amount), not amount) for bucket, amount in row.aging.buckets],
            text(row.aging.total),
        )
        for row in rows
    ]


@owner_bp.get("/aging")
@reads_only
def aging_report():
    today = clock.today()
    page = queries.aging_page(date_arg("as_of") or today, page_arg())
    return render_template(
        "collections/aging.html",
        page=page,
        cells=_aging_cells(page.rows),
        today=today,
        labels=aging.BUCKET_LABELS,
        buckets=aging.BUCKETS,
    )


@owner_bp.get("/aging/clients/<int:client_id>")
@reads_only
def aging_client(client_id: int):
    today = clock.today()
    page = queries.client_aging_page(client_id, date_arg("as_of") or today)
    if page is None:
        abort(404)
    return render_template(
        "collections/aging_client.html", page=page, today=today, labels=aging.BUCKET_LABELS, buckets=aging.BUCKETS
    )


@owner_bp.get("/aging.csv")
@reads_only
def aging_csv():
    as_of = date_arg("as_of") or clock.today()
    rows = exports.aging_rows(
        as_of,
        list(aging.all_client_agings(as_of)),
        aging.exact_aging_totals(as_of),
        promises.promises_shown_on(None, as_of),
    )
    return Response(
        "".join(exports.csv_lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="aging-{as_of.isoformat()}.csv"'},
    )


# --- The owner's schedule of reminders ----------------------------------------------------------


def _schedule_from(form: ReminderScheduleForm) -> reminders.ReminderSchedule:
    before_text = (form.before_days.data or "").strip()
    if before_text and not (before_text.isascii() and before_text.isdigit()):
        raise reminders.InvalidSchedule("Enter a whole number of days, or leave it empty.")
    return reminders.ReminderSchedule(
        enabled=bool(form.enabled.data),
        before_days=int(before_text) if before_text else None,
        on_due_date=bool(form.on_due_date.data),
        overdue_days=reminders.parse_days(form.overdue_days.data or ""),
    )


@owner_bp.route("/settings/reminders", methods=["GET", "POST"])
def reminder_settings():
    form = ReminderScheduleForm()
    status = 200
    if form.validate_on_submit():
        try:
            schedule = _schedule_from(form)
        except reminders.InvalidSchedule as error:
            form.form_errors.append(str(error))
            status = 400
        else:
            reminders.set_reminder_schedule(current_actor(), schedule)
            flash(reminders.describe(schedule), "success")
            return redirect(url_for(".reminder_settings"))
    elif form.is_submitted():
        status = 400
    current = reminders.reminder_schedule()
    if not form.is_submitted():
        form.enabled.data = current.enabled
        form.before_days.data = "" if current.before_days is None else str(current.before_days)
        form.on_due_date.data = current.on_due_date
        form.overdue_days.data = ", ".join(str(days) for days in current.overdue_days)
    return render_template(
        "collections/reminder_settings.html",
        form=form,
        current=reminders.describe(current),
        catch_up=reminders.CATCH_UP_DAYS,
    ), status


# --- A client's reminders -----------------------------------------------------------------------


@client_bp.get("/reminders")
@reads_only
def reminders_page():
    current = scope()
    wanted = client_reminder_choice(current.client_id)
    form = CourtesyRemindersForm(formdata=None, data={"wanted": wanted})
    return render_template(
        "collections/portal_reminders.html",
        form=form,
        wanted=wanted,
        schedule=reminders.reminder_schedule(),
    )


@client_bp.post("/reminders")
def reminders_save():
    """A client turns the courtesy reminders on or off (an owner's preview never gets here: 403)."""
    form = CourtesyRemindersForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(portal_url("portal.collections.reminders_page"), 303)
    wanted = bool(form.wanted.data)
    reminders.set_courtesy_reminders(current_actor(), scope().client_id, wanted)
    flash(
        "You will be reminded before and on due dates."
        if wanted
        else "Reminders before and on due dates are off. Overdue notices still come.",
        "success",
    )
    return redirect(portal_url("portal.collections.reminders_page"), 303)


# --- The collections forecast -------------------------------------------------------------------


@owner_bp.get("/forecast")
@reads_only
def forecast():
    today = clock.today()
    found = queries.forecast(today)
    currency = current_app.config["AIS_CURRENCY"]
    return render_template(
        "collections/forecast.html",
        forecast=found,
        chart=monthly_bar_chart(found.chart_series, currency, today),
        this_month=today.replace(day=1),
        currency=currency,
    )


@owner_bp.get("/forecast/clients")
@reads_only
def forecast_clients():
    start, end = date_arg("from"), date_arg("to")
    if start is None or end is None:
        abort(400, description="Choose a period: from and to dates as YYYY-MM-DD, e.g. 2026-03-01 and 2026-03-31.")
    if start > end or (end - start).days > 366:
        abort(400, description="The period must start on or before its end and last at most a year.")
    pagination, rows = queries.expected_by_client(start, end, page_arg())
    return render_template("collections/forecast_clients.html", pagination=pagination, rows=rows, start=start, end=end)


# --- Statements of account ----------------------------------------------------------------------


def _invoice_links(statement: statements.Statement, address) -> dict[int, str]:
    """The address of each invoice the statement's lines name, built once per invoice: a
    statement names the same few invoices on many lines."""
    return {invoice_id: address(invoice_id=invoice_id) for invoice_id in {line.invoice_id for line in statement.lines}}


@owner_bp.get("/clients/<int:client_id>/statement")
@reads_only
def client_statement(client_id: int):
    start, end = period_args()
    statement = statements.statement_of_account(client_id, start, end) if 0 < client_id <= MAX_ID else None
    if statement is None:
        abort(404)
    return render_template(
        "collections/statement_backoffice.html",
        statement=statement,
        labels=aging.BUCKET_LABELS,
        invoice_links=_invoice_links(statement, partial(url_for, "backoffice.invoice_detail")),
    )


@client_bp.get("/statement")
@reads_only
def statement():
    start, end = period_args()
    found = statements.statement_of_account(scope().client_id, start, end)
    if found is None:
        abort(404)
    return render_template(
        "collections/statement_portal.html",
        statement=found,
        labels=aging.BUCKET_LABELS,
        invoice_links=_invoice_links(found, partial(portal_url, "portal.invoice_detail")),
    )


@owner_bp.get("/clients/<int:client_id>/statement.pdf")
@reads_only
def client_statement_pdf(client_id: int):
    start, end = period_args()
    response = pdf.statement_pdf(client_id, start, end, request.args.get("size")) if 0 < client_id <= MAX_ID else None
    if response is None:
        abort(404)
    return response


@client_bp.get("/statement.pdf")
@reads_only
def statement_pdf():
    start, end = period_args()
    response = pdf.statement_pdf(scope().client_id, start, end, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@owner_bp.route("/settings/statements", methods=["GET", "POST"])
def statement_settings():
    form = MonthlyStatementsForm()
    if form.validate_on_submit():
        enabled = bool(form.enabled.data)
        statements.set_monthly_statements(current_actor(), enabled)
        flash(
            "Monthly statements are on: each client with something to state is emailed last month's statement."
            if enabled
            else "Monthly statements are off: no statement is emailed.",
            "success",
        )
        return redirect(url_for(".statement_settings"))
    status = 400 if form.is_submitted() else 200
    enabled = statements.monthly_statements_enabled()
    if not form.is_submitted():
        form.enabled.data = enabled
    return render_template("collections/statement_settings.html", form=form, enabled=enabled), status


# --- The client's calendar ----------------------------------------------------------------------


@client_bp.get("/calendar")
@reads_only
def calendar_page():
    current = scope()
    key = None if current.preview else calendar.calendar_key_of(current.client_id)
    return render_template(
        "collections/portal_calendar.html", address=calendar.address(key) if key else None, form=CalendarResetForm()
    )


@client_bp.post("/calendar")
def calendar_reset():
    """A client makes (or replaces) their calendar address (an owner's preview never gets here: 403)."""
    form = CalendarResetForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(portal_url("portal.collections.calendar_page"), 303)
    had_one = calendar.calendar_key_of(scope().client_id) is not None
    calendar.reset_calendar_address(current_actor(), scope().client_id)
    flash(
        "Your calendar has a new address: the old one no longer works. Subscribe again with the new one."
        if had_one
        else "Your calendar address is ready. Add it to your calendar app.",
        "success",
    )
    return redirect(portal_url("portal.collections.calendar_page"), 303)


@calendar_bp.get("/calendar/<token>.ics")
@reads_only
def feed(token: str):
    client_id = calendar.client_for_token(token)
    if client_id is None:
        abort(404)
    return Response(
        calendar.feed(client_id),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="payments.ics"', "Cache-Control": "private, max-age=300"},
    )


# --- Late fees ------------------------------------------------------------------------------------


def _whole_days(text: str, label: str, error=late_fees.InvalidPolicy) -> int:
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        raise error(f"{label}: enter a whole number of days.")
    return int(text)


def _policy_from(form: LateFeePolicyForm) -> late_fees.LateFeePolicy:
    enabled = bool(form.enabled.data)
    value_text = (form.value.data or "").strip()
    if not value_text and not enabled:
        value_text = "0"
    try:
        value = parse_decimal(value_text, places=2, maximum=late_fees.MAX_FLAT, allow_zero=not enabled, field="fee")
    except InvalidAmount as error:
        raise late_fees.InvalidPolicy(str(error)) from None
    grace_text = (form.grace_days.data or "").strip() or "0"
    return late_fees.LateFeePolicy(
        enabled=enabled,
        kind=form.kind.data or "flat",
        value=value,
        grace_days=_whole_days(grace_text, "Grace days"),
    )


@owner_bp.route("/settings/late-fees", methods=["GET", "POST"])
def late_fee_settings():
    form = LateFeePolicyForm()
    status = 200
    if form.validate_on_submit():
        try:
            policy = _policy_from(form)
        except late_fees.InvalidPolicy as error:
            form.form_errors.append(str(error))
            status = 400
        else:
            saved = late_fees.set_late_fee_policy(current_actor(), policy)
            flash(late_fees.describe(saved), "success")
            return redirect(url_for(".late_fee_settings"))
    elif form.is_submitted():
        status = 400
    current = late_fees.late_fee_policy()
    if not form.is_submitted():
        form.enabled.data = current.enabled
        form.kind.data = current.kind
        form.value.data = f"{current.value:.2f}" if current.value else ""
        form.grace_days.data = str(current.grace_days)
    return render_template("collections/late_fee_settings.html", form=form, current=late_fees.describe(current)), status


@owner_bp.post("/late-fees/<int:fee_id>/waive")
def late_fee_waive(fee_id: int):
    invoice_id = queries.late_fee_invoice(fee_id) if 0 < fee_id <= MAX_ID else None
    if invoice_id is None:
        abort(404)
    form = WaiveFeeForm()
    target = url_for("backoffice.invoice_detail", invoice_id=invoice_id) + "#late-fees"
    if not form.validate_on_submit():
        flash("Give the reason for waiving the fee (at most 500 characters).", "error")
        return redirect(target, 303)
    try:
        late_fees.waive_late_fee(current_actor(), fee_id, form.reason.data or "")
    except BillingError as error:
        flash(error.message, "error")
    else:
        flash("The late fee was waived and the client was told.", "success")
    return redirect(target, 303)


# --- Clients' proposals of a new plan -------------------------------------------------------------


def _limits_from(form: ProposalLimitsForm) -> proposals.ProposalLimits:
    return proposals.ProposalLimits(
        enabled=bool(form.enabled.data),
        max_installments=_whole_days(form.max_installments.data or "", "Installments", proposals.InvalidLimits),
        latest_first_days=_whole_days(form.latest_first_days.data or "", "Latest first date", proposals.InvalidLimits),
    )


@owner_bp.route("/settings/plan-proposals", methods=["GET", "POST"])
def proposal_settings():
    form = ProposalLimitsForm()
    status = 200
    if form.validate_on_submit():
        try:
            limits = _limits_from(form)
        except proposals.InvalidLimits as error:
            form.form_errors.append(str(error))
            status = 400
        else:
            proposals.set_proposal_limits(current_actor(), limits)
            flash(proposals.describe(limits), "success")
            return redirect(url_for(".proposal_settings"))
    elif form.is_submitted():
        status = 400
    current = proposals.proposal_limits()
    if not form.is_submitted():
        form.enabled.data = current.enabled
        form.max_installments.data = str(current.max_installments)
        form.latest_first_days.data = str(current.latest_first_days)
    return render_template("collections/proposal_settings.html", form=form, current=proposals.describe(current)), status


@owner_bp.get("/plan-proposals")
@reads_only
def proposals_list():
    pagination, rows = proposals.pending_page(page_arg())
    return render_template(
        "collections/proposals.html",
        pagination=pagination,
        rows=rows,
        approve_form=ApproveProposalForm(formdata=None),
        decline_form=DeclineProposalForm(formdata=None),
    )


def _proposal_target(proposal_id: int) -> str:
    invoice_id = queries.proposal_invoice(proposal_id) if 0 < proposal_id <= MAX_ID else None
    if invoice_id is None:
        abort(404)
    back = request.form.get("back") == "list"
    return (
        url_for(".proposals_list")
        if back
        else url_for("backoffice.invoice_detail", invoice_id=invoice_id) + "#proposal"
    )


@owner_bp.post("/plan-proposals/<int:proposal_id>/approve")
def proposal_approve(proposal_id: int):
    target = _proposal_target(proposal_id)
    form = ApproveProposalForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(target, 303)
    try:
        outcome = proposals.approve_proposal(current_actor(), proposal_id)
    except BillingError as error:
        flash(error.message, "error")
    else:
        if outcome == proposals.PROPOSAL_LAPSED:
            flash("The invoice was paid or voided since: the proposal lapsed and nothing was re-planned.", "warning")
        else:
            flash(
                "The proposal was approved: the invoice was re-planned and the client was sent the schedule.", "success"
            )
    return redirect(target, 303)


@owner_bp.post("/plan-proposals/<int:proposal_id>/decline")
def proposal_decline(proposal_id: int):
    target = _proposal_target(proposal_id)
    form = DeclineProposalForm()
    if not form.validate_on_submit():
        flash("Give the client a reason for declining (at most 500 characters).", "error")
        return redirect(target, 303)
    try:
        outcome = proposals.decline_proposal(current_actor(), proposal_id, form.reason.data or "")
    except BillingError as error:
        flash(error.message, "error")
    else:
        if outcome == proposals.PROPOSAL_LAPSED:
            flash("The invoice was paid or voided since: the proposal lapsed.", "warning")
        else:
            flash("The proposal was declined and the client was told why.", "success")
    return redirect(target, 303)


@client_bp.post("/invoices/<int:invoice_id>/plan-proposal")
def propose_plan(invoice_id: int):
    """A client proposes a new plan for their own invoice (anyone else's is a 404; an owner's
    preview never gets here: 403)."""
    client_id = scope().client_id
    if not (0 < invoice_id <= MAX_ID) or queries.client_invoice(client_id, invoice_id) is None:
        abort(404)
    target = portal_url("portal.invoice_detail", invoice_id=invoice_id) + "#propose"
    form = ProposePlanForm()
    if not form.validate_on_submit():
        messages = [message for errors in form.errors.values() for message in errors]
        flash(" ".join(str(m) for m in messages) or "The form expired; please try again.", "error")
        return redirect(target, 303)
    try:
        proposals.propose_plan(current_actor(), client_id, invoice_id, form.installment_count.data, form.first_due.data)
    except services.NotFound:
        abort(404)
    except BillingError as error:
        flash(error.message, "error")
    else:
        flash("Your proposal was sent. You will get an email when it is answered.", "success")
    return redirect(target, 303)


@client_bp.get("/invoices/<int:invoice_id>/plan-proposal")
def propose_plan_address(invoice_id: int):
    """Reloading the proposal's address leads to the invoice, not to a 405."""
    return redirect(portal_url("portal.invoice_detail", invoice_id=invoice_id))
