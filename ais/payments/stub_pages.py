"""The hosted checkout pages of the local payment provider stand-ins (``devstub``, ``paymongo_stub``).

The stand-ins are plain ``http.server`` processes, not Flask apps, so they render their page with a
Jinja environment of their own over the package's ``templates/stubs`` folder, autoescaping on as the
app's is.
"""

from __future__ import annotations

from decimal import Decimal

from jinja2 import Environment, PackageLoader, select_autoescape

_PAGES = Environment(loader=PackageLoader("ais.payments", "templates"), autoescape=select_autoescape())


def minor_units(amount: int) -> str:
    """An amount in minor units (centavos, cents) as the providers show it: ``12,345.60``."""
    return f"{Decimal(amount).scaleb(-2):,.2f}"


def checkout_page(template: str, **context) -> bytes:
    """The page ``stubs/<template>`` rendered with ``context``, as UTF-8."""
    return _PAGES.get_template(f"stubs/{template}").render(**context).encode()
