"""What the layout (templates/base.html) writes on every page: the stylesheet and script tags,
the URLs of the navbar's links, and the navbar itself.

The tags and URLs are the same for every request of an app: built with ``url_for`` and
Bootstrap-Flask's ``load_css``/``load_js`` once per app and script root (the path the app is
mounted under, which a proxy may set per request), then reused.  The navbar is written in Python
(``navbar``): in Jinja its links, their states and the account menu were two thirds of the
layout's cost, on every page.  tests/unit/test_layout.py checks each against what it stands for
(the navbar against the template block it replaced, kept under tests/unit/reference/).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape


def _cache() -> dict:
    # On the app itself (not keyed by id(app)): tests make many apps, and an id can be reused.
    return current_app.extensions.setdefault("ais_layout", {})


def _cached(key: tuple, build):
    cache = _cache()
    key = (request.script_root, *key)
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = build()
        return value


def asset_url(filename: str) -> str:
    """``url_for('static', filename=filename)``, built once."""
    return _cached(("static", filename), lambda: url_for("static", filename=filename))


def page_url(endpoint: str) -> str:
    """``url_for(endpoint)`` for a page without arguments (the navbar's links), built once."""
    return _cached(("page", endpoint), lambda: url_for(endpoint))


def bootstrap_css() -> Markup:
    """Bootstrap's stylesheet tag (Bootstrap-Flask's ``load_css()``: served locally), built once."""
    return _cached(("bootstrap_css",), lambda: current_app.extensions["bootstrap"].load_css())


def bootstrap_js() -> Markup:
    """Bootstrap's script tags (Bootstrap-Flask's ``load_js()``), built once."""
    return _cached(("bootstrap_js",), lambda: current_app.extensions["bootstrap"].load_js())


# (endpoint, label, the path its pages start with); a link shows only if its area is installed.
OWNER_LINKS = (("backoffice.dashboard", "Dashboard", "/dashboard"), ("backoffice.clients", "Clients", "/clients"),
               ("backoffice.invoices", "Invoices", "/invoices"), ("backoffice.payments", "Payments", "/payments"),
               ("backoffice.audit", "Audit", "/audit"))
CLIENT_LINKS = (("/portal", "Dashboard"), ("/portal/invoices", "Invoices"), ("/portal/payments", "Payments"))
ACCOUNT_LINKS = (("auth.account", "Account & security"), ("auth.change_password", "Change password"))


def _nav_item(href: str, label: str, active: bool, badge: str = "") -> str:
    current = (" active", ' aria-current="page"') if active else ("", "")
    return (f'<li class="nav-item"><a class="nav-link{current[0]}" href="{escape(href)}"{current[1]}>'
            f"{escape(label)}{badge}</a></li>")


def navbar(awaiting_confirmation: Callable[[], int] | None = None) -> Markup:
    """The page's header: the business's name, and for a signed-in user the links of their area
    (the current one marked) and the account menu with "Sign out".  ``awaiting_confirmation``:
    the back office's count of payments to confirm (the badge on Payments), asked only for an owner."""
    name = current_app.config["AIS_BUSINESS_NAME"]
    html = ['<header class="app-header"><nav class="navbar navbar-expand-lg navbar-dark app-navbar" aria-label="Main">'
            '<div class="container"><a class="navbar-brand d-flex align-items-center gap-2" '
            f'href="{escape(page_url("backoffice.index"))}"><span class="brand-mark" aria-hidden="true">'
            f'{escape((name or "A")[:1])}</span><span class="brand-name">{escape(name)}</span></a>']
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        views, path = current_app.view_functions, request.path
        html.append('<button class="navbar-toggler" type="button" data-bs-toggle="collapse" data-bs-target="#main-nav" '
                    'aria-controls="main-nav" aria-expanded="false" aria-label="Show menu">'
                    '<span class="navbar-toggler-icon"></span></button>'
                    '<div class="collapse navbar-collapse" id="main-nav"><ul class="navbar-nav me-auto mb-2 mb-lg-0">')
        if user.is_owner:
            for endpoint, label, prefix in OWNER_LINKS:
                if endpoint not in views:
                    continue
                badge = ""
                if endpoint == "backoffice.payments" and awaiting_confirmation is not None:
                    waiting = awaiting_confirmation()
                    if waiting:
                        badge = (f' <span class="badge rounded-pill text-bg-warning ms-1">{escape(waiting)}'
                                 '<span class="visually-hidden"> awaiting confirmation</span></span>')
                html.append(_nav_item(page_url(endpoint), label, path == prefix or path.startswith(prefix + "/"), badge))
        elif user.is_client:
            for link, label in CLIENT_LINKS:
                html.append(_nav_item(link, label, path == link or (link != "/portal" and path.startswith(link + "/"))))
        html.append('</ul><ul class="navbar-nav"><li class="nav-item dropdown">'
                    '<a class="nav-link dropdown-toggle d-flex align-items-center gap-2" href="#" id="account-menu" '
                    'role="button" data-bs-toggle="dropdown" aria-expanded="false">'
                    f'<span class="avatar" aria-hidden="true">{escape(str(user.username)[:1].upper())}</span>'
                    f'<span class="account-name">{escape(user.username)}</span></a>'
                    '<ul class="dropdown-menu dropdown-menu-end" aria-labelledby="account-menu">'
                    '<li><span class="dropdown-item-text small text-body-secondary">Signed in as '
                    f'{"owner" if user.is_owner else "client"}</span></li>')
        for endpoint, label in ACCOUNT_LINKS:
            if endpoint in views:
                html.append(f'<li><a class="dropdown-item" href="{escape(page_url(endpoint))}">{escape(label)}</a></li>')
        if "auth.logout" in views:
            html.append('<li><hr class="dropdown-divider"></li><li>'
                        f'<form method="post" action="{escape(page_url("auth.logout"))}" class="px-2">'
                        f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">'
                        '<button type="submit" class="dropdown-item rounded">Sign out</button></form></li>')
        html.append("</ul></li></ul></div>")
    html.append("</div></nav></header>")
    # Every text and URL above is escaped; the rest is this module's own markup.
    return Markup("".join(html))  # nosec B704
