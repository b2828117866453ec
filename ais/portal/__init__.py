from flask import Blueprint

from ..collections import client_bp as collections_bp
from ..payments import checkout_bp

bp = Blueprint("portal", __name__, template_folder="templates")
# Paying online is a client's act on their own invoice: under the portal's scope hook.
bp.register_blueprint(checkout_bp)
bp.register_blueprint(collections_bp)

from . import views  # noqa: E402,F401
