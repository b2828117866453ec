"""The client portal: a client's own invoices, schedules and payments, and reporting a payment.

Routes (blueprint ``portal``, mounted at /portal):

* ``GET  /portal``                     portal.dashboard       totals, next due, plans, recent payments
* ``GET  /portal/invoices``            portal.invoices        issued invoices, 20 a page, newest first
* ``GET  /portal/invoices/<id>``       portal.invoice_detail  one invoice, its schedule, payments, the form
  (``?amount=settle``: the form is filled with what settles the invoice, the payoff quote)
* ``GET  /portal/payments``            portal.payments        payments, 20 a page, newest first
* ``POST /portal/payments/add``        portal.payment_add     report a payment (state "reported")
* ``GET  /portal/invoices/<id>/invoice.pdf``  the sales invoice as PDF (?size=a4|letter)
* ``GET  /portal/payments/<id>/receipt.pdf``  the acknowledgement receipt of a confirmed payment
* ``GET  /portal/how-to-pay/qr``              the business's payment QR code (an image it re-encoded)
* ``GET  /portal/payments/<id>/proof``        the proof the client attached to a payment (a download)
* ``GET|POST /portal/payments/<id>/add-proof``  attach a proof to a reported payment that has none

Who sees what is decided once, in ``scope.apply_scope`` (the before_request hook below); every
query takes the scoped client id first.  Views are thin: the form parses, ONE service call
(``services.report_payment``) writes, the outcome is flashed and the browser redirected; a refusal
is shown next to its field on the re-rendered invoice page (status 400) and nothing is written.
See docs/CLIENT_PORTAL.md.
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, g, redirect, render_template, request
from flask_login import current_user

from .. import clock
from ..auth.access import current_actor
from ..billing import promises, rules, services
from ..billing.services import BillingError, NotFound
from ..collections.invoice_parts import portal_invoice_collections
from ..database import reads_only
from ..documents import pdf
from ..downloads import image_response, proof_download
from ..formatting import format_money
from ..params import page_number, parse_id
from ..payments.views import online_payment
from . import bp, queries
from .forms import AttachProofForm, ReportPaymentForm, new_submission_key, proof_upload
from .scope import apply_scope, portal_url, scope

ZERO = Decimal("0.00")


bp.before_request(apply_scope)


@bp.context_processor
def portal_helpers():
    """What every portal template may use: the scope (banner, preview) and ``portal_url``."""
    return {"portal": g.get("portal_scope"), "portal_url": portal_url}


def _page_arg() -> int:
    return page_number(request.args.get("page"))


def _currency() -> str:
    return current_app.config["AIS_CURRENCY"]


def _parse_id(value) -> int | None:
    """An id typed in a form (ais.params: ASCII digits, within the ids' range), else None."""
    return parse_id(value)


# --- Dashboard ------------------------------------------------------------------------------------


@bp.get("", strict_slashes=False)  # /portal and /portal/
@reads_only
def dashboard():
    client_id = scope().client_id
    today = clock.today()
    totals, to_pay, next_due = queries.overview(client_id, today)
    return render_template(
        "portal/dashboard.html",
        totals=totals,
        to_pay=to_pay,
        next_due=next_due,
        promise=promises.client_current_promise(client_id, today),
        plans=queries.active_plans(client_id),
        recent=queries.recent_payments(client_id),
        currency=_currency(),
    )


# --- Invoices -------------------------------------------------------------------------------------


@bp.get("/invoices")
@reads_only
def invoices():
    client_id = scope().client_id
    today = clock.today()
    pagination = queries.invoices_page(client_id, _page_arg())
    rows = [(invoice, services.status_of(invoice, today)) for invoice in pagination.items]
    return render_template("portal/invoices.html", pagination=pagination, rows=rows, currency=_currency())


def _suggested_amount(owed: rules.Owed, room: Decimal) -> Decimal:
    """What the form suggests paying: the suggested payment of rules.owed (what is due now less what is
    awaiting confirmation, or else the next installment), never more than can still be reported."""
    return max(min(owed.suggested, room), ZERO)


SETTLE = "settle"  # ?amount=settle: the form is filled with what settles the invoice


def _settle_amount(quote: rules.PayoffQuote, room: Decimal) -> Decimal:
    """What the client may report to settle the invoice: the payoff quote less what is already
    awaiting confirmation (services.payoff_quote), never more than can still be reported."""
    return max(min(quote.to_send, room), ZERO)


def _form_for(invoice, today, suggested: Decimal) -> ReportPaymentForm:
    """The payment form, pre-filled with today's date and the ``suggested`` amount."""
    return ReportPaymentForm(
        formdata=None,
        data={
            "invoice_id": invoice.id,
            "amount": f"{suggested:.2f}" if suggested > 0 else "",
            "date": today,
            "method": "",
            "reference": "",
            "submission_key": new_submission_key(),
        },
    )


def _render_invoice(invoice, form: ReportPaymentForm | None = None, status: int = 200):
    client_id = scope().client_id
    today = clock.today()
    is_open = not invoice.is_void and invoice.paid_amount < invoice.amount
    installment_rows = services.schedule_rows(invoice, today)
    # What is owed, what settles the invoice and what may still be reported: each computed once.
    owed, quote = services.owed_on(invoice, today), services.payoff_quote(invoice)
    room = services.open_room(invoice) if is_open else ZERO
    can_report = is_open and room > 0
    suggested = _suggested_amount(owed, room) if is_open else ZERO
    if form is None:
        # Pre-filled with the suggested amount, or with what settles the invoice when the page was
        # asked for it (?amount=settle).
        settle = request.args.get("amount") == SETTLE
        form = _form_for(invoice, today, _settle_amount(quote, room) if settle else suggested)
    elif not form.submission_key.data:
        form.submission_key.data = new_submission_key()
    return render_template(
        "portal/invoice_detail.html",
        **portal_invoice_collections(invoice, client_id),
        invoice=invoice,
        status=services.status_of(invoice, today),
        installment_rows=installment_rows,
        payments=queries.invoice_payments(client_id, invoice.id),
        credit_notes=queries.invoice_credit_notes(client_id, invoice.id) if invoice.has_credit_notes else [],
        owed=owed,
        quote=quote,
        settle_url=portal_url("portal.invoice_detail", invoice_id=invoice.id, amount=SETTLE) + "#report-payment"
        if can_report
        else None,
        suggested=suggested,
        open_room=room,
        is_open=is_open,
        can_report=can_report,
        form=form,
        pay=online_payment(invoice),
        instructions=services.payment_instructions(),
        currency=invoice.currency,
    ), status


@bp.get("/invoices/<int:invoice_id>")
@reads_only
def invoice_detail(invoice_id: int):
    invoice = queries.invoice(scope().client_id, invoice_id)
    if invoice is None:
        abort(404)
    return _render_invoice(invoice)


@bp.get("/invoices/<int:invoice_id>/invoice.pdf")
@reads_only
def invoice_pdf(invoice_id: int):
    """The client's own sales invoice as PDF; anyone else's (or a draft) is the same 404 as its page."""
    response = pdf.invoice_pdf(invoice_id, scope().client_id, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@bp.get("/credit-notes/<int:note_id>/credit-note.pdf")
@reads_only
def credit_note_pdf(note_id: int):
    """A credit note on one of the client's invoices as PDF, else 404."""
    response = pdf.credit_note_pdf(note_id, scope().client_id, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@reads_only
def payment_receipt_pdf(payment_id: int):
    """The acknowledgement receipt of the client's own confirmed payment as PDF, else 404."""
    response = pdf.receipt_pdf(payment_id, scope().client_id, request.args.get("size"))
    if response is None:
        abort(404)
    return response


@bp.get("/how-to-pay/qr")
@reads_only
def payment_qr():
    """The business's payment QR code (shown on the invoice pages), else 404."""
    instructions = services.payment_instructions()
    if instructions is None or instructions.qr_image is None:
        abort(404)
    return image_response(instructions.qr_image, instructions.qr_type)


@bp.get("/payments/<int:payment_id>/proof")
@reads_only
def payment_proof(payment_id: int):
    """The proof the client attached to one of their payments, as a download; else 404."""
    proof = services.payment_proof(payment_id, client_id=scope().client_id)
    if proof is None:
        abort(404)
    return proof_download(proof)


# --- Payments -------------------------------------------------------------------------------------


@bp.route("/payments/<int:payment_id>/add-proof", methods=["GET", "POST"])
def payment_proof_add(payment_id: int):
    """A client attaches a proof to a payment they reported without one, while it awaits
    confirmation.  Another client's payment is 404; an owner's preview shows the form disabled
    (the scope hook refuses its POST)."""
    current = scope()
    payment = queries.payment(current.client_id, payment_id)
    if payment is None:
        abort(404)
    form = AttachProofForm()
    if form.is_submitted():
        if not form.validate():
            return _render_proof_form(payment, form, 400)
        proof, proof_filename = proof_upload(form)
        try:
            services.attach_proof(current_actor(), current.client_id, payment.id, proof, proof_filename)
        except NotFound:
            abort(404)
        except BillingError as error:
            if error.field == "proof":
                form.proof.errors = [*form.proof.errors, error.message]
            else:
                form.form_errors.append(error.message)
            return _render_proof_form(queries.payment(current.client_id, payment_id) or payment, form, 400)
        flash(f"The proof was attached to your payment of {format_money(payment.amount, payment.currency)}.", "success")
        return redirect(portal_url("portal.payments"), 303)
    return _render_proof_form(payment, form)


def _render_proof_form(payment, form: AttachProofForm, status: int = 200):
    return render_template("portal/proof_add.html", payment=payment, form=form), status


@bp.get("/payments")
@reads_only
def payments():
    pagination = queries.payments_page(scope().client_id, _page_arg())
    return render_template("portal/payments.html", pagination=pagination, currency=_currency())


def _show_error(form: ReportPaymentForm, error: BillingError) -> None:
    """Put the service's refusal next to the field it names, or above the form."""
    known = ("amount", "method", "date", "reference", "proof")
    field = getattr(form, error.field, None) if error.field in known else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


@bp.get("/payments/add")
def payment_add_address():
    """A refused report is shown again at /portal/payments/add; reloading or coming back to that
    address (a GET) leads to the client's payments rather than to a 405."""
    return redirect(portal_url("portal.payments"))


@bp.post("/payments/add")
def payment_add():
    """A client reports a payment.  Owners never get here (403 in the scope hook)."""
    current = scope()
    if current.preview or not current_user.is_client:  # belt and braces: the hook already refused
        abort(403)
    form = ReportPaymentForm()
    invoice_id = _parse_id(form.invoice_id.data)
    invoice = queries.invoice(current.client_id, invoice_id) if invoice_id is not None else None
    if invoice is None:
        abort(404)  # unknown, non-numeric, a draft or another client's: all the same 404
    if not form.validate_on_submit():
        return _render_invoice(invoice, form, 400)
    key = (form.submission_key.data or "").strip()[:64] or None
    if key and queries.submission_key_used(current.client_id, key):
        flash("This payment was already reported (the form was sent twice).", "info")
        return redirect(portal_url("portal.invoice_detail", invoice_id=invoice.id), 303)
    try:
        proof, proof_filename = proof_upload(form)
        services.report_payment(
            current_actor(),
            client_id=current.client_id,
            invoice_id=invoice.id,
            amount=form.amount_value,
            paid_on=form.date.data,
            method=form.method.data,
            reference=form.reference.data or "",
            submission_key=key,
            proof=proof,
            proof_filename=proof_filename,
        )
    except NotFound:
        abort(404)
    except BillingError as error:
        _show_error(form, error)
        fresh = queries.invoice(current.client_id, invoice.id)
        if fresh is None:
            abort(404)
        return _render_invoice(fresh, form, 400)
    flash(
        f"Payment of {format_money(form.amount_value, invoice.currency)} reported. "
        "It will show as paid once confirmed.",
        "success",
    )
    return redirect(portal_url("portal.invoice_detail", invoice_id=invoice.id), 303)
