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
