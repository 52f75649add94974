"""bench/load_queue.py --teller-flow combined: tellers press the Next key (finish-and-call-next)
and the run still checks and reports right: nothing called twice, nothing lost, the queue
drained, the flow named in the JSON line. Only correctness is asserted, never timings."""

import json
import subprocess
import sys

import pytest

from .test_bench_smoke import ROOT, SCRIPT, throwaway_database_url  # noqa: F401 (fixture)

pytestmark = pytest.mark.postgres


def test_the_combined_teller_flow_calls_no_ticket_twice_and_loses_none(throwaway_database_url):  # noqa: F811
    completed = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
        [
            sys.executable,
            str(SCRIPT),
            "--database-url",
            throwaway_database_url,
            # A closed loop: the queues are filled before the tellers start (without a live
            # service, an idle teller sleeps Retry-After, 5 s: longer than this run).
            *("--duration", "4", "--closed-loop", "--tellers", "2", "--tablets", "1"),
            *("--workers", "1", "--threads", "2"),
            *("--teller-flow", "combined"),
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
    assert "teller flow: combined" in completed.stdout, output
    result = json.loads(lines[-1])
    assert result["teller_flow"] == "combined", output
    per_op = result["per_op"]
    # The customers were finished by the Next key, never by a separate finish.
    assert per_op["finish_call"]["count"] + per_op["finish_call_empty"]["count"] > 0, output
    assert per_op["finish"]["count"] == 0, output
    assert result["double_called"] == 0, output
    assert result["lost"] == 0, output
    assert result["issued"] > 0, output
    assert result["called"] == result["issued"], output
    assert result["not_finished"] == 0, output
    assert result["drained"] is True, output
    assert completed.returncode == 0, output
