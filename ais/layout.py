"""What the layout (templates/base.html) writes on every page and that is the same for every
request of an app: the stylesheet and script tags, and the URLs of the navbar's links.

Built with ``url_for`` and Bootstrap-Flask's ``load_css``/``load_js`` once per app and script
root (the path the app is mounted under, which a proxy may set per request), then reused: on
every page these were a dozen URL builds and two calls that read the settings each time, about a
tenth of a small page's CPU time.  tests/unit/test_layout.py checks them against the calls they
stand for.
"""
from __future__ import annotations

from flask import current_app, request, url_for
from markupsafe import Markup


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
