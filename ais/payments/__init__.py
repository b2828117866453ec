"""Online payment: a client pays an invoice by card on Stripe Checkout; a signed webhook records it.

See docs/PAYMENTS.md.  ``providers`` is the small interface (manual transfer or Stripe),
``services`` changes the books (through ais.billing.services' internals), ``views`` are thin.
"""
from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates", static_folder="static",
               static_url_path="/payments-static")

from . import views  # noqa: E402,F401
