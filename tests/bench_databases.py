"""A throwaway PostgreSQL database for a benchmark smoke test, named after the test database
(the benchmark scripts migrate it themselves); dropped before and after."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from bench.load_queue import drop_database

ON_POSTGRES = connection.vendor == "postgresql"


def _require(needs_redis: bool) -> None:
    if ON_POSTGRES and (not needs_redis or os.environ.get("REDIS_URL")):
        return
    reason = (
        "needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL"
        if needs_redis
        else "needs PostgreSQL: set DATABASE_URL=postgres://..."
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs every test, nothing may be skipped)")
    pytest.skip(reason)


@contextmanager
def throwaway_database(suffix: str, *, needs_redis: bool = False) -> Iterator[str]:
    """The URL of database `test_<test database>_<suffix>`, empty, dropped afterwards."""
    _require(needs_redis)
    db = settings.DATABASES["default"]
    name = f"test_{db['NAME'].removeprefix('test_')}_{suffix}"[:63]
    credentials = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    url = f"postgres://{credentials}@{host}:{port}/{name}"
    drop_database(url)
    try:
        yield url
    finally:
        drop_database(url)
