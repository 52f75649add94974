"""The KPI speed benchmark's scripts run end to end (bench/make_history.py, bench/kpi_load.py).

A tiny history (3 branches, 6 days, 600 tickets) in a throwaway database named after the test
database, rollups rebuilt for one branch and copied to the others, then every dashboard page
and export requested once. Only correctness is asserted (rows made, every page answers 200,
the JSON lines' shape), never timings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .bench_databases import throwaway_database

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


@pytest.fixture
def throwaway_database_url():
    with throwaway_database("kpihist") as url:
        yield url


def _run(args: list[str]) -> tuple[dict, str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    output = f"stdout:\n{completed.stdout[-3000:]}\nstderr:\n{completed.stderr[-3000:]}"
    assert completed.returncode == 0, output
    return json.loads(completed.stdout.strip().splitlines()[-1]), output


def test_history_then_every_dashboard_answers(throwaway_database_url):
    made, output = _run(
        [
            "bench/make_history.py",
            "--database-url",
            throwaway_database_url,
            "--tickets",
            "600",
            "--branches",
            "3",
            "--days",
            "6",
            "--jobs",
            "1",
            "--rebuild-branches",
            "1",
        ]
    )
    assert 400 <= made["tickets"] <= 800, output
    counts = made["counts"]
    assert counts["ticket_events"] > 3 * made["tickets"], output
    assert counts["visits"] > made["tickets"], output
    assert counts["surveys"] > 0 and counts["counter_events"] > 0, output
    assert made["rollup_rows"] > made["rollup_rows_rebuilt"] > 0, output

    measured, output = _run(
        [
            "bench/kpi_load.py",
            "--database-url",
            throwaway_database_url,
            "--requests",
            "1",
            "--warmup",
            "0",
        ]
    )
    assert measured["tickets"] == made["tickets"], output
    assert measured["failures"] == {}, output
    for page in ("today", "trends_day", "heatmap", "services", "staffing"):
        assert page in measured["p95_ms"] or page in measured["missing"], output
    assert "staffing" in measured["p95_ms"], output
    assert all(value > 0 for value in measured["p95_ms"].values()), output
