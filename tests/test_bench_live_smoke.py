"""The live screens benchmark (bench/live_screens.py) runs end to end without an error.

A very short run against a throwaway database named after the test database: the script starts
the WSGI web service and the ASGI live service on free loopback ports, opens a few boards and
phones on event streams, lets a teller call through the API and stops everything. Only
correctness is asserted (every call reached every screen, no error), never timings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .bench_databases import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "live_screens.py"
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = pytest.mark.postgres


@pytest.fixture
def throwaway_database_url():
    with throwaway_database("livebench", needs_redis=True) as url:
        yield url


def test_a_short_live_run_reaches_every_screen_without_errors(throwaway_database_url):
    completed = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
        [
            sys.executable,
            str(SCRIPT),
            *("--database-url", throwaway_database_url, "--redis-url", REDIS_URL),
            *("--screens", "8", "--duration", "5", "--web-workers", "1"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    lines = completed.stdout.strip().splitlines()
    assert lines, output
    result = json.loads(lines[-1])
    assert result["errors"] == 0, output
    assert result["calls"] >= 2, output
    assert result["seen"]["count"] > 0 and result["shown"]["count"] > 0, output
    assert result["redis"]["hub_clients"] >= 1, output  # one subscription for all streams
    assert completed.returncode == 0, output
