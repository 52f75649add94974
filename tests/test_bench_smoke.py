"""The queue load benchmark (bench/load_queue.py) runs end to end and finds nothing wrong.

Very short runs against a throwaway database named after the test database: the script
migrates it, starts the web service as production does (Granian, WSGI threads) on free loopback
ports, drives tellers and tablets through the API (one branch; three branches on two web
servers; a closed loop; the Next key), stops it and checks the database. Only correctness is asserted, never timings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load_queue import drop_database

from .bench_databases import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "load_queue.py"

pytestmark = pytest.mark.postgres


@pytest.fixture
def throwaway_database_url():
    with throwaway_database("loadbench") as url:
        yield url


def run_bench(database_url: str, *options: str, timeout: int = 180) -> tuple[dict, str, int]:
    """Run bench/load_queue.py against `database_url`: (its JSON line, its output for an
    assertion message, its exit status)."""
    completed = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
        [sys.executable, str(SCRIPT), "--database-url", database_url, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    lines = completed.stdout.strip().splitlines()
    assert lines, output
    return json.loads(lines[-1]), output, completed.returncode


def assert_nothing_called_twice_or_lost(result: dict, output: str, status: int) -> None:
    assert result["double_called"] == 0, output
    assert result["lost"] == 0, output
    assert result["issued"] > 0, output
    assert result["called"] == result["issued"], output
    assert result["drained"] is True, output
    assert status == 0, output


def test_it_runs_a_short_load_without_calling_twice_or_losing_a_ticket(throwaway_database_url):
    result, output, status = run_bench(
        throwaway_database_url,
        *("--duration", "3", "--tellers", "2", "--tablets", "1", "--issue-rate", "5"),
        timeout=120,
    )
    assert_nothing_called_twice_or_lost(result, output, status)


def test_many_branches_on_two_nodes_call_no_ticket_twice_and_lose_none(throwaway_database_url):
    """--branches 3 --nodes 2: three branches' queues, tellers and tablets spread over two web
    servers on different ports sharing one database; the checks cover every branch."""
    result, output, status = run_bench(
        throwaway_database_url,
        *("--duration", "4", "--branches", "3", "--nodes", "2"),
        *("--tellers", "3", "--tablets", "2", "--issue-rate", "6"),
        *("--workers", "1", "--threads", "2", "--empty-backoff", "0.2"),
    )
    assert (result["branches"], result["nodes"]) == (3, 2), output
    assert set(result["memory"]) == {"node1", "node2"}, output
    assert_nothing_called_twice_or_lost(result, output, status)


def test_a_closed_loop_run_completes_tickets(throwaway_database_url):
    """--closed-loop: tablets issue as fast as the queue takes them (bounded per counter).
    Eight tellers racing for the same tickets: this run found a claim that called two tickets
    to one counter (queueing.statements.claim_waiting), which the threaded tests did not."""
    result, output, status = run_bench(
        throwaway_database_url,
        *("--duration", "4", "--closed-loop", "--tellers", "8", "--tablets", "4"),
        *("--workers", "1", "--threads", "2"),
    )
    assert result["closed_loop"] is True, output
    assert result["server"] == "granian", output  # production's web service
    assert result["completed_in_load"] > 0, output
    assert (result["double_called"], result["lost"], result["errors"]) == (0, 0, 0), output
    assert result["cpu_ms_per_request"] > 0, output
    assert status == 0, output


def test_the_next_key_flow_calls_no_ticket_twice_and_loses_none(throwaway_database_url):
    """--teller-flow combined: tellers press the Next key (finish-and-call-next), and the run
    still checks and reports right: the flow named in the JSON line."""
    result, output, status = run_bench(
        throwaway_database_url,
        # A closed loop: the queues are filled before the tellers start (without a live
        # service, an idle teller sleeps Retry-After, 5 s: longer than this run).
        *("--duration", "4", "--closed-loop", "--tellers", "2", "--tablets", "1"),
        *("--workers", "1", "--threads", "2", "--teller-flow", "combined"),
    )
    assert "teller flow: combined" in output, output
    assert result["teller_flow"] == "combined", output
    per_op = result["per_op"]
    # The customers were finished by the Next key, never by a separate finish.
    assert per_op["finish_call"]["count"] + per_op["finish_call_empty"]["count"] > 0, output
    assert per_op["finish"]["count"] == 0, output
    assert_nothing_called_twice_or_lost(result, output, status)


@pytest.fixture
def faults_database_url(throwaway_database_url):
    return throwaway_database_url.replace("_loadbench", "_faultsbench")


def test_the_fault_run_loses_nothing_and_sends_nothing_twice(faults_database_url):
    """bench/faults.py, short: Redis killed for 6 s and the worker killed mid-run."""
    import shutil

    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing (CI runs every test, nothing may be skipped)")
        pytest.skip("needs redis-server on the PATH")
    drop_database(faults_database_url)
    try:
        completed = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
            [
                sys.executable,
                str(ROOT / "bench" / "faults.py"),
                "--database-url",
                faults_database_url,
                *("--duration", "14", "--tellers", "2", "--tablets", "1"),
                *("--issue-rate", "2", "--redis-down-at", "3", "--redis-down-for", "6"),
                *("--kill-worker-at", "10"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        drop_database(faults_database_url)
    output = f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["tickets"] > 0, output
    assert result["finished"] > 0, output
    assert result["interactions"] == result["finished"], output
    assert result["invitations_sent"] == result["finished"], output
    assert (result["sent_twice"], result["lost_events"], result["http_5xx"]) == (0, 0, 0), output
    assert completed.returncode == 0, output


def _run_in_process_bench(script: str, *args: str, timeout: int) -> tuple[dict, str]:
    """Run bench/<script>; its last line of stdout (JSON) and everything it printed."""
    completed = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    return json.loads(completed.stdout.strip().splitlines()[-1]), output


def test_the_in_process_bench_reports_app_and_database_cpu_per_request(throwaway_database_url):
    """bench/inprocess_hot.py: the WSGI application called in-process, no server (and no
    Redis here: the script empties the Redis database it is given)."""
    result, output = _run_in_process_bench(
        "inprocess_hot.py",
        *("--database-url", throwaway_database_url, "--redis-url", ""),
        *("--cycles", "20", "--warm-up", "2"),
        timeout=180,
    )
    assert result["cycles"] == 20, output
    assert set(result["app_ms"]) == {"issue", "call", "start", "finish"}, output
    assert result["app_ms_per_request"] > 0, output
    before, after = result["machine_speed_ms"]  # the reference work, timed around the cycles
    assert before > 0 and after > 0, output


def test_the_live_request_bench_compares_the_two_middleware_chains():
    """bench/live_request_cost.py: the live ASGI app in-process, no database and no Redis."""
    result, output = _run_in_process_bench(
        "live_request_cost.py", "--requests", "50", "--repeat", "1", timeout=120
    )
    for chain in ("live", "django"):
        assert result[chain]["status"] == [400], output  # the view answered, no redirect
        assert result[chain]["cpu_ms"] > 0, output


def test_the_instruction_count_is_the_difference_of_two_runs_per_request(tmp_path):
    """bench/count_instructions.py's arithmetic and its reading of callgrind's output (the
    runs themselves take minutes under valgrind: by hand, bench/README.md)."""
    from bench import count_instructions

    out = tmp_path / "callgrind.out"
    out.write_text("version: 1\ncmd: python\nsummary: 6771240702\ntotals: 6771240702\n")
    assert count_instructions.total_instructions(out) == 6_771_240_702
    assert count_instructions.parse_args(["--cycles", "10", "30"]).cycles == [10, 30]
    with pytest.raises(SystemExit):
        count_instructions.parse_args(["--cycles", "30", "10"])
    assert count_instructions._redis("redis://127.0.0.1:6379/10", 1) == "redis://127.0.0.1:6379/11"
