"""Sign-in, sign-out, links from emails, and the signed-in user's own account pages.

Views are thin: the work is in ais.auth.sessions / accounts / tokens / twofactor / throttle.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db, limiter
from ..models import User
from . import accounts, bp, pending, sessions, throttle, tokens, twofactor
from .access import current_actor, is_safe_next
from .forms import (
    ChangePasswordForm,
    CodeForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    SecondFactorForm,
    SetPasswordForm,
)
from .passwords import verify_password

GENERIC_FAILURE = "Incorrect username or password."
FORGOT_ANSWER = "If an account exists for that email, we've sent a link."


# --- Helpers ----------------------------------------------------------------------------------


def home_for(user) -> str:
    """Where a user lands after signing in."""
    if user.is_owner:
        if not user.totp_enabled and twofactor.owner_2fa_required():
            return url_for("auth.twofactor_setup")
        return url_for("backoffice.dashboard")
    return url_for("portal.dashboard")


def after_sign_in(user, next_url: str | None):
    if user.is_owner and not user.totp_enabled and twofactor.owner_2fa_required():
        flash("Set up two-factor sign-in to continue.", "warning")
        return redirect(url_for("auth.twofactor_setup"))
    return redirect(next_url if is_safe_next(next_url) else home_for(user))


def safe_next_arg() -> str | None:
    target = request.args.get("next")
    return target if is_safe_next(target) else None


def signed_in_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


def owner_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        if not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def anonymous_actor() -> Actor:
    return Actor(user_id=None, label="anonymous", ip_address=request.remote_addr or "")


def record_failure(username: str, user_id: int | None, action: str, detail: str) -> None:
    """Count a failed attempt for throttling and audit it (and the wait it may impose)."""
    db.session.rollback()  # nothing half-done (e.g. a rehash) rides along
    waits = throttle.record_failure(username, user_id)
    with write_transaction():
        actor = anonymous_actor()
        audit.record(actor, action, detail=detail[:500])
        if waits:
            audit.record(actor, "auth.locked_out", detail=detail[:500])


def invalid_link():
    return render_template("auth/link_invalid.html"), 404


# --- Sign in / out ----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next_arg()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or home_for(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        username = form.username.data.strip()
        user = accounts.find_user(username)
        if throttle.sign_in_blocked(username, user.id if user is not None else None):
            abort(429)
        if verify_password(user, form.password.data) and user.is_enabled:
            accounts.keep_rehashed_password(user)
            if user.is_owner and user.totp_enabled:
                pending.forget()
                sessions.sign_out()  # whatever this browser had, it ends now
                pending.start(user.id, next_url)
                return redirect(url_for("auth.login_2fa"))
            sessions.sign_in(user, "password")
            return after_sign_in(user, next_url)
        known = "known account" if user is not None else "unknown account"
        record_failure(
            username,
            user.id if user is not None else None,
            "auth.sign_in_failed",
            f"username {username[:254]} ({known})",
        )
        error = GENERIC_FAILURE
    return render_template("auth/login.html", form=form, error=error, next_url=next_url)


@bp.route("/login/2fa", methods=["GET", "POST"])
def login_2fa():
    waiting = pending.current()
    user = db.session.get(User, waiting.user_id) if waiting is not None else None
    if user is None or not user.is_enabled or not user.totp_enabled:
        pending.forget()
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    error = None
    if form.validate_on_submit():
        if throttle.sign_in_blocked(user.username, user.id):
            abort(429)
        actor = Actor(user_id=user.id, label=user.username, ip_address=request.remote_addr or "")
        pending_id, next_url = waiting.id, waiting.next_url or None
        method = twofactor.check_second_factor(actor, user.id, form.code.data)
        if method:
            if not pending.complete(pending_id):  # another request finished (or ended) it first
                flash("Please sign in again.", "info")
                return redirect(url_for("auth.login"))
            sessions.sign_in(user, "password+" + method)
            if method == "recovery":
                left = twofactor.remaining_recovery_codes(user.id)
                flash(
                    f"You used a recovery code; {left} left. "
                    "Make new ones on your account page if you are running low.",
                    "warning",
                )
            return after_sign_in(user, next_url)
        record_failure(user.username, user.id, "auth.2fa_failed", f"username {user.username}")
        if pending.record_failure(pending_id):
            flash("Too many wrong codes. Please sign in again.", "error")
            return redirect(url_for("auth.login"))
        error = "That code is not right. Try the newest code from your app, or a recovery code."
    return render_template("auth/login_2fa.html", form=form, error=error)


@bp.post("/logout")
def logout():
    actor = current_actor() if current_user.is_authenticated else None
    sessions.sign_out(actor)
    flash("You have been signed out.", "success")
    return redirect(url_for("auth.login"))


# --- Links from emails ------------------------------------------------------------------------


def _set_password_page(token: str, purpose: str):
    info = tokens.check_link(token, purpose)
    if info is None:
        return invalid_link()
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user_id = tokens.use_link(anonymous_actor(), token, purpose, form.password.data)
        except tokens.PasswordRejected as error:
            form.password.errors = list(form.password.errors) + error.problems
        except LookupError:
            return invalid_link()
        else:
            user = db.session.get_one(User, user_id)
            if purpose == tokens.INVITATION:
                sessions.sign_in(user, "invitation")
                flash("Welcome! Your password is set and you are signed in.", "success")
                return after_sign_in(user, None)
            flash("Your password has been changed. Sign in with your new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, info=info, purpose=purpose)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    return _set_password_page(token, tokens.INVITATION)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password_page(token, tokens.RESET)


def _forgot_limit() -> str:
    return current_app.config.get("AIS_FORGOT_LIMIT_ADDRESS", "10/minute;50/hour")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_forgot_limit, methods=["POST"])
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        tokens.request_password_reset(anonymous_actor(), form.email.data)
        flash(FORGOT_ANSWER, "info")
        return redirect(url_for("auth.forgot"))
    return render_template("auth/forgot.html", form=form)


# --- The signed-in user's account -------------------------------------------------------------


@bp.get("/account")
@signed_in_required
def account():
    return render_template(
        "auth/account.html",
        sessions=sessions.open_sessions(current_user.id),
        this_session_id=sessions.current_session_id(),
        recovery_left=twofactor.remaining_recovery_codes(current_user.id) if current_user.totp_enabled else 0,
        form=EmptyForm(),
    )


@bp.post("/account/sessions/end-others")
@signed_in_required
def end_other_sessions():
    form = EmptyForm()
    if form.validate_on_submit():
        with write_transaction():
            ended = sessions.end_other_sessions(current_user.id, sessions.current_session_id())
            audit.record(current_actor(), "auth.sessions_ended", detail=f"{ended} other session(s) ended")
        flash("Your other sessions have been signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if throttle.sign_in_blocked(current_user.username, current_user.id):
            abort(429)
        try:
            accounts.change_password(
                current_actor(),
                current_user.id,
                form.current_password.data,
                form.new_password.data,
                keep_session_id=sessions.current_session_id(),
            )
        except accounts.AccountError as error:
            if error.field == "current_password":
                db.session.rollback()
                throttle.record_failure(current_user.username, current_user.id)
            field = getattr(form, error.field or "new_password")
            field.errors = list(field.errors) + error.problems
        else:
            flash("Your password has been changed. Your other devices have been signed out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


# --- Two-factor sign-in (owners) --------------------------------------------------------------


@bp.route("/account/2fa", methods=["GET", "POST"])
@owner_required
def twofactor_setup():
    user = current_user
    if user.totp_enabled:
        return render_template(
            "auth/twofactor_manage.html",
            disable_form=CodeForm(prefix="disable"),
            codes_form=CodeForm(prefix="codes"),
            recovery_left=twofactor.remaining_recovery_codes(user.id),
            require_form=EmptyForm(prefix="require"),
            required=twofactor.owner_2fa_required(),
            required_by_config=bool(current_app.config.get("AIS_REQUIRE_OWNER_2FA")),
        )
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = twofactor.confirm_enrolment(current_actor(), user.id, form.code.data)
        except twofactor.TwoFactorError as error:
            form.code.errors = list(form.code.errors) + [str(error)]
        else:
            flash("Two-factor sign-in is on.", "success")
            return render_template("auth/recovery_codes.html", codes=codes)
    secret = twofactor.start_enrolment(user.id)
    user = db.session.get(User, user.id)
    uri = twofactor.provisioning_uri(user, current_app.config["AIS_BUSINESS_NAME"])
    return render_template(
        "auth/twofactor_setup.html",
        form=form,
        secret=secret,
        qr=twofactor.qr_data_uri(uri),
        required=twofactor.owner_2fa_required(),
    )


@bp.post("/account/2fa/require")
@owner_required
def twofactor_require():
    """An owner requires two-factor sign-in of every owner (or lifts the rule)."""
    form = EmptyForm()
    if form.validate_on_submit():
        required = request.form.get("required") == "on"
        try:
            twofactor.set_owner_2fa_required(current_actor(), current_user.id, required)
        except twofactor.TwoFactorError as error:
            flash(str(error), "error")
        else:
            flash(
                "Every owner now needs two-factor sign-in."
                if required
                else "Two-factor sign-in is now each owner's choice.",
                "success",
            )
    return redirect(url_for("auth.twofactor_setup"))


@bp.post("/account/2fa/disable")
@owner_required
def twofactor_disable():
    if twofactor.owner_2fa_required():
        flash("Two-factor sign-in is required for owners here; it cannot be turned off.", "error")
        return redirect(url_for("auth.twofactor_setup"))
    form = CodeForm(prefix="disable")
    if form.validate_on_submit():
        try:
            twofactor.disable(current_actor(), current_user.id, form.code.data)
        except twofactor.TwoFactorError as error:
            flash(str(error), "error")
        else:
            flash("Two-factor sign-in is off.", "success")
            return redirect(url_for("auth.account"))
    else:
        flash("Enter a code to turn two-factor sign-in off.", "error")
    return redirect(url_for("auth.twofactor_setup"))


@bp.post("/account/2fa/recovery-codes")
@owner_required
def twofactor_recovery_codes():
    form = CodeForm(prefix="codes")
    if form.validate_on_submit():
        try:
            codes = twofactor.regenerate_recovery_codes(current_actor(), current_user.id, form.code.data)
        except twofactor.TwoFactorError as error:
            flash(str(error), "error")
        else:
            return render_template("auth/recovery_codes.html", codes=codes)
    else:
        flash("Enter a code from your app to make new recovery codes.", "error")
    return redirect(url_for("auth.twofactor_setup"))
