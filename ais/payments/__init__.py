"""Online payment: a client pays an invoice on a provider's hosted page (Stripe Checkout, or
PayMongo Checkout for GCash, Maya, QR Ph, cards, ...); a signed webhook records it.

See docs/PAYMENTS.md.  ``providers`` is the small interface (manual transfer, Stripe, PayMongo),
``configured`` which one the settings choose, ``services`` changes the books through
ais.billing.services' public functions, ``views`` are thin.

The routes are split by audience, so that each is checked by the hook of its area:
``checkout_bp`` is nested in the portal (a client's own invoices), ``overpayments_bp`` in the
back office (owners only, with the online-payment settings page), and ``webhooks_bp`` stands
apart (public, signed events).  ``bp``
holds the templates, the script and the command.
"""

from flask import Blueprint

bp = Blueprint(
    "payments", __name__, template_folder="templates", static_folder="static", static_url_path="/payments-static"
)
checkout_bp = Blueprint("checkout", __name__)
overpayments_bp = Blueprint("overpayments", __name__)
webhooks_bp = Blueprint("webhooks", __name__)

from . import views  # noqa: E402,F401  (the routes register themselves on the blueprints above)
