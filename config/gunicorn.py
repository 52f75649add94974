"""Gunicorn settings for the web service with gunicorn's gthread worker:
`gunicorn config.wsgi:application -c config/gunicorn.py`.

Production serves the web with Granian (config/serve.py, docs/decisions.md: ~1 ms of CPU less
per request on the same threads); this file keeps the earlier set-up runnable, for comparison
(`bench/load_queue.py --server gthread`) and for platforms without Granian's wheels. Same
model: WSGI threads, each keeping its PostgreSQL connection (DB_CONN_MAX_AGE).

Everything can be overridden with environment variables.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
# WEB_CONCURRENCY is the conventional knob; default one worker per core plus one, at most 8.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() + 1, 8)))
# Threads overlap the waits on PostgreSQL and the network; more of them only contend for the
# worker's GIL (measured on 2 cores: 3 workers x 2 threads carried 78 tickets/s with call-next
# p95 21 ms at 20 tickets/s, 2 x 4 carried 71 with p95 34 ms). Every thread holds one database
# connection: workers x threads per node must stay below PostgreSQL's max_connections (or
# PgBouncer's pool), summed over the nodes (docs/scaling.md).
threads = int(os.environ.get("WEB_THREADS", "2"))
# A request that takes longer than this is killed (with its worker): nothing here should.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))  # above nginx's upstream keepalive
# Recycle workers now and then so a slow leak can never take the branch down; rarely, as a
# restart costs a second of CPU (imports) and its threads' connections.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10
# Where X-Forwarded-Proto is believed from (gunicorn never takes the client's address from
# X-Forwarded-For; config/wsgi.py does, from FORWARDED_ALLOW_IPS only).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The access log: the path without its query string (staff search customers by phone number,
# ?q=139...), and no referrer (it carries the previous page's query). WEB_ACCESS_LOG=0: none
# (nginx logs every request too).
accesslog = None if os.environ.get("WEB_ACCESS_LOG", "1") in ("0", "false", "no") else "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Temporary files on tmpfs: a slow container disk must not stall the heartbeat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# The runtime control socket (gunicorn >= 25) would be created in $HOME; containers do not use it.
control_socket_disable = True
