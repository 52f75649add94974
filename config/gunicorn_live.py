"""Gunicorn settings for the ASGI *live* service:
`gunicorn config.asgi:application -c config/gunicorn_live.py`.

It serves only /queue/live/ (nginx routes it there): the screens' event streams, version polls
and the long poll of API clients (docs/live-updates.md). Pages and the API stay on the WSGI web
service (config/gunicorn.py). One uvicorn worker holds thousands of idle streams on one event
loop and one Redis subscription (queueing/hub.py), so a worker or two is enough.

Everything can be overridden with environment variables.
"""

import logging
import os
import resource

# Only the live URLs, with async middleware only (config/live_settings.py): no open stream or
# long poll holds a thread. Workers inherit this from the master, which reads this file first.
os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get(
    "LIVE_SETTINGS_MODULE", "config.live_settings"
)

bind = os.environ.get("LIVE_BIND", "0.0.0.0:8001")
worker_class = "uvicorn_worker.UvicornWorker"
# Streams are idle almost always: concurrency is file descriptors, not CPU. Two workers keep the
# service up while one restarts.
workers = int(os.environ.get("LIVE_CONCURRENCY", "2"))
timeout = int(os.environ.get("LIVE_TIMEOUT", "60"))  # the worker heartbeat, not a request limit
# On a deploy or restart open streams are cut after this; EventSource reconnects after 2 s with
# Last-Event-ID, so a screen loses nothing (queueing.live.event_stream).
graceful_timeout = int(os.environ.get("LIVE_GRACEFUL_TIMEOUT", "10"))
keepalive = 75  # version polls every second reuse their connection (above nginx's 60 s)
# No max_requests: recycling a worker would drop every stream it holds at once (it did, mid-run,
# with the old single service). Streams themselves end every 5 minutes and reconnect.
max_requests = 0
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
backlog = 4096  # a restart makes every screen reconnect within a few seconds
# One line per version poll (1/s per screen while streams are down) would flood the log.
accesslog = "-" if os.environ.get("LIVE_ACCESS_LOG", "") in ("1", "true", "yes") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
control_socket_disable = True

log = logging.getLogger("gunicorn.error")


def raise_open_file_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit: each stream is a socket, and at the usual soft
    limit of 1,024 a worker refused streams after ~300 (the rest: Redis, PostgreSQL, files)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %s to %s: %s", soft, target, exc)
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class _DropQueryString(logging.Filter):
    """No query strings in access logs (as config/gunicorn.py does for the web service)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        return True


def on_starting(server) -> None:
    raise_open_file_limit()  # workers inherit it


def post_worker_init(worker) -> None:
    soft, _hard = raise_open_file_limit()
    logging.getLogger("uvicorn.access").addFilter(_DropQueryString())
    log.info("live worker %s: open-file limit %s", os.getpid(), soft)
