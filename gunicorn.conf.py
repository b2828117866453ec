"""gunicorn settings: `gunicorn -c gunicorn.conf.py 'ais:create_app()'` (deploy/systemd/ais-web.service).

Proxy trust has one source, the app's ``PROXY_COUNT`` (werkzeug ProxyFix in ``ais.wrap_proxy``):
gunicorn itself trusts no X-Forwarded-* header from anyone (``forwarded_allow_ips`` empty, no
secure scheme headers), so ``FORWARDED_ALLOW_IPS`` in the environment changes nothing and a
request that claims ``X-Forwarded-Proto: https`` is plain HTTP unless PROXY_COUNT says a proxy
stands in front.
"""

import os

from gunicorn.glogging import Logger

# Production unless the environment says otherwise: the app then refuses weak secrets and demo data.
os.environ.setdefault("AIS_ENV", "production")

# Loopback by default: nginx on the same machine (deploy/nginx/ais.conf).  HOST=10.0.0.11 for a
# proxy on another machine.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout
accesslog = None  # the app writes one structured line per request itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = ""
secure_scheme_headers = {}
# gunicorn's control socket (gunicornc) defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
# a second server on the machine (a test, a staging copy) would take it over.  Nothing here uses it;
# systemctl and signals manage the server.
control_socket_disable = True


class AisLogger(Logger):
    """gunicorn's error log in the app's format (ais.logs): one format on stderr, times in UTC."""

    def setup(self, cfg):
        super().setup(cfg)
        from ais.logs import make_formatter

        kind = os.environ.get("AIS_LOG_FORMAT") or ("json" if os.environ.get("AIS_ENV") == "production" else "text")
        for handler in self.error_log.handlers:
            handler.setFormatter(make_formatter(kind))


logger_class = AisLogger


def on_starting(server):
    """Before the workers start, the app learns how many workers serve it (whether -w,
    GUNICORN_CMD_ARGS or WEB_CONCURRENCY set it): with more than one, production refuses
    per-process (memory://) rate-limit counters.

    gunicorn's own ``Server: gunicorn`` header (no version) is left as it is: gunicorn has no
    setting for it, and in production nginx answers the browser and does not pass it on
    (deploy/nginx/ais.conf)."""
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)


def post_worker_init(worker):
    """Once a worker has loaded the app, move everything loaded so far (modules, the app, its
    templates and compiled statements: over 100,000 objects that live as long as the worker) out
    of the garbage collector's way.  Python's full collections otherwise walk them all again and
    again while requests come and go; measured, that was about 2% of a page's CPU time."""
    import gc

    gc.collect()
    gc.freeze()
