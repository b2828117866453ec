from flask import Blueprint

from ..accounting import owner_bp as accounting_bp
from ..collections import owner_bp as collections_bp
from ..payments import overpayments_bp

bp = Blueprint("backoffice", __name__, template_folder="templates")
# Settling flagged online money is the owner's: under the back office's owners-only hook.
bp.register_blueprint(overpayments_bp)
bp.register_blueprint(collections_bp)
bp.register_blueprint(accounting_bp)

from . import audit, emails, views  # noqa: E402,F401
