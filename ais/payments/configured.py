"""Which online provider the settings choose.

* ``PAYMENTS_PROVIDER`` = ``stripe``, ``paymongo`` or ``manual`` names it; that provider's two
  keys must then be set (``manual``: online payment off).
* Left empty, the provider whose two keys are both set is used; none set: online payment is off
  and clients report their payments by hand.
* Refused at start-up (``ConfigError``): both providers fully set with no ``PAYMENTS_PROVIDER``,
  one key of a provider without the other, a named provider without its keys, or an unknown name.
  At run time the same rules fail closed: anything unclear means no online payment.

New payments start with the chosen provider only.  The webhook of *any* provider whose two keys
are set keeps working, so that a payment started before a switch is still recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from ..config import ConfigError
from .paymongo_provider import PayMongoProvider, method_names
from .providers import OnlineProvider, supports_currency
from .stripe_provider import StripeProvider

STRIPE, PAYMONGO, MANUAL = "stripe", "paymongo", "manual"
KEYS = {
    STRIPE: ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"),
    PAYMONGO: ("PAYMONGO_SECRET_KEY", "PAYMONGO_WEBHOOK_SECRET"),
}
LABELS = {STRIPE: "Stripe", PAYMONGO: "PayMongo"}
DEFAULT_PAYMONGO_METHODS = "gcash,paymaya,qrph,card"


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return config if config is not None else current_app.config


def provider_keys_set(name: str, config: Mapping[str, Any] | None = None) -> bool:
    """Both keys of the provider are set (its webhook may be used)."""
    config = _config(config)
    return all(bool(config.get(key)) for key in KEYS[name])


def settings_problem(config: Mapping[str, Any]) -> str | None:
    """Why the payment settings are unusable, or None."""
    for name, keys in KEYS.items():
        given = [key for key in keys if config.get(key)]
        if given and len(given) < len(keys):
            missing = next(key for key in keys if not config.get(key))
            return f"{given[0]} is set but {missing} is not: set both (or neither) to use {LABELS[name]}"
    chosen = str(config.get("PAYMENTS_PROVIDER") or "").strip().lower()
    if chosen:
        if chosen == MANUAL:
            return None
        if chosen not in KEYS:
            return f"PAYMENTS_PROVIDER must be stripe, paymongo or manual, not {chosen!r}"
        if not provider_keys_set(chosen, config):
            return f"PAYMENTS_PROVIDER is {chosen} but {' and '.join(KEYS[chosen])} are not set"
    elif all(provider_keys_set(name, config) for name in KEYS):
        return "both Stripe and PayMongo keys are set: choose one with PAYMENTS_PROVIDER"
    if provider_keys_set(PAYMONGO, config) and not paymongo_methods(config):
        return "PAYMONGO_METHODS is empty: name the methods PayMongo's page offers (e.g. gcash,paymaya,qrph,card)"
    return None


def check_settings(config: Mapping[str, Any]) -> None:
    """At start-up: refuse settings that leave the provider unclear (see the module's text)."""
    problem = settings_problem(config)
    if problem:
        raise ConfigError(problem)


def chosen_provider_name(config: Mapping[str, Any] | None = None) -> str | None:
    """The provider new online payments start with; None when online payment is off."""
    config = _config(config)
    if settings_problem(config):
        return None
    chosen = str(config.get("PAYMENTS_PROVIDER") or "").strip().lower()
    if chosen:
        return None if chosen == MANUAL else chosen
    return next((name for name in KEYS if provider_keys_set(name, config)), None)


def stripe_configured(config=None) -> bool:
    return chosen_provider_name(config) == STRIPE


def paymongo_methods(config: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """PAYMONGO_METHODS as a tuple of PayMongo's method codes (gcash, paymaya, qrph, card, ...)."""
    value = _config(config).get("PAYMONGO_METHODS")
    text = DEFAULT_PAYMONGO_METHODS if value is None else str(value)
    return tuple(dict.fromkeys(code.strip().lower() for code in text.split(",") if code.strip()))


def provider_named(name: str) -> OnlineProvider | None:
    """The provider ``name`` when its keys are set (for its webhook), else None."""
    config = current_app.config
    if name not in KEYS or not provider_keys_set(name, config) or settings_problem(config):
        return None
    settings: tuple
    if name == STRIPE:
        settings = (
            name,
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_WEBHOOK_SECRET"],
            config.get("STRIPE_API_BASE") or "",
        )
    else:
        settings = (
            name,
            config["PAYMONGO_SECRET_KEY"],
            config["PAYMONGO_WEBHOOK_SECRET"],
            config.get("PAYMONGO_API_BASE") or "",
            paymongo_methods(config),
        )
    cache = current_app.extensions.setdefault("ais_payments", {})
    provider = cache.get(settings)
    if provider is None:
        for key in [key for key in cache if key[0] == name]:
            del cache[key]
        provider = StripeProvider(*settings[1:]) if name == STRIPE else PayMongoProvider(*settings[1:])
        cache[settings] = provider
    return provider


def online_provider() -> OnlineProvider | None:
    """The provider new online payments start with, or None when online payment is off."""
    name = chosen_provider_name()
    return provider_named(name) if name else None


def online_payment_enabled(currency: str | None = None) -> bool:
    """True when clients may pay online (a provider chosen, and the currency has cents)."""
    if chosen_provider_name() is None:
        return False
    return supports_currency(currency or current_app.config["AIS_CURRENCY"])


def online_payment_summary() -> dict:
    """What the owner's settings page shows: the provider, its mode and the methods offered."""
    name = chosen_provider_name()
    problem = settings_problem(current_app.config)
    if name is None:
        return {"provider": None, "label": "", "mode": "", "methods": [], "problem": problem}
    secret = str(current_app.config[KEYS[name][0]])
    mode = "live" if "_live_" in secret else "test"
    methods = method_names(paymongo_methods()) if name == PAYMONGO else ["Card"]
    return {"provider": name, "label": LABELS[name], "mode": mode, "methods": methods, "problem": None}
