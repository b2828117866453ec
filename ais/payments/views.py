"""Online payment routes (thin): parse, call ONE service function, redirect.

Split by audience, each under the hook of its area (see ais/payments/__init__.py):

* ``POST /portal/checkout``          portal.checkout.start: a client starts (or resumes) a card payment
* ``POST /portal/checkout/cancel``   portal.checkout.cancel: a client gives up the open card payment
* ``POST /webhooks/stripe``          webhooks.stripe_webhook: Stripe's signed events (public, CSRF-exempt)
* ``POST /webhooks/paymongo``        webhooks.paymongo_webhook: PayMongo's signed events (the same)
* ``GET  /settings/payments``         backoffice.overpayments.payment_settings: what online payment offers
* ``POST /overpayments/<id>/resolve`` backoffice.overpayments.resolve: the owner refunded a customer credit by hand
* ``GET|POST /overpayments/<id>/apply`` backoffice.overpayments.apply: the owner applies a customer credit to an invoice
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

import click
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from wtforms import SelectChoice

from .. import clock
from ..auth.access import current_actor, is_safe_next
from ..billing import credits
from ..billing.services import BillingError, NotFound
from ..extensions import csrf, limiter
from ..formatting import format_money
from ..models import CHECKOUT_PROCESSING, Invoice
from ..params import id_or_404
from . import bp, checkout_bp, overpayments_bp, services, webhooks_bp
from .configured import (
    PAYMONGO,
    STRIPE,
    chosen_provider_name,
    online_payment_enabled,
    online_payment_summary,
    online_provider,
    provider_named,
)
from .forms import ApplyCreditForm, CancelCheckoutForm, CheckoutForm, ResolveOverpaymentForm
from .providers import MAX_EVENT_BYTES, InvalidEvent

log = logging.getLogger("ais.payments")

ERROR_KEY = "ais_checkout_error"  # the last refusal, shown next to the field on the invoice page


def _invoice_path(invoice_id: int) -> str:
    return f"/portal/invoices/{invoice_id}"


def _invoice_id(value) -> int:
    return id_or_404(value)  # '²' passes str.isdigit() but not int(): ais.params knows


# --- Client: pay online -----------------------------------------------------------------------------


# The portal's hook has already sent anonymous visitors to sign in and refused owners (a preview
# writes nothing): only a client reaches these two.
@checkout_bp.post("/checkout")
@limiter.limit("30 per minute")
def start():
    provider = online_provider()
    if provider is None:
        abort(404)
    form = CheckoutForm()
    invoice_id = _invoice_id(form.invoice_id.data)
    if not form.validate():  # CSRF (also checked globally) and field lengths
        session[ERROR_KEY] = {
            "invoice_id": invoice_id,
            "field": "amount",
            "choice": "custom",
            "amount": "",
            "message": "Enter an amount, like 1500.00.",
        }
        return redirect(_invoice_path(invoice_id) + "#pay-online", 303)
    try:
        url = services.start_checkout(
            current_actor(), current_user.client_id, invoice_id, form.choice.data or "", form.amount.data, provider
        )
    except NotFound:
        abort(404)
    except BillingError as error:
        session[ERROR_KEY] = {
            "invoice_id": invoice_id,
            "field": error.field or "choice",
            "choice": form.choice.data or "",
            "amount": (form.amount.data or "")[:40],
            "message": error.message,
        }
        return redirect(_invoice_path(invoice_id) + "#pay-online", 303)
    session.pop(ERROR_KEY, None)
    return redirect(url, 303)


@checkout_bp.post("/checkout/cancel")
def cancel():
    provider = online_provider()
    if provider is None:
        abort(404)
    form = CancelCheckoutForm()
    invoice_id = _invoice_id(form.invoice_id.data)
    try:
        closed = services.cancel_checkout(current_actor(), current_user.client_id, invoice_id, provider)
    except NotFound:
        abort(404)
    except BillingError as error:
        flash(error.message, "error")
    else:
        flash(
            "The card payment was cancelled; nothing was charged."
            if closed
            else "There was no card payment to cancel.",
            "success" if closed else "info",
        )
    return redirect(_invoice_path(invoice_id), 303)


# --- The providers' webhooks ------------------------------------------------------------------------


def _receive_event(name: str, signature_header: str):
    """Verify and apply one provider event: 404 if that provider's keys are not set, 413 if too
    large, 400 if not authentic, recent and well-formed (nothing written), else 200."""
    provider = provider_named(name)
    if provider is None:
        return {"error": "online payment is not configured"}, 404
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        return {"error": "too large"}, 413
    payload = request.stream.read(MAX_EVENT_BYTES + 1)
    try:
        event = provider.parse_event(payload, request.headers.get(signature_header))
    except InvalidEvent as error:
        log.warning("%s webhook refused: %s", name, error)
        return {"error": "invalid event"}, 400
    outcome = services.handle_event(event)
    return {"received": True, "outcome": outcome}, 200


@webhooks_bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    return _receive_event(STRIPE, "Stripe-Signature")


@webhooks_bp.post("/webhooks/paymongo")
@csrf.exempt
def paymongo_webhook():
    return _receive_event(PAYMONGO, "Paymongo-Signature")


# --- Owner: what online payment offers ------------------------------------------------------------------


# Under the back office's hook: owners only.
@overpayments_bp.get("/settings/payments")
def payment_settings():
    return render_template("payments/settings.html", online=online_payment_summary())


# --- Owner: settle flagged money -------------------------------------------------------------------------


# Under the back office's hook: owners only.
@overpayments_bp.post("/overpayments/<int:overpayment_id>/resolve")
def resolve(overpayment_id: int):
    form = ResolveOverpaymentForm()
    target = request.form.get("next", "")
    target = target if is_safe_next(target) else url_for("backoffice.dashboard")
    if form.validate():
        try:
            note, method = form.note.data or "", form.method.data or None
            services.resolve_overpayment(current_actor(), overpayment_id, note, method)
        except NotFound:
            abort(404)
        except BillingError as error:
            flash(error.message, "error")
        else:
            flash("The customer credit is marked as refunded.", "success")
    else:
        flash("Say how it was refunded (at most 500 characters).", "error")
    return redirect(target, 303)


@overpayments_bp.route("/overpayments/<int:overpayment_id>/apply", methods=["GET", "POST"])
def apply(overpayment_id: int):
    """Apply a customer credit to an open invoice of its client (credits.apply_credit)."""
    try:
        to_apply = credits.credit_to_apply(overpayment_id)
    except NotFound:
        abort(404)
    form = ApplyCreditForm()
    form.invoice_id.choices = [
        SelectChoice(row.id, f"{row.invoice_no} · {format_money(row.open_balance, to_apply.credit.currency)} open")
        for row in to_apply.invoices
    ]
    if request.method == "GET":
        form.amount.data = f"{to_apply.suggested_amount:.2f}" if to_apply.suggested_amount else ""
    elif form.validate():
        try:
            credits.apply_credit(current_actor(), overpayment_id, form.invoice_id.data or 0, form.amount.data or "")
        except NotFound:
            abort(404)
        except BillingError as error:
            _show_error(form, error)
        else:
            flash("The customer credit was applied to the invoice.", "success")
            return redirect(url_for("backoffice.invoice_detail", invoice_id=form.invoice_id.data), 303)
    return render_template("payments/apply_credit.html", form=form, to_apply=to_apply), 400 if form.errors else 200


def _show_error(form, error: BillingError) -> None:
    """A refusal next to the field it names, else above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


