"""Gunicorn settings for production: `gunicorn config.asgi:application -c config/gunicorn.py`.

Uvicorn workers serve the ASGI application, so the display boards' long-lived event streams do
not each hold a worker thread. Everything can be overridden with environment variables.
"""

import logging
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "uvicorn_worker.UvicornWorker"
# WEB_CONCURRENCY is the conventional knob (Heroku, Render, ...); default (2 x cores) + 1, at most 8.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
# Requests themselves are not timed out by uvicorn workers; this is the worker heartbeat.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then so a slow leak can never take the branch down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The TLS-terminating proxy in front sets X-Forwarded-Proto/-For; only the proxy can reach us
# (compose publishes the port on 127.0.0.1), so trusting every address is safe there.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Temporary files on tmpfs: a slow container disk must not stall the heartbeat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# The runtime control socket (gunicorn >= 25) would be created in $HOME; containers do not use it.
control_socket_disable = True


class _DropQueryString(logging.Filter):
    """No query strings in access logs: staff search customers by phone number (?q=139...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access logs (client, method, path with query, http version, status).
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        return True


def post_worker_init(worker) -> None:
    logging.getLogger("uvicorn.access").addFilter(_DropQueryString())
