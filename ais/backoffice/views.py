"""The owner's back office: dashboard, clients, invoices, payments.

Thin views: a form parses the input, ONE service function makes the change, the outcome is
flashed and the browser redirected (POST/redirect/GET); a refusal is shown next to its field on
the re-rendered page and nothing is written.  Reads come from ``queries``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .. import clock
from ..auth import tokens
from ..auth.access import current_actor, is_safe_next, require_owner
from ..billing import credits, promises, rules, services
from ..billing.services import BillingError, ClientInput, InvoiceInput
from ..collections.invoice_parts import invoice_collections
from ..database import reads_only
from ..documents import pdf
from ..downloads import image_response, proof_download
from ..extensions import db
from ..formatting import currency_symbol, format_day, format_money, plain_number
from ..models import INSTALLMENT, PAYMENT_STATES, REPORTED
from ..params import optional_id, page_number
from ..payments.forms import ResolveOverpaymentForm
from ..payments.services import open_overpayments
from . import bp, charts, queries
from .forms import (
    PAYMENT_STATE_LABELS,
    VAT_CHOICES,
    BusinessProfileForm,
    CancelPromiseForm,
    ClientFilterForm,
    ClientForm,
    CreditNoteForm,
    InvoiceFilterForm,
    InvoiceForm,
    InvoicePreviewForm,
    PaymentFilterForm,
    PaymentForm,
    PaymentInstructionsForm,
    PortalAccessForm,
    PromiseForm,
    ReasonForm,
    ReplanForm,
    new_submission_key,
    options,
)
from .preview import invoice_preview

INVITATION = "invitation"  # flash category of a new invitation link (shown once, on the client's page)


# --- Access ---------------------------------------------------------------------------------------


@bp.before_request
def owners_only():
    """Every back-office page is for owners; the site root only sends people to their home page."""
    if request.endpoint == "backoffice.index":
        return None
    return require_owner()


@bp.context_processor
def owner_layout():
    """What every back-office page's layout shows: the count of reported payments waiting for
    the owner (the badge on Payments; 0 if it cannot be read), read once as the page renders."""
    if not (current_user.is_authenticated and current_user.is_owner):
        return {}
    try:
        return {"awaiting_confirmation": queries.awaiting_confirmation_for_request()}
    except SQLAlchemyError:
        db.session.rollback()
        return {"awaiting_confirmation": 0}


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_owner:
        return redirect(url_for(".dashboard"))
    return redirect("/portal")


# --- Helpers --------------------------------------------------------------------------------------


def page_arg() -> int:
    return page_number(request.args.get("page"))


def show_error(form, error: BillingError) -> None:
    """Put a service's refusal next to the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message] if isinstance(field.errors, (list, tuple)) else [error.message]
    else:
        form.form_errors.append(error.message)


def back_to(default: str) -> str:
    """The form's ``next`` (a path on this site) or ``default``."""
    target = request.form.get("next", "")
    return target if is_safe_next(target) else default


def parse_id(text: str | None) -> int | None:
    return optional_id(text)


def _client_filter(form) -> tuple[tuple[int, str] | None, str]:
    """The list filter's client: a chosen one (id, label), or else the text searched for."""
    chosen = queries.client_choice(parse_id(form.client.data))
    return chosen, "" if chosen else (form.client_q.data or "").strip()[:100]


def _without_client(endpoint: str, params: dict, **extra) -> str:
    """The same list with the client filter taken off (the "Clear" link next to a chosen client)."""
    kept = {k: v for k, v in {**params, **extra}.items() if v and k not in ("client", "client_q")}
    return url_for(endpoint, **kept)


# --- Dashboard ------------------------------------------------------------------------------------


