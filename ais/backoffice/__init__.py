from flask import Blueprint

bp = Blueprint("backoffice", __name__, template_folder="templates")

from . import views  # noqa: E402,F401
from . import audit  # noqa: E402,F401
from .actions import payment_actions  # noqa: E402

bp.add_app_template_global(payment_actions)
