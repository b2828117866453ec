"""Collections: reminders per installment, the aging report, statements of account.

The domain parts live in ais.billing (``reminders``, ``aging``); this package holds their pages,
forms, templates and the ``reminders`` command.  Its routes are split by audience, as in
ais.payments, so that each is checked by the hook of its area: ``owner_bp`` is nested in the back
office (owners only) and ``client_bp`` in the portal (a client's own books, or an owner's
read-only preview); ``calendar_bp`` stands apart (the client's calendar feed, public at a secret
address).  ``bp`` holds the templates.
"""

from flask import Blueprint

bp = Blueprint("collections", __name__, template_folder="templates")
owner_bp = Blueprint("collections", __name__)
client_bp = Blueprint("collections", __name__)
calendar_bp = Blueprint("calendar", __name__)

from . import views  # noqa: E402,F401  (the routes register themselves on the blueprints above)
