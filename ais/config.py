"""Settings, read from the environment in one place.

Every Flask setting can also be given as ``FLASK_<NAME>`` (``app.config.from_prefixed_env()``),
e.g. ``FLASK_SESSION_COOKIE_SECURE=false`` for plain-HTTP localhost.
"""

from __future__ import annotations

import math
import os
import re
from datetime import timedelta

# Keys that must never protect a real deployment: the development default and the ones
# that appear in documentation.
KNOWN_WEAK_SECRET_KEYS = {
    "dev",
    "dev-only-not-secret",
    "change-me",
    "changeme",
    "secret",
    "secret-key",
}
DEV_SECRET_KEY = "dev-only-not-secret"
# What a production key must carry by the estimate below, which undercounts random keys
# (secrets.token_hex(16), 128 random bits, scores 90 to 125; token_urlsafe(48) about 330) and
# gives a word, a date, a repeated pattern or one letter repeated far less.
MIN_SECRET_KEY_BITS = 80


def estimated_bits(key: str) -> float:
    """A conservative estimate of the randomness in ``key``, in bits: the characters' own
    (Shannon) entropy times the number of symbols left once every repeat of an earlier stretch
    is counted as one symbol (a greedy LZ77 parse).  So neither a long key of few characters
    ("aaaa…") nor one that repeats a pattern ("0123456789" five times) passes on its length."""
    if not key:
        return 0.0
    counts: dict[str, int] = {}
    for character in key:
        counts[character] = counts.get(character, 0) + 1
    length = len(key)
    per_character = -sum(n / length * math.log2(n / length) for n in counts.values())
    return per_character * _symbols_after_repeats(key)


def _symbols_after_repeats(key: str, shortest_repeat: int = 3) -> int:
    symbols = position = 0
    while position < len(key):
        size = shortest_repeat
        # An earlier occurrence (it may overlap this one, as in LZ77) of the next `size` characters?
        while position + size <= len(key) and key.find(key[position : position + size], 0, position + size - 1) != -1:
            size += 1
        size -= 1
        position += size if size >= shortest_repeat else 1
        symbols += 1
    return symbols


def secret_key_problem(key: object) -> str | None:
    """Why ``key`` cannot protect a deployment, or None if it can."""
    if not isinstance(key, str) or not key:
        return "is not set"
    if key.strip().lower() in KNOWN_WEAK_SECRET_KEYS:
        return "is a known example value"
    if estimated_bits(key) < MIN_SECRET_KEY_BITS:
        return f"is too predictable (about {estimated_bits(key):.0f} random bits, {MIN_SECRET_KEY_BITS} needed)"
    return None


def fallback_keys(value: object) -> list[str]:
    """SECRET_KEY_FALLBACKS as a list, whether given as a list or as a space/comma-separated string."""
    if isinstance(value, str):
        return [key for key in re.split(r"[\s,]+", value) if key]
    return [str(key) for key in value] if isinstance(value, (list, tuple)) else []


def worker_count() -> int:
    """How many processes serve the app: WEB_CONCURRENCY, which gunicorn.conf.py sets to
    gunicorn's own worker count (however -w, GUNICORN_CMD_ARGS or the file chose it) before the
    workers start."""
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else 1


def check_owner_email(config) -> None:
    """AIS_OWNER_EMAIL (where owner notices go), if set, is one address: never a list the outbox
    would refuse to send to, message after message."""
    from .emails import is_one_recipient

    address = str(config.get("AIS_OWNER_EMAIL") or "").strip()
    if address and not is_one_recipient(address):
        raise ConfigError("AIS_OWNER_EMAIL must be one email address, like owner@example.com")
    config["AIS_OWNER_EMAIL"] = address


