"""The development server (``make run``): Werkzeug's, with ``Server: AIS`` instead of the banner
that names Werkzeug and Python (as gunicorn.conf.py does for gunicorn).

``python -m ais.devserver [--host 127.0.0.1] [--port 5000]``: threaded, no reloader, no debugger.
``flask --app ais run`` still works but cannot be given a request handler, so it keeps the banner.

Unless ``AIS_BASE_URL`` is set, the links in emails (invitations, resets, receipts) point at the
address this server listens on, whatever its port.
"""

from __future__ import annotations

import argparse
import os

from werkzeug.serving import WSGIRequestHandler, run_simple

SERVER_HEADER = "AIS"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without the server software in the ``Server`` header."""

    def version_string(self) -> str:
        return SERVER_HEADER


def base_url(host: str, port: int) -> str:
    """The address links in emails use when AIS_BASE_URL is not set: this server's own (a server
    listening on every interface is reached on loopback from this machine)."""
    if host in ("0.0.0.0", "::", ""):  # nosec B104: names the wildcard to replace it, binds nothing
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ais.devserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    options = parser.parse_args(argv)
    os.environ.setdefault("AIS_BASE_URL", base_url(options.host, options.port))

    from . import create_app

    run_simple(options.host, options.port, create_app(), threaded=True, request_handler=QuietRequestHandler)


if __name__ == "__main__":
    main()
