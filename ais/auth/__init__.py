from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from . import views  # noqa: E402,F401
from .sessions import load_user_early  # noqa: E402

bp.before_app_request(load_user_early)