def check_production(config) -> None:
    """Refuse to start in production on settings that would undo the app's protections.

    Run once, after every source of settings has been read (the environment, FLASK_<NAME>
    variables, a test's overrides), so no variable can slip a weak key in after the check."""
    if config.get("AIS_ENV") != "production":
        return
    problem = secret_key_problem(config.get("SECRET_KEY"))
    if problem or config.get("SECRET_KEY") == DEV_SECRET_KEY:
        raise ConfigError(
            f"SECRET_KEY {problem or 'is the development key'}; "
            "set it to e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    fallbacks = fallback_keys(config.get("SECRET_KEY_FALLBACKS"))
    config["SECRET_KEY_FALLBACKS"] = fallbacks
    for position, key in enumerate(fallbacks, start=1):
        # A cookie signed with any fallback is accepted: a weak one is as bad as a weak key.
        problem = secret_key_problem(key)
        if problem or key == DEV_SECRET_KEY:
            raise ConfigError(f"SECRET_KEY_FALLBACKS entry {position} {problem or 'is the development key'}")
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    workers = worker_count()
    if storage.startswith("memory://") and workers > 1:
        # Each process would keep its own counters: the sign-in throttle and the TOTP one-time
        # guard would be per process, and a code could be replayed against another worker.
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI is memory:// with {workers} workers; "
            "use a shared store such as redis://127.0.0.1:6379/0"
        )


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class ConfigError(RuntimeError):
    """The environment does not describe a safe configuration; the app refuses to start."""


def engine_options(database_url: str) -> dict:
    """Connection pool settings; on PostgreSQL, planner costs for a database that lives in memory
    or on SSD.  PostgreSQL's default random_page_cost (4.0) assumes spinning disks and makes it
    scan a whole small table rather than probe an index 20 times for one client's rows;
    1.1 is the usual setting for SSD.  Sent in the connection's startup packet: no extra statement."""
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        raw = os.environ.get("AIS_PG_RANDOM_PAGE_COST", "1.1")
        try:
            cost = float(raw)  # a planner weight, not money
        except ValueError:
            raise ConfigError(f"AIS_PG_RANDOM_PAGE_COST must be a number, not {raw!r}") from None
        if not 0 < cost < 1000:
            raise ConfigError(f"AIS_PG_RANDOM_PAGE_COST must be between 0 and 1000, not {raw!r}")
        options["connect_args"] = {"options": f"-c random_page_cost={cost}"}
    return options


