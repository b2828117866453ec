"""Production refuses to start on settings that would undo its protections, whichever variable set them."""

from __future__ import annotations

import runpy
import secrets
from pathlib import Path
from types import SimpleNamespace

import pytest

from ais import create_app
from ais.config import MIN_SECRET_KEY_BITS, ConfigError, estimated_bits

ROOT = Path(__file__).resolve().parents[2]
STRONG = "Z_63UBL12Vduq_iTJgrmH-aZb7tQGbmva_2Ve3PkDyOf6tyGCp3CM9Y8Y2uJ8juM"


@pytest.fixture
def production(monkeypatch, database_url):
    for name in (
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "FLASK_SECRET_KEY",
        "FLASK_SECRET_KEY_FALLBACKS",
        "RATELIMIT_STORAGE_URI",
        "WEB_CONCURRENCY",
        "GUNICORN_CMD_ARGS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIS_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", STRONG)
    return monkeypatch


@pytest.mark.parametrize(
    "key",
    [
        "a" * 36,
        "Q" * 200,
        "abc" * 40,
        "dev",
        "dev-only-not-secret",
        "Change-Me",
        "0123456789" * 5,
        "password-password-password-password",
    ],
)
def test_a_weak_or_known_secret_key_is_refused_whatever_its_length(production, key):
    production.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_flask_prefixed_secret_key_is_checked_after_it_is_applied(production):
    production.setenv("FLASK_SECRET_KEY", "dev")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


@pytest.mark.parametrize("variable", ["SECRET_KEY_FALLBACKS", "FLASK_SECRET_KEY_FALLBACKS"])
def test_a_weak_fallback_key_is_refused(production, variable):
    production.setenv(variable, f"{secrets.token_urlsafe(48)} dev-only-not-secret")
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS entry 2"):
        create_app()


def test_random_keys_and_fallbacks_start(production):
    production.setenv("FLASK_SECRET_KEY_FALLBACKS", f'["{secrets.token_hex(32)}", "{secrets.token_urlsafe(32)}"]')
    made = create_app()
    assert made.config["SECRET_KEY"] == STRONG and len(made.config["SECRET_KEY_FALLBACKS"]) == 2


@pytest.mark.parametrize("make", [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(32)])
def test_generated_keys_pass_the_estimate(make):
    assert min(estimated_bits(make()) for _ in range(500)) >= MIN_SECRET_KEY_BITS


def test_memory_rate_limits_are_refused_with_several_workers(production):
    production.setenv("WEB_CONCURRENCY", "2")
    with pytest.raises(ConfigError, match="memory://"):
        create_app()


def test_gunicorn_tells_the_app_its_worker_count_however_it_was_chosen(production):
    """gunicorn -w 4 (or GUNICORN_CMD_ARGS="-w 4") with WEB_CONCURRENCY=1 in the environment: the
    hook in gunicorn.conf.py sets WEB_CONCURRENCY to the real count before the workers load the app."""
    production.setenv("WEB_CONCURRENCY", "1")
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    hooks["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=4)))
    with pytest.raises(ConfigError, match="memory:// with 4 workers"):
        create_app()


def test_shared_rate_limit_storage_starts_with_several_workers(production):
    production.setenv("WEB_CONCURRENCY", "4")
    production.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/9")
    assert create_app().config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    production.setenv("WEB_CONCURRENCY", "1")
    production.delenv("RATELIMIT_STORAGE_URI")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "memory://"
