"""Settings of the ASGI live service (config/gunicorn_live.py sets them).

The production settings, with only the URLs the live service serves (config/live_urls.py: the
screens' event streams, version polls and the API's long poll) and only the middleware those
need, every one of them async-capable. With a single synchronous middleware in the chain,
Django runs the chain in a thread for the whole request: each open long poll would hold a
thread for up to 25 s. None of these views reads a session, a user or a form. Django's own
"async-capable" middleware still sends each hook through a thread; the live service runs
theirs in the event loop (config/live_middleware.py).
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "config.live_urls"
MIDDLEWARE = [
    "config.live_middleware.SecurityMiddleware",
    "accounts.middleware.RejectNulMiddleware",
    "config.live_middleware.LocaleMiddleware",
    "config.live_middleware.CommonMiddleware",
    "config.live_middleware.CSPMiddleware",
]