@bp.get("/dashboard")
@reads_only
def dashboard():
    today = clock.today()
    currency = _currency()
    figures, series = queries.dashboard_overview(today)
    waiting, recent = queries.dashboard_payments()
    return render_template(
        "backoffice/dashboard.html",
        figures=figures,
        coming_due=queries.installments_coming_due(today),
        waiting=waiting,
        recent=recent,
        chart=charts.monthly_bar_chart(series, currency, today),
        overpayments=open_overpayments() if figures.overpayments_open else [],
        overpayment_form=ResolveOverpaymentForm(formdata=None),
        horizon=today + dt.timedelta(days=queries.DUE_WINDOW_DAYS),
        currency=currency,
        next_url=url_for(".dashboard"),
    )


def _currency() -> str:
    return current_app.config["AIS_CURRENCY"]


# --- Clients --------------------------------------------------------------------------------------


# --- The business profile -------------------------------------------------------------------------


@bp.route("/settings/business", methods=["GET", "POST"])
def business_profile():
    """What every sales invoice prints about the seller (audited by the service)."""
    profile = services.business_profile()
    form = BusinessProfileForm(obj=profile)
    if request.method == "GET" and profile is not None:
        form.vat_registered.data = "" if profile.vat_registered is None else ("yes" if profile.vat_registered else "no")
        form.prices_include_vat.data = "inclusive" if profile.prices_include_vat else "exclusive"
        form.vat_rate.data = plain_number(profile.vat_rate)
    if form.validate_on_submit():
        try:
            services.save_business_profile(
                current_actor(), form.profile_input(), logo=form.logo_bytes(), remove_logo=form.remove_logo.data
            )
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The business profile was saved.", "success")
            return redirect(url_for(".business_profile"))
    return render_template(
        "backoffice/business_profile.html",
        form=form,
        profile=profile,
        problems=services.profile_problems(profile),
        failed=form.is_submitted(),
    )


