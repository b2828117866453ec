"""What every page shares: formatting filters, security headers, error pages, request logging."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, abort, flash, g, has_request_context, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import clock, health
from .audit import audit_label
from .formatting import (
    currency_symbol,
    describe_device,
    format_day,
    format_moment,
    format_money,
    format_unit_price,
    plain_number,
)
from .pagination import PastLastPage

request_log = logging.getLogger("ais.request")

# Files that are the same for everyone (they carry their own Cache-Control from send_file).
STATIC_ENDPOINTS = {"static", "bootstrap.static", "payments.static"}

# Endpoints whose URL carries a secret (single-use account links): logged by rule, not by path.
SECRET_PATH_ENDPOINTS = {"auth.invite", "auth.reset_password"}


# Content-Security-Policy: no inline scripts or styles from anywhere, nothing from other sites.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self' https://checkout.stripe.com https://checkout.paymongo.com",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


# The forms that carry a file (a proof of payment, the payment QR code, the logo): held to
# MAX_UPLOAD_CONTENT_LENGTH and MAX_UPLOAD_FORM_MEMORY_SIZE rather than the small limits.
UPLOAD_ENDPOINTS = frozenset(
    {"portal.payment_add", "portal.payment_proof_add", "backoffice.payment_instructions", "backoffice.business_profile"}
)


# The links of the header (_navbar.html): the same URLs on every page, so built with url_for once
# per script root (the prefix the app is mounted at) rather than some 17 times per request.
NAV_ENDPOINTS = (
    "backoffice.index",
    "backoffice.dashboard",
    "backoffice.clients",
    "backoffice.invoices",
    "backoffice.payments",
    "backoffice.collections.aging_report",
    "backoffice.accounting.reports_index",
    "backoffice.audit",
    "portal.dashboard",
    "portal.invoices",
    "portal.payments",
    "portal.collections.statement",
    "auth.account",
    "auth.change_password",
    "auth.logout",
    "backoffice.business_profile",
    "backoffice.payment_instructions",
    "backoffice.overpayments.payment_settings",
    "backoffice.collections.reminder_settings",
    "backoffice.collections.statement_settings",
    "backoffice.collections.late_fee_settings",
    "backoffice.collections.proposals_list",
    "portal.collections.reminders_page",
    "portal.collections.calendar_page",
)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["device"] = describe_device
    app.jinja_env.filters["audit_label"] = audit_label
    app.jinja_env.filters["currency_symbol"] = currency_symbol
    app.jinja_env.filters["unit_price"] = format_unit_price
    app.jinja_env.filters["plain_number"] = plain_number

    @app.get("/healthz")
    def healthz():
        """200 when the database answers, 503 when it does not; no sign-in, no cookie."""
        from sqlalchemy import text

        from .extensions import db

        try:
            db.session.execute(text("SELECT 1"))  # the request's end closes the transaction
        except Exception:  # any failure to reach the database is "unhealthy"
            db.session.rollback()
            return {"status": "unavailable", "database": "down"}, 503
        return {"status": "ok", "database": "up"}, 200

    health.init_app(app)  # /readyz, and the 503 page when the database cannot serve

    nav_url_cache: dict[str | None, dict[str, str]] = {}

    def nav_urls() -> dict[str, str]:
        """The header's URLs by endpoint (url_for's own, cached per script root for this app)."""
        root = request.script_root if has_request_context() else None
        urls = nav_url_cache.get(root)
        if urls is None:
            urls = {endpoint: url_for(endpoint) for endpoint in NAV_ENDPOINTS if endpoint in app.view_functions}
            urls["static:css/app.css"] = url_for("static", filename="css/app.css")
            urls["static:js/app.js"] = url_for("static", filename="js/app.js")
            nav_url_cache[root] = urls
        return urls

    app.jinja_env.globals["nav_urls"] = nav_urls

    @app.context_processor
    def inject_globals():
        return {"today": clock.today(), "business_name": app.config["AIS_BUSINESS_NAME"]}

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()

    # --- HTTPS only (FORCE_HTTPS; behind a proxy, PROXY_COUNT makes X-Forwarded-Proto count) ---
    def force_https():
        if not app.config.get("FORCE_HTTPS") or request.is_secure or request.path in ("/healthz", "/readyz"):
            return None
        return redirect(
            request.url.replace("http://", "https://", 1), code=301 if request.method in ("GET", "HEAD") else 308
        )

    # First of all hooks: before CSRF checks or rate limits look at a plain-HTTP request.
    app.before_request_funcs.setdefault(None, []).insert(0, force_https)

    def refuse_large_bodies():
        """413 for a body above MAX_CONTENT_LENGTH, from its Content-Length, before any hook (the
        CSRF check, the session check) reads a byte of it.  A body sent without a length is cut
        at the same size by Werkzeug as it is read.

        Werkzeug applies MAX_FORM_MEMORY_SIZE and MAX_FORM_PARTS to multipart forms only; a
        url-encoded form (what browsers send) is held to the same limits here, once parsed."""
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if request.endpoint in UPLOAD_ENDPOINTS:
            # The only forms that carry a file may be larger (the file's own limit is checked by
            # its service); everything else keeps the small limit.
            limit = app.config.get("MAX_UPLOAD_CONTENT_LENGTH") or limit
            request.max_content_length = limit  # also cuts a body sent without a length
            # Werkzeug holds a file's chunks (64 KiB each) to this limit too, while it looks for
            # the next part: at 16 KiB any file larger than that would be a 413.  The text fields
            # are still held to their own limits by the forms (ais.forms.refuse_overlong_values).
            request.max_form_memory_size = app.config.get("MAX_UPLOAD_FORM_MEMORY_SIZE")
        if limit and (request.content_length or 0) > limit:
            abort(413)
        if request.mimetype == "application/x-www-form-urlencoded":
            form = request.form
            field_limit = app.config.get("MAX_FORM_MEMORY_SIZE") or limit
            parts_limit = app.config.get("MAX_FORM_PARTS")
            if parts_limit and sum(len(values) for values in form.listvalues()) > parts_limit:
                abort(413)
            if field_limit and any(len(value) > field_limit for values in form.listvalues() for value in values):
                abort(413)

    app.before_request_funcs[None].insert(1, refuse_large_bodies)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["FORCE_HTTPS"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint not in STATIC_ENDPOINTS:
            # Pages and JSON alike carry private financial data: never kept in any cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        try:
            user_id = current_user.get_id() if current_user and current_user.is_authenticated else "-"
        except Exception:  # the database is down: the user cannot be loaded, the line is still written
            user_id = "-"
        # Path only, never the query string: reset tokens and session ids stay out of logs.
        path = request.path
        if request.endpoint in SECRET_PATH_ENDPOINTS and request.url_rule is not None:
            path = request.url_rule.rule  # /invite/<token>: the link itself is a password
        # The message for people, the same facts as fields for machines (JSON logs: ais.logs).
        request_log.info(
            "%s %s %s %.1fms user=%s",
            request.method,
            path,
            response.status_code,
            duration_ms,
            user_id,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 1),
                "user_id": None if user_id == "-" else int(user_id),
            },
        )
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template(
            "error.html",
            code=400,
            title="This form has expired",
            message="Please go back, reload the page and try again.",
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        titles: dict[int | None, tuple[str, str | None]] = {
            403: ("You don't have access to this page", "If you think you should, ask the business that invited you."),
            404: ("Page not found", "The page you asked for doesn't exist, or isn't yours to see."),
            405: ("That action isn't allowed here", "Go back and try again from the page's own buttons."),
            413: (
                "That was too much to send",
                "The form or file was larger than this site accepts (a proof of payment may be up to "
                "5 MB, a QR code up to 1 MB). Nothing was saved.",
            ),
            429: ("Too many attempts", "For your security, please wait a little before trying again."),
        }
        title, message = titles.get(error.code, (error.name, error.description))
        return render_template("error.html", code=error.code, title=title, message=message), error.code

    @app.errorhandler(PastLastPage)
    def past_last_page(error: PastLastPage):
        # The same list with the same filters, on its last page.  Names starting with "_" are
        # url_for's own options (_external, _anchor...), never a list's filter.
        values: dict[str, Any] = {k: v for k, v in request.args.to_dict(flat=False).items() if not k.startswith("_")}
        values.update(request.view_args or {}, page=error.last_page)
        if request.endpoint is None:  # only a view pages a list; nothing else can send it back
            abort(404)
        flash(f"This list has no page {error.page:,}: here is page {error.last_page:,}, its last.", "info")
        return redirect(url_for(request.endpoint, **values))

    @app.errorhandler(500)
    def server_error(error):
        return health.render_server_error(  # needs nothing from the database
            500, "Something went wrong on our side", "Nothing was changed. Please try again in a moment."
        ), 500
