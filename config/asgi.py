"""ASGI entry point: production serves it with gunicorn + uvicorn workers so that long-lived
display-board streams (server-sent events) do not each hold a thread."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
