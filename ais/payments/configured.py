"""Which online provider the settings choose (Stripe when its keys are set; otherwise none, and
clients report their payments by hand)."""

from __future__ import annotations

from flask import current_app

from .providers import OnlineProvider, supports_currency
from .stripe_provider import StripeProvider


def stripe_configured(config=None) -> bool:
    config = config if config is not None else current_app.config
    return bool(config.get("STRIPE_SECRET_KEY")) and bool(config.get("STRIPE_WEBHOOK_SECRET"))


def online_provider() -> OnlineProvider | None:
    """The configured online provider, or None when online payment is off."""
    config = current_app.config
    if not stripe_configured(config):
        return None
    settings = (config["STRIPE_SECRET_KEY"], config["STRIPE_WEBHOOK_SECRET"], config.get("STRIPE_API_BASE") or "")
    cache = current_app.extensions.setdefault("ais_payments", {})
    provider = cache.get(settings)
    if provider is None:
        cache.clear()
        provider = cache[settings] = StripeProvider(*settings)
    return provider


def online_payment_enabled(currency: str | None = None) -> bool:
    """True when clients may pay online (Stripe configured, and the currency has cents)."""
    if not stripe_configured():
        return False
    return supports_currency(currency or current_app.config["AIS_CURRENCY"])
