"""Addresses that leave the app: links in emails, a provider's return pages, calendar feeds.

They are built by the app's own URL map (so a route's path is written once, in its view) on
``AIS_BASE_URL``, the address clients reach the app at, rather than on the request's host: an
email may be queued by a command with no request at all, and a request may come in through an
internal address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """The absolute address of ``endpoint`` on AIS_BASE_URL; values the route does not take
    become the query string (as with ``url_for``)."""
    base = urlsplit(current_app.config["AIS_BASE_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)