@bp.get("/settings/business/logo")
def business_logo():
    """The logo as uploaded (checked when saved; an SVG is served so that it can run nothing)."""
    profile = services.business_profile()
    if profile is None or profile.logo is None:
        abort(404)
    response = current_app.response_class(profile.logo, mimetype=profile.logo_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- How clients pay -----------------------------------------------------------------------------


@bp.route("/settings/payment-instructions", methods=["GET", "POST"])
def payment_instructions():
    """Bank accounts, e-wallets, notes and a QR code, shown to clients on their invoice pages."""
    instructions = services.payment_instructions()
    form = PaymentInstructionsForm(obj=instructions)
    if form.validate_on_submit():
        try:
            services.save_payment_instructions(
                current_actor(),
                bank_accounts=form.bank_accounts.data or "",
                e_wallets=form.e_wallets.data or "",
                notes=form.notes.data or "",
                qr_image=form.qr_bytes(),
                remove_qr=form.remove_qr.data,
            )
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The payment instructions were saved.", "success")
            return redirect(url_for(".payment_instructions"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "backoffice/payment_instructions.html", form=form, instructions=instructions, failed=form.is_submitted()
    ), status


@bp.get("/settings/payment-instructions/qr")
def payment_qr():
    """The payment QR code as saved (re-encoded when it was uploaded)."""
    instructions = services.payment_instructions()
    if instructions is None or instructions.qr_image is None:
        abort(404)
    return image_response(instructions.qr_image, instructions.qr_type)


@bp.get("/payments/<int:payment_id>/proof")
@reads_only
def payment_proof(payment_id: int):
    """The proof a client attached to a reported payment, as a download."""
    proof = services.payment_proof(payment_id)
    if proof is None:
        abort(404)
    return proof_download(proof)


@bp.get("/clients")
@reads_only
def clients():
    form = ClientFilterForm(formdata=request.args)
    q = (form.q.data or "").strip()
    archived = bool(form.archived.data)
    pagination = queries.clients_page(q=q, archived=archived, page=page_arg())
    return render_template(
        "backoffice/clients.html",
        form=form,
        pagination=pagination,
        portal_status=queries.client_row_status,
        q=q,
        archived=archived,
        currency=_currency(),
    )


@bp.get("/clients/lookup")
@reads_only
def client_lookup():
    """At most 10 clients whose name or email contains ``q``, for the client search's suggestions.
    Archived clients are included with ``archived=1`` (list filters), left out otherwise (new invoices)."""
    matches = queries.client_lookup(
        request.args.get("q", "")[:100], include_archived=request.args.get("archived") == "1"
    )
    return jsonify(clients=[{"id": client_id, "label": label} for client_id, label in matches])


def _client_input(form: ClientForm) -> ClientInput:
    return ClientInput(
        name=form.name.data or "",
        email=form.email.data or "",
        company=form.company.data or "",
        phone=form.phone.data or "",
        tax_id=form.tax_id.data or "",
        address=form.address.data or "",
    )


@bp.route("/clients/new", methods=["GET", "POST"])
def client_new():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client_id = services.create_client(current_actor(), _client_input(form))
        except BillingError as error:
            show_error(form, error)
        else:
            flash(f"{form.name.data.strip()} was added.", "success")
            return redirect(url_for(".client_detail", client_id=client_id))
    return render_template("backoffice/client_form.html", form=form, client=None)


@bp.route("/clients/<int:client_id>/edit", methods=["GET", "POST"])
def client_edit(client_id: int):
    client = queries.get_client(client_id)
    form = ClientForm(obj=client)
    if form.validate_on_submit():
        try:
            services.update_client(current_actor(), client_id, _client_input(form))
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The client's details were saved.", "success")
            return redirect(url_for(".client_detail", client_id=client_id))
    return render_template("backoffice/client_form.html", form=form, client=client)


@bp.get("/clients/<int:client_id>")
@reads_only
def client_detail(client_id: int):
    return render_client(client_id)


def render_client(client_id: int, promise_form=None):
    """The client's page; ``promise_form``: a refused promise to pay, shown with its errors."""
    today = clock.today()
    client, figures = queries.client_page(client_id, today)
    invitation = [message for _, message in _flashed(INVITATION)]
    return render_template(
        "backoffice/client_detail.html",
        client=client,
        figures=figures,
        invoices=queries.client_invoices_page(client_id, page_arg()),
        access=client.access,
        invitation_link=invitation[-1] if invitation else None,
        status_of=services.status_of,
        currency=_currency(),
        promises=promises.client_promises(client_id, today),
        customer_credits=credits.client_open_credits(client_id),
        promise_form=promise_form or PromiseForm(formdata=None),
        cancel_promise_form=CancelPromiseForm(formdata=None),
        max_promise_day=today + dt.timedelta(days=promises.MAX_DAYS_AHEAD),
    )


def _flashed(category: str):
    from flask import get_flashed_messages

    return get_flashed_messages(with_categories=True, category_filter=[category])


@bp.post("/clients/<int:client_id>/archive")
def client_archive(client_id: int):
    return _set_archived(client_id, True)


@bp.post("/clients/<int:client_id>/restore")
def client_restore(client_id: int):
    return _set_archived(client_id, False)


def _set_archived(client_id: int, archived: bool):
    try:
        services.archive_client(current_actor(), client_id, archived=archived)
    except services.NotFound:
        abort(404)
    except BillingError as error:
        flash(error.message, "error")
    else:
        flash(
            "The client was archived: they are hidden from lists and new invoices."
            if archived
            else "The client was restored.",
            "success",
        )
    return redirect(url_for(".client_detail", client_id=client_id))


@bp.post("/clients/<int:client_id>/promises")
def promise_add(client_id: int):
    """The owner notes a promise to pay; a refusal is shown next to its field (400), nothing written."""
    queries.get_client(client_id)  # 404 for an unknown client
    form = PromiseForm()
    if form.validate_on_submit():
        try:
            promises.record_promise(
                current_actor(), client_id, form.amount.data, form.promised_by.data, form.note.data or ""
            )
        except services.NotFound:
            abort(404)
        except BillingError as error:
            show_error(form, error)
        else:
            flash(
                f"Promise noted. Reminders to this client pause until {format_day(form.promised_by.data)}.",
                "success",
            )
            return redirect(url_for(".client_detail", client_id=client_id) + "#promises")
    return render_client(client_id, promise_form=form), 400


@bp.post("/clients/<int:client_id>/promises/<int:promise_id>/cancel")
def promise_cancel(client_id: int, promise_id: int):
    if not CancelPromiseForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for(".client_detail", client_id=client_id) + "#promises")
    try:
        promises.cancel_promise(current_actor(), client_id, promise_id)
    except services.NotFound:
        abort(404)
    except BillingError as error:
        flash(error.message, "error")
    else:
        flash("The promise was cancelled. Reminders resume at their next step.", "success")
    return redirect(url_for(".client_detail", client_id=client_id) + "#promises")


@bp.post("/clients/<int:client_id>/portal-access")
def client_portal_access(client_id: int):
    queries.get_client(client_id)  # 404 for an unknown client
    form = PortalAccessForm()
    action = (form.action.data or "").strip()
    if action not in ("enable", "disable"):
        flash("Choose to enable or disable portal access.", "error")
        return redirect(url_for(".client_detail", client_id=client_id))
    try:
        if action == "enable":
            link = tokens.enable_portal_access(current_actor(), client_id)
        else:
            tokens.disable_portal_access(current_actor(), client_id)
    except BillingError as error:
        flash(error.message, "error")
    except (ValueError, LookupError) as error:
        flash(str(error) or "Portal access could not be changed.", "error")
    else:
        if action == "enable":
            flash("Portal access is enabled. Send the client the invitation link below.", "success")
            flash(link, INVITATION)  # the address the invitation email gives, so the two never differ
        else:
            flash("Portal access is disabled: the client can no longer sign in.", "success")
    return redirect(url_for(".client_detail", client_id=client_id))


# --- Invoices -------------------------------------------------------------------------------------

SORT_KEYS = ("number", "client", "issue_date", "due", "amount", "balance")


def _invoice_sort(raw: str, raw_direction: str) -> tuple[str, str]:
    """(key, "asc"|"desc") from ?sort= and ?dir=: the form sends "-key" for descending, the column
    headers send key and dir.  Anything else is the default order."""
    key = raw.removeprefix("-")
    if key not in SORT_KEYS:
        return "", "asc"
    descending = raw.startswith("-") or raw_direction == "desc"
    return key, "desc" if descending else "asc"


@bp.get("/invoices")
@reads_only
def invoices():
    today = clock.today()
    form = InvoiceFilterForm(formdata=request.args)
    form.validate()  # only to report a date that could not be read; the rest is ignored then
    status = form.status.data if form.status.data in {c.value for c in form.status.choices} else ""
    chosen, client_q = _client_filter(form)
    filters = queries.InvoiceFilters(
        q=(form.q.data or "").strip(),
        status=status,
        client_id=chosen[0] if chosen else None,
        client_q=client_q,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
    )
    sort, direction = _invoice_sort(request.args.get("sort", ""), request.args.get("dir", ""))
    form.sort.data = f"-{sort}" if sort and direction == "desc" else sort
    pagination = queries.invoices_page(filters, sort, direction, page_arg(), today)
    params = {
        "q": filters.q,
        "status": filters.status,
        "client": filters.client_id,
        "client_q": filters.client_q,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }
    filtered = any(v for v in params.values())
    return render_template(
        "backoffice/invoices.html",
        form=form,
        chosen_client=chosen,
        clear_client_url=_without_client(".invoices", params, sort=sort or None, dir=direction if sort else None),
        pagination=pagination,
        sort=sort,
        direction=direction,
        params=params,
        filtered=filtered,
        status_of=services.status_of,
        currency=_currency(),
    )


def _setup_invoice_form(form: InvoiceForm, current_client: int | None = None) -> None:
    """Recent clients in the select (the one chosen or posted kept), not every client: the search
    next to it finds the others."""
    chosen = form.client_id.data if isinstance(form.client_id.data, int) else current_client
    form.client_id.choices = options([("", "Choose a client…")] + queries.recent_client_choices(always_include=chosen))


def _invoice_input(form: InvoiceForm) -> InvoiceInput:
    installment = form.payment_type.data == INSTALLMENT
    return InvoiceInput(
        client_id=form.client_id.data,
        issue_date=form.issue_date.data,
        due_date=form.due_date.data,
        lines=form.line_inputs,
        description=form.description.data or "",
        payment_type=form.payment_type.data,
        installment_count=form.installment_count.data if installment else 1,
        frequency=form.frequency.data if installment else None,
    )


def _pad_lines(form: InvoiceForm, blank_rows: int) -> None:
    """Empty rows to type into without JavaScript (the 'Add line' button adds more with it)."""
    filled = sum(1 for entry in form.lines.entries if not entry.form.is_blank())
    while len(form.lines.entries) < max(filled + blank_rows, 3):
        form.lines.append_entry()


def _render_invoice_form(form: InvoiceForm, invoice=None, failed: bool = False):
    _pad_lines(form, 2 if invoice is not None else 3)
    pricing = services.current_pricing()
    return render_template(
        "backoffice/invoice_form.html",
        form=form,
        invoice=invoice,
        failed=failed,
        preview=invoice_preview(form, pricing),
        pricing=pricing,
        vat_choices=VAT_CHOICES,
        profile_problems=services.profile_problems(services.business_profile()),
        currency=_currency(),
    )


@bp.route("/invoices/new", methods=["GET", "POST"])
def invoice_new():
    today = clock.today()
    if request.method == "POST":
        form = InvoiceForm()
    else:
        preselected = optional_id(request.args.get("client"))
        form = InvoiceForm(
            data={"client_id": preselected, "issue_date": today, "due_date": today + dt.timedelta(days=30)}
        )
    _setup_invoice_form(form)
    if form.is_submitted() and request.form.get("action") == "preview":
        return _render_invoice_form(form)  # "Update preview" without JavaScript: nothing is saved
    if form.is_submitted() and form.validate():
        data = _invoice_input(form)
        issue = request.form.get("action") == "issue"
        try:
            if issue:
                invoice_id = services.create_invoice(current_actor(), data, issue=True)
            else:
                invoice_id = services.save_draft(current_actor(), data)
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The invoice was issued." if issue else "The draft was saved. Issue it when it is ready.", "success")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    return _render_invoice_form(form, failed=form.is_submitted())


@bp.route("/invoices/<int:invoice_id>/edit", methods=["GET", "POST"])
def invoice_edit(invoice_id: int):
    invoice = queries.get_invoice(invoice_id)
    if not invoice.is_draft:
        flash(
            "This invoice is issued: its lines and amount are fixed. Void it and issue a new one to change it.",
            "warning",
        )
        return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    if request.method == "POST":
        form = InvoiceForm()
    else:
        form = InvoiceForm(
            data={
                "client_id": invoice.client_id,
                "description": invoice.description,
                "issue_date": invoice.issue_date,
                "due_date": invoice.due_date,
                "payment_type": invoice.payment_type,
                "installment_count": invoice.installment_count if invoice.payment_type == INSTALLMENT else 3,
                "frequency": invoice.frequency or rules.MONTHLY,
                "lines": [
                    {
                        "description": line.description,
                        "quantity": plain_number(line.quantity),
                        "unit_price": plain_number(line.unit_price),
                        "vat": line.vat_treatment or rules.VATABLE,
                    }
                    for line in invoice.lines
                ],
            }
        )
    _setup_invoice_form(form, current_client=invoice.client_id)
    if form.is_submitted() and request.form.get("action") == "preview":
        return _render_invoice_form(form, invoice)
    if form.is_submitted() and form.validate():
        data = _invoice_input(form)
        issue = request.form.get("action") == "issue"
        try:
            services.save_draft(current_actor(), data, invoice_id=invoice_id)
            if issue:
                # Saving and issuing are two steps (there is no one service for both): if issuing is
                # refused, the saved draft is kept and the refusal is shown.
                services.issue_invoice(current_actor(), invoice_id)
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The invoice was issued." if issue else "The draft was saved.", "success")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    return _render_invoice_form(form, invoice, failed=form.is_submitted())


@bp.get("/invoices/preview")
@reads_only
def invoice_preview_json():
    """The total and schedule for the form's current values, by the real rules (live preview)."""
    form = InvoicePreviewForm(formdata=request.args)
    return jsonify(invoice_preview(form, services.current_pricing()))


SETTLE = "settle"  # ?amount=settle on the invoice page: the payment form holds what settles it


def _payment_form_for(today: dt.date, owed: rules.Owed, quote: rules.PayoffQuote, room: Decimal) -> PaymentForm:
    # The same suggestion the client sees (rules.owed): due now less what is awaiting confirmation,
    # or else the next installment; or, when asked for, what settles the invoice (the payoff quote).
    wanted = quote.to_send if request.args.get("amount") == SETTLE else owed.suggested
    suggested = min(wanted, room) if room > 0 else Decimal("0.00")
    form = PaymentForm(
        formdata=None,
        data={
            "amount": f"{suggested:.2f}" if suggested > 0 else "",
            "date": today,
            "method": "",
            "submission_key": new_submission_key(),
        },
    )
    return form


def _replan_form_for(invoice, today: dt.date) -> ReplanForm:
    unpaid = [i for i in invoice.installments if i.paid_amount < i.amount]
    first_due = min((i.due_date for i in unpaid), default=today)
    # The earliest start the re-plan allows (schedules stay in due-date order).
    first_due = max(first_due, rules.earliest_replan_start(services.installment_states(invoice)) or first_due)
    return ReplanForm(
        formdata=None,
        data={
            "installment_count": max(len(unpaid), 1),
            "frequency": invoice.frequency or rules.MONTHLY,
            "first_due": max(first_due, today),
        },
    )


def render_invoice(
    invoice_id: int,
    *,
    payment_form=None,
    replan_form=None,
    void_form=None,
    credit_form=None,
    payment_errors=None,
    open_panel: str | None = None,
):
    invoice = queries.invoice_page(invoice_id)
    today = clock.today()
    installment_rows = services.schedule_rows(invoice, today)
    status = services.status_of(invoice, today)
    is_open = not invoice.is_draft and not invoice.is_void and invoice.paid_amount < invoice.amount
    credit_notes = queries.invoice_credit_notes(invoice_id) if invoice.has_credit_notes else []
    # What is owed, what settles the invoice and what may still be paid: each computed once.
    owed, quote, room = services.owed_on(invoice, today), services.payoff_quote(invoice), services.open_room(invoice)
    return render_template(
        "backoffice/invoice_detail.html",
        **invoice_collections(invoice),
        invoice=invoice,
        status=status,
        installment_rows=installment_rows,
        payments=queries.invoice_payments(invoice_id),
        owed=owed,
        quote=quote,
        settle_url=url_for(".invoice_detail", invoice_id=invoice_id, amount=SETTLE) + "#record-payment"
        if is_open and room > 0
        else None,
        open_room=room,
        is_open=is_open,
        can_record=is_open and room > 0,
        can_replan=is_open and invoice.payment_type == INSTALLMENT,
        can_void=not invoice.is_draft and not invoice.is_void,
        payment_form=payment_form or (_payment_form_for(today, owed, quote, room) if is_open else None),
        replan_form=replan_form or (_replan_form_for(invoice, today) if is_open else None),
        void_form=void_form or ReasonForm(formdata=None),
        credit_form=credit_form or CreditNoteForm(formdata=None),
        credit_room=services.creditable(invoice, credit_notes),
        unpaid_room=max(room, Decimal("0.00")),
        credit_notes=credit_notes,
        payment_errors=payment_errors or {},
        next_url=url_for(".invoice_detail", invoice_id=invoice_id) + "#payments",
        open_panel=open_panel,
        currency=invoice.currency,
        currency_symbol=currency_symbol(invoice.currency),
    )


@bp.get("/invoices/<int:invoice_id>")
@reads_only
def invoice_detail(invoice_id: int):
    return render_invoice(invoice_id)


@bp.get("/invoices/<int:invoice_id>/invoice.pdf")
@reads_only
def invoice_pdf(invoice_id: int):
    """The sales invoice as PDF (?size=a4, the default, or letter); a draft has none (404)."""
    response = pdf.invoice_pdf(invoice_id, None, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@reads_only
def payment_receipt_pdf(payment_id: int):
    """The acknowledgement receipt of a confirmed payment as PDF; any other payment has none (404)."""
    response = pdf.receipt_pdf(payment_id, None, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@bp.post("/invoices/<int:invoice_id>/issue")
def invoice_issue(invoice_id: int):
    queries.invoice_exists(invoice_id)
    try:
        number = services.issue_invoice(current_actor(), invoice_id)
    except BillingError as error:
        flash(error.message, "error")
    else:
        flash(f"Invoice {number} was issued.", "success")
    return redirect(url_for(".invoice_detail", invoice_id=invoice_id))


@bp.post("/invoices/<int:invoice_id>/delete")
def invoice_delete(invoice_id: int):
    queries.invoice_exists(invoice_id)
    try:
        services.delete_draft(current_actor(), invoice_id)
    except BillingError as error:
        flash(error.message, "error")
        return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    flash("The draft was deleted.", "success")
    return redirect(url_for(".invoices"))


@bp.post("/invoices/<int:invoice_id>/void")
def invoice_void(invoice_id: int):
    queries.invoice_exists(invoice_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            services.void_invoice(current_actor(), invoice_id, form.reason.data or "")
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The invoice was voided.", "success")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    return render_invoice(invoice_id, void_form=form, open_panel="void")


@bp.post("/invoices/<int:invoice_id>/credit")
def invoice_credit(invoice_id: int):
    """Issue a credit note for part or all of the unpaid balance (services.credit_invoice)."""
    queries.invoice_exists(invoice_id)
    form = CreditNoteForm()
    if form.validate_on_submit():
        try:
            services.credit_invoice(current_actor(), invoice_id, form.amount.data or "", form.reason.data or "")
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The credit note was issued and emailed to the client.", "success")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    return render_invoice(invoice_id, credit_form=form, open_panel="credit")


@bp.get("/credit-notes/<int:note_id>/credit-note.pdf")
@reads_only
def credit_note_pdf(note_id: int):
    """The credit note as PDF (?size=a4|letter)."""
    response = pdf.credit_note_pdf(note_id, None, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@bp.post("/invoices/<int:invoice_id>/replan")
def invoice_replan(invoice_id: int):
    queries.invoice_exists(invoice_id)
    form = ReplanForm()
    if form.validate_on_submit():
        try:
            services.replan_invoice(
                current_actor(), invoice_id, form.installment_count.data, form.frequency.data, form.first_due.data
            )
        except BillingError as error:
            show_error(form, error)
        else:
            flash("The unpaid balance was re-planned. The client was sent the new schedule.", "success")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    return render_invoice(invoice_id, replan_form=form, open_panel="replan")


@bp.get("/invoices/<int:invoice_id>/payments")
@bp.get("/invoices/<int:invoice_id>/void")
@bp.get("/invoices/<int:invoice_id>/replan")
def invoice_form_address(invoice_id: int):
    """A refused form (record a payment, void, re-plan) is shown again at the address it was posted
    to; reloading it or coming back to it is a GET, which leads to the invoice, not to a 405."""
    return redirect(url_for(".invoice_detail", invoice_id=invoice_id))


@bp.post("/invoices/<int:invoice_id>/payments")
def payment_record(invoice_id: int):
    invoice = queries.get_invoice(invoice_id)
    form = PaymentForm()
    if form.validate_on_submit():
        key = (form.submission_key.data or "").strip()[:64] or None
        if key and queries.payment_with_key(key):
            flash("This payment was already recorded (the form was sent twice).", "info")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
        try:
            services.record_payment(
                current_actor(),
                invoice_id,
                form.amount_value,
                form.date.data,
                form.method.data,
                form.reference.data or "",
                submission_key=key,
            )
        except BillingError as error:
            show_error(form, error)
        else:
            flash(f"A payment of {format_money(form.amount_value, invoice.currency)} was recorded.", "success")
            return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    return render_invoice(invoice_id, payment_form=form, open_panel="payment")


# --- Payments -------------------------------------------------------------------------------------


@bp.get("/payments")
@reads_only
def payments():
    form = PaymentFilterForm(formdata=request.args)
    methods = queries.payment_methods()
    form.method.choices = options([("", "Any method")] + [(m, m) for m in methods])
    form.validate()
    state = form.state.data if form.state.data in PAYMENT_STATES else ""
    method = form.method.data if form.method.data in methods else ""
    chosen, client_q = _client_filter(form)
    filters = queries.PaymentFilters(
        state=state,
        client_id=chosen[0] if chosen else None,
        client_q=client_q,
        method=method,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
    )
    pagination = queries.payments_page(filters, page_arg())
    params = {
        "state": filters.state,
        "client": filters.client_id,
        "client_q": filters.client_q,
        "method": filters.method,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }
    return render_template(
        "backoffice/payments.html",
        form=form,
        chosen_client=chosen,
        clear_client_url=_without_client(".payments", params),
        pagination=pagination,
        params=params,
        filtered=any(params.values()),
        queue=filters.state == REPORTED,
        state_labels=PAYMENT_STATE_LABELS,
        next_url=request.full_path.rstrip("?"),
        currency=_currency(),
    )


def _payment_action(payment_id: int, action):
    """Confirm / reject / void: one service call; refusals go back to where the button was."""
    invoice_id = queries.payment_invoice_id(payment_id)
    if invoice_id is None:
        abort(404)
    invoice_page = url_for(".invoice_detail", invoice_id=invoice_id)
    target = back_to(invoice_page)
    form = ReasonForm()
    try:
        message = action(form)
    except BillingError as error:
        if target.split("#")[0] == invoice_page:
            return render_invoice(invoice_id, payment_errors={payment_id: error.message})
        flash(error.message, "error")
        return redirect(target)
    flash(message, "success")
    return redirect(target)


@bp.post("/payments/<int:payment_id>/confirm")
def payment_confirm(payment_id: int):
    def confirm(form):
        services.confirm_payment(current_actor(), payment_id)
        return "The payment was confirmed and applied to the invoice."

    return _payment_action(payment_id, confirm)


@bp.post("/payments/<int:payment_id>/reject")
def payment_reject(payment_id: int):
    def reject(form):
        services.reject_payment(current_actor(), payment_id, (form.reason.data or "")[:500])
        return "The payment was rejected. The client was told why."

    return _payment_action(payment_id, reject)


@bp.post("/payments/<int:payment_id>/void")
def payment_void(payment_id: int):
    def void(form):
        services.void_payment(current_actor(), payment_id, (form.reason.data or "")[:500])
        return "The payment was voided. The invoice's balance was updated."

    return _payment_action(payment_id, void)
