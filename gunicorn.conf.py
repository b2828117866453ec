"""gunicorn settings: `gunicorn -c gunicorn.conf.py 'ais:create_app()'` (what `make serve` runs)."""
import os

# Production unless the environment says otherwise: the app then refuses weak secrets and demo data.
os.environ.setdefault("AIS_ENV", "production")

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # nosec B104 - behind the proxy
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None  # the app writes one structured line per request itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Once a worker has loaded the app, move everything loaded so far (modules, the app, its
    templates and compiled statements: over 100,000 objects that live as long as the worker) out
    of the garbage collector's way.  Python's full collections otherwise walk them all again and
    again while requests come and go; measured, that was about 2% of a page's CPU time."""
    import gc

    gc.collect()
    gc.freeze()
