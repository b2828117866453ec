"""The accounting: the ledger's command and the owner's reports (docs/ACCOUNTING.md).

The ledger itself (posting rules, checks) lives in ais.billing; this package holds its pages and
the ``ledger`` command.  ``owner_bp`` is nested in the back office (owners only, checked by its
hook); ``bp`` holds the templates.
"""

from flask import Blueprint

bp = Blueprint("accounting", __name__, template_folder="templates")
owner_bp = Blueprint("accounting", __name__)

from . import chart_views, periods, reports, views  # noqa: E402,F401  (the routes register themselves on the blueprints above)