def load_settings(instance_path: str) -> dict:
    """Return the app's settings from the environment, with safe defaults."""
    ais_env = os.environ.get("AIS_ENV", "development").strip().lower()
    if ais_env not in {"development", "production"}:
        raise ConfigError(f"AIS_ENV must be 'development' or 'production', not {ais_env!r}")

    # Checked (in production) by check_production once every source of settings has been read.
    secret_key = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY

    database_url = os.environ.get("DATABASE_URL") or ("sqlite:///" + os.path.join(instance_path, "ais.sqlite3"))
    # Heroku-style URLs name the old driver; we use psycopg 3.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    redis_url = os.environ.get("REDIS_URL", "")
    return {
        "AIS_ENV": ais_env,
        "SECRET_KEY": secret_key,
        # Earlier keys, still accepted while a rotation is under way (Flask's own setting; the
        # sealed TOTP keys open with them too).  Space- or comma-separated.
        "SECRET_KEY_FALLBACKS": fallback_keys(os.environ.get("SECRET_KEY_FALLBACKS", "")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        # Business settings: one currency and one business time zone per installation.
        "AIS_CURRENCY": os.environ.get("AIS_CURRENCY", "PHP"),
        "AIS_TIMEZONE": os.environ.get("AIS_TIMEZONE", "Asia/Manila"),
        "AIS_LOCALE": os.environ.get("AIS_LOCALE", "en_PH"),
        "AIS_BUSINESS_NAME": os.environ.get("AIS_BUSINESS_NAME", "AIS Demo Trading"),
        # Sessions: cookie flags, and server-side expiry (checked against the session table).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env_flag("SESSION_COOKIE_SECURE", True),
        "SESSION_COOKIE_NAME": "ais_session",
        "AIS_IDLE_TIMEOUT_OWNER": timedelta(minutes=env_int("AIS_IDLE_TIMEOUT_OWNER_MINUTES", 30)),
        "AIS_IDLE_TIMEOUT_CLIENT": timedelta(minutes=env_int("AIS_IDLE_TIMEOUT_CLIENT_MINUTES", 60)),
        "AIS_SESSION_LIFETIME": timedelta(hours=env_int("AIS_SESSION_LIFETIME_HOURS", 12)),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=env_int("AIS_SESSION_LIFETIME_HOURS", 12)),
        # Throttling
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        # Redis unreachable: count in this process's memory (ais.auth.throttle), never a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "REDIS_URL": redis_url,
        "FORCE_HTTPS": env_flag("FORCE_HTTPS", False),
        "PROXY_COUNT": env_int("PROXY_COUNT", 0),
        # Email (outbox delivery)
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": env_int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": env_flag("MAIL_USE_TLS", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "AIS <billing@localhost>"),
        "MAIL_TIMEOUT": env_int("MAIL_TIMEOUT", 30),  # seconds per SMTP socket operation
        "AIS_OUTBOX_BATCH_SECONDS": env_int("AIS_OUTBOX_BATCH_SECONDS", 60),
        "AIS_OUTBOX_RETENTION_DAYS": env_int("AIS_OUTBOX_RETENTION_DAYS", 30),
        "AIS_OUTBOX_READY_BACKLOG": env_int("AIS_OUTBOX_READY_BACKLOG", 1000),  # /readyz
        # Where owner notices (reported payments, overpayments) go; see ais.billing.notices.
        "AIS_OWNER_EMAIL": os.environ.get("AIS_OWNER_EMAIL", ""),
        "AIS_BASE_URL": os.environ.get("AIS_BASE_URL", "http://127.0.0.1:5000"),
        # Online payment (docs/PAYMENTS.md): PAYMENTS_PROVIDER names it (stripe, paymongo or
        # manual); left empty, the provider whose two keys are set is used (ais.payments.configured).
        "PAYMENTS_PROVIDER": os.environ.get("PAYMENTS_PROVIDER", "").strip().lower(),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "PAYMONGO_SECRET_KEY": os.environ.get("PAYMONGO_SECRET_KEY", ""),
        "PAYMONGO_WEBHOOK_SECRET": os.environ.get("PAYMONGO_WEBHOOK_SECRET", ""),
        "PAYMONGO_API_BASE": os.environ.get("PAYMONGO_API_BASE", ""),
        # The methods PayMongo's page offers (its payment_method_types), comma-separated.
        "PAYMONGO_METHODS": os.environ.get("PAYMONGO_METHODS", "gcash,paymaya,qrph,card"),
        # Request size: a larger body is refused with 413 before anything reads it (ais.web); no
        # form of the app comes near (an invoice of 100 lines is a few KiB).  A single form field
        # above 16 KiB is refused too, so no page can be made to parse, store or echo a huge value.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # The forms that carry a file (reporting a payment with its proof, up to 5 MB; the payment
        # QR code; the logo) accept a body up to 6 MiB (ais.web.UPLOAD_ENDPOINTS); no other route
        # does.  Werkzeug buffers a file's 64 KiB chunks against MAX_FORM_MEMORY_SIZE, so those
        # routes raise it to 128 KiB (their text fields keep their own, smaller limits).
        "MAX_UPLOAD_CONTENT_LENGTH": 6 * 1024 * 1024,
        "MAX_UPLOAD_FORM_MEMORY_SIZE": 128 * 1024,
        "MAX_FORM_MEMORY_SIZE": 16 * 1024,
        "MAX_FORM_PARTS": 1000,
        # Forms
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Logs (ais.logs): JSON lines in production, plain text in development; to stderr.
        "AIS_LOG_FORMAT": os.environ.get("AIS_LOG_FORMAT") or ("json" if ais_env == "production" else "text"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }
