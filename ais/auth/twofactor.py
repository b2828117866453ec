"""Two-factor sign-in for owners: TOTP (RFC 6238, any authenticator app) and recovery codes.

Enrolment: ``start_enrolment`` keeps a new secret on the user (not yet enabled) and the owner
scans it; ``confirm_enrolment`` checks a code from the app, enables 2FA and returns ten
one-time recovery codes (only their sha256 is stored: each has ~79 random bits).  A TOTP code
is accepted once (replays within its window are refused) and ±1 time step for clock drift.
The TOTP key is stored sealed (``ais.auth.sealing``): the database alone cannot compute codes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
import secrets

import pyotp
import segno
from pyotp.utils import strings_equal
from sqlalchemy import delete, select, update

from .. import audit
from ..audit import Actor
from ..clock import utcnow
from ..database import execute_dml, write_transaction
from ..extensions import db
from ..models import RecoveryCode, Setting, User
from . import sealing, throttle

log = logging.getLogger("ais.auth")

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_CODE_LENGTH = 16
TOTP_CODE = re.compile(r"^\d{6}$")


class TwoFactorError(ValueError):
    """The code was wrong, or 2FA is not in the state the action needs."""


def new_secret() -> str:
    return pyotp.random_base32()


def totp_secret(user: User) -> str | None:
    """The user's TOTP key, unsealed; None when there is none or no configured key opens it."""
    if not user.totp_secret_sealed:
        return None
    try:
        return sealing.unseal(user.totp_secret_sealed)
    except sealing.UnreadableSecret:
        # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS: codes cannot be checked
        # (recovery codes still work, and 2FA can then be turned off and set up again).
        log.error("user %s: the two-factor key cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS", user.id)
        return None


def provisioning_uri(user: User, issuer: str) -> str:
    secret = totp_secret(user)
    if secret is None:
        raise TwoFactorError("Start again: there is no pending two-factor setup.")
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a base64 data: URI (the CSP allows img data:, and no script is needed)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def normalise_code(code: str) -> str:
    return re.sub(r"[^0-9a-z]", "", (code or "").strip().lower())


def recovery_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode("ascii", "ignore")).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def _replace_recovery_codes(user_id: int) -> list[str]:
    """New codes in the caller's transaction; the old ones stop working."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user_id, code_hash=recovery_hash(code)) for code in codes)
    return codes


def verify_totp(secret: str | None, code: str, user_id: int) -> bool:
    """A current 6-digit code for ``secret``, not used before."""
    code = (code or "").strip().replace(" ", "")
    if not secret or not TOTP_CODE.match(code):
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        timecode = totp.timecode(now) + offset
        if strings_equal(code, totp.generate_otp(timecode)):
            # Seen once per user and time step: a code watched over a shoulder cannot be replayed.
            return throttle.first_use("totp-used", f"{user_id}:{timecode}", totp.interval * 4)
    return False


def use_recovery_code(user_id: int, code: str) -> bool:
    """Spend one unused recovery code (caller's transaction).  True if it was valid."""
    if len(normalise_code(code)) != RECOVERY_CODE_LENGTH:
        return False
    used = execute_dml(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return used == 1


def check_second_factor(actor: Actor, user_id: int, code: str) -> str | None:
    """Sign-in's second step: "totp" or "recovery" if the code is good, else None.  Commits."""
    user = db.session.get(User, user_id)
    if user is None or not user.totp_enabled:
        return None
    if verify_totp(totp_secret(user), code, user.id):
        return "totp"
    with write_transaction():
        if use_recovery_code(user_id, code):
            remaining = remaining_recovery_codes(user_id)
            audit.record(actor, "auth.recovery_code_used", detail=f"{remaining} recovery codes left")
            return "recovery"
    return None


def remaining_recovery_codes(user_id: int) -> int:
    rows = db.session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ).all()
    return len(rows)


def start_enrolment(user_id: int) -> str:
    """Give the user a new secret to scan (2FA stays off until confirmed).  Commits."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None:
            raise TwoFactorError("No such user.")
        if user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is already on.")
        secret = totp_secret(user)
        if not secret:
            secret = new_secret()
            user.totp_secret_sealed = sealing.seal(secret)
        return secret


def confirm_enrolment(actor: Actor, user_id: int, code: str) -> list[str]:
    """Turn 2FA on if ``code`` matches the pending secret; returns the recovery codes.  Commits."""
    user = db.session.get(User, user_id)
    if user is None or user.totp_enabled or not user.totp_secret_sealed:
        raise TwoFactorError("Start again: there is no pending two-factor setup.")
    if not verify_totp(totp_secret(user), code, user.id):
        raise TwoFactorError("That code is not right. Check the time on your phone and try the newest code.")
    with write_transaction():
        user = db.session.get_one(User, user_id)
        user.totp_enabled = True
        codes = _replace_recovery_codes(user_id)
        audit.record(actor, "auth.2fa_enabled")
    return codes


def _code_ok(user: User, code: str) -> bool:
    """A TOTP code or a recovery code (spent if used), in the caller's transaction."""
    return verify_totp(totp_secret(user), code, user.id) or use_recovery_code(user.id, code)


def disable(actor: Actor, user_id: int, code: str) -> None:
    """Turn 2FA off; needs a current code or a recovery code.  Commits."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None or not user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is not on.")
        if not _code_ok(user, code):
            raise TwoFactorError("That code is not right.")
        user.totp_enabled = False
        user.totp_secret_sealed = None
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        audit.record(actor, "auth.2fa_disabled")


def regenerate_recovery_codes(actor: Actor, user_id: int, code: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs a current code.  Commits."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None or not user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is not on.")
        if not verify_totp(totp_secret(user), code, user.id):
            raise TwoFactorError("That code is not right.")
        codes = _replace_recovery_codes(user_id)
        audit.record(actor, "auth.recovery_codes_replaced")
    return codes


REQUIRE_OWNER_2FA = "require_owner_2fa"


def owner_2fa_required() -> bool:
    """Two-factor sign-in is required of every owner: by an owner's choice here, or by AIS_REQUIRE_OWNER_2FA."""
    from flask import current_app, g

    if current_app.config.get("AIS_REQUIRE_OWNER_2FA"):
        return True
    if "ais_owner_2fa_setting" in g:  # read with the session check, in the same statement
        return g.ais_owner_2fa_setting == "true"
    return db.session.scalar(select(Setting.value).where(Setting.key == REQUIRE_OWNER_2FA)) == "true"


def set_owner_2fa_required(actor: Actor, user_id: int, required: bool) -> None:
    """An owner requires (or stops requiring) two-factor sign-in of all owners.  Only an owner who
    uses it may turn the rule on, so nobody locks themselves out by accident."""
    from flask import g

    g.pop("ais_owner_2fa_setting", None)  # what the session check read is stale from here on
    with write_transaction():
        user = db.session.get(User, user_id)
        if required and not (user and user.totp_enabled):
            raise TwoFactorError("Turn on two-factor sign-in for yourself first.")
        setting = db.session.get(Setting, REQUIRE_OWNER_2FA)
        if setting is None:
            setting = Setting(key=REQUIRE_OWNER_2FA)
            db.session.add(setting)
        setting.value = "true" if required else "false"
        setting.updated_at = utcnow()
        setting.updated_by_id = user_id
        audit.record(actor, "2fa.required_for_owners" if required else "2fa.optional_for_owners")


def reseal_secrets(actor: Actor) -> tuple[int, list[int]]:
    """Re-encrypt every stored TOTP key with SECRET_KEY (after a rotation; the old key is still in
    SECRET_KEY_FALLBACKS).  Returns (how many were re-encrypted, ids of users whose key no
    configured key opens, which are left as they are).  Commits."""
    resealed, unreadable = 0, []
    with write_transaction():
        users = db.session.scalars(
            select(User).where(User.totp_secret_sealed.is_not(None)).order_by(User.id).with_for_update()
        ).all()
        for user in users:
            sealed = user.totp_secret_sealed
            if sealed is None or sealing.sealed_with_current_key(sealed):  # (None: not selected)
                continue
            try:
                user.totp_secret_sealed = sealing.reseal(sealed)
            except sealing.UnreadableSecret:
                unreadable.append(user.id)
                continue
            resealed += 1
        if resealed:
            audit.record(actor, "auth.2fa_keys_resealed", detail=f"{resealed} two-factor keys re-encrypted")
    return resealed, unreadable
