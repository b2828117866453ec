from flask import Blueprint

bp = Blueprint("backoffice", __name__, template_folder="templates")

from . import views  # noqa: E402,F401
from . import audit  # noqa: E402,F401
