"""The demo business: a complete, VAT-registered profile whose prices include VAT."""

from __future__ import annotations

from decimal import Decimal

from ..billing.services import ProfileInput

DEMO_PROFILE = ProfileInput(
    registered_name="Demo Furnishings Trading Corp.",
    trade_name="Demo Furnishings",
    tin="008-123-456-00000",
    address="12 Jupiter Street, Bel-Air, Makati City 1209, Metro Manila",
    vat_registered=True,
    vat_rate=Decimal("12.00"),
    prices_include_vat=True,  # as shop prices in the Philippines are
    footer="Acknowledgement Certificate No. DEMO-0001, issued 2026-01-05\n"
    "Series INV-2026-0001 to INV-2026-9999\nSoftware provider: AIS (demo)",
)