# --- What the invoice page and the dashboard include ------------------------------------------------------


def _local_time(when: dt.datetime) -> str:
    """A time today in the business's time zone, e.g. 2:35 PM (the date too if not today)."""
    from babel.dates import format_datetime, format_time

    local = when.astimezone(clock.business_timezone())
    locale = current_app.config["AIS_LOCALE"]
    if local.date() == clock.today():
        return format_time(local, format="short", locale=locale)
    return format_datetime(local, format="short", locale=locale)


class OnlinePayment:
    """Everything ``payments/_pay_online.html`` shows for one invoice (built by ``online_payment``)."""

    def __init__(self, invoice: Invoice):
        self.invoice = invoice
        self.currency = invoice.currency
        self.enabled = online_payment_enabled(invoice.currency)
        summary = online_payment_summary() if self.enabled else {"label": "", "methods": []}
        self.provider_label = summary["label"]
        self.methods = summary["methods"]
        self.is_client = bool(
            current_user.is_authenticated and current_user.is_client and current_user.client_id == invoice.client_id
        )
        self.preview = bool(current_user.is_authenticated and current_user.is_owner)
        self.is_open = not invoice.is_draft and not invoice.is_void and invoice.paid_amount < invoice.amount
        self.notice = request.args.get("checkout") if request.args.get("checkout") in ("success", "cancelled") else None
        self.pending = services.open_checkout(invoice.id) if self.enabled else None
        self.pending_until = _local_time(services.as_utc(self.pending.expires_at)) if self.pending else ""
        self.processing = bool(self.pending and self.pending.status == CHECKOUT_PROCESSING)
        self.received = self._recent_card_payment() if self.notice == "success" and not self.pending else None
        open_amount = self.pending.amount if self.pending and not self.processing else services.ZERO
        self.options = services.pay_options(invoice, clock.today(), open_amount)
        self.show_form = self.enabled and self.is_open and (self.is_client or self.preview) and self.options.room > 0
        self.error = None
        stashed = session.get(ERROR_KEY)
        if stashed and stashed.get("invoice_id") == invoice.id and self.is_client:
            self.error = session.pop(ERROR_KEY)
        choice = (self.error or {}).get("choice") or services.DUE
        if choice == services.DUE and self.options.due <= 0:
            choice = services.FULL
        self.form = CheckoutForm(
            formdata=None,
            data={
                "invoice_id": invoice.id,
                "choice": choice,
                "amount": (self.error or {}).get("amount", ""),
            },
        )
        self.cancel_form = CancelCheckoutForm(formdata=None, data={"invoice_id": invoice.id})
        self.due_description = self.options.due_label
        # Shown to the invoice's client (and to an owner previewing the portal), when there is
        # something to pay, to wait for, or to report back on.
        self.visible = (
            self.enabled and (self.is_client or self.preview) and bool(self.is_open or self.pending or self.notice)
        )

    def _recent_card_payment(self):
        """A card payment recorded on this (the viewer's own) invoice in the last hour."""
        return services.recent_card_payment(self.invoice.id, clock.utcnow() - dt.timedelta(hours=1))

    def money(self, amount) -> str:
        return format_money(amount, self.currency)

    def error_for(self, field: str) -> str | None:
        if self.error and self.error.get("field") == field:
            return self.error.get("message")
        return None

    @property
    def general_error(self) -> str | None:
        if self.error and self.error.get("field") not in ("amount",):
            return self.error.get("message")
        return None


def online_payment(invoice) -> OnlinePayment | None:
    """For the portal invoice page (``pay`` in payments/_pay_online.html): None when online
    payment is off (nothing is shown)."""
    if invoice is None or chosen_provider_name() is None:
        return None
    return OnlinePayment(invoice)


@bp.after_app_request
def allow_stub_checkout_page(response):
    """The pages' CSP lets forms lead only to this site and the providers' hosted pages (ais.web);
    with STRIPE_API_BASE or PAYMONGO_API_BASE pointing at a local stand-in (tests, the demo), the
    chosen provider's stand-in page is allowed too."""
    name = chosen_provider_name()
    base = current_app.config.get(f"{name.upper()}_API_BASE") or "" if name else ""
    policy = response.headers.get("Content-Security-Policy", "")
    if base and "form-action " in policy:
        parts = urlsplit(base)
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            response.headers["Content-Security-Policy"] = policy.replace("form-action ", f"form-action {origin} ", 1)
    return response


# --- Command ----------------------------------------------------------------------------------------------


@bp.cli.command("release-stale")
def release_stale_command():
    """Release the room held by open card payments well past their expiry."""
    count = services.release_stale_checkouts(online_provider())
    click.echo(f"Released stale checkouts on {count} invoice(s).")
