"""Instructions the app executes per hot request: repeatable where seconds are not.

    .venv/bin/python bench/count_instructions.py [--cycles 40 140]
        [--database-url postgres://postgres@127.0.0.1:5432/bf_instr] [--redis-url ...]

Runs bench/inprocess_hot.py twice under valgrind's callgrind (Debian's `valgrind`), with two
cycle counts, at the same time (one per core), and divides the difference of the two totals by
the difference of requests: the start-up, the set-up and the warm-up cancel out, what is left is
what one request of the issue's life cycle (issue, call-next, start, finish) costs the app
process in instructions, user space only (not the kernel's side of a round trip, not
PostgreSQL's or Redis's).

Why: this machine's speed drifts by ±20 % between identical timed runs (docs/benchmarks.md),
which hides a change worth 5 %; an instruction count does not move with the machine's load
(measured: two runs of one commit differ by under 1 %). Compare two commits with this, then confirm with
bench/load_queue.py. Takes about 3 minutes on 2 vCPUs. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS_PER_CYCLE = 4
# Under callgrind the app runs ~50 times slower. What expires by the clock is stretched by as
# much, so the counted requests take the path they take at full speed (the branch's set-up from
# the process's copy, outbox nudges batched, session and user from the cache), whatever the run's
# pace; otherwise the count would depend on how busy the machine was.
STRETCHED_CLOCKS = {
    "QUEUE_SETUP_LOCAL_SECONDS": "300",
    "OUTBOX_NUDGE_WINDOW_MS": "10000",
    "SESSION_CACHE_SECONDS": "3600",
    "AUTH_USER_CACHE_SECONDS": "3600",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, nargs=2, default=[40, 140], metavar=("FEW", "MANY"))
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bf_instr")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args(argv)
    few, many = args.cycles
    if not 1 <= few < many:
        parser.error("--cycles FEW MANY: 1 <= FEW < MANY")
    return args


def _database(url: str, index: int) -> str:
    """Each run its own database (they run at once), derived from --database-url."""
    return f"{url}_{index}"


def _redis(url: str, index: int) -> str:
    base, _, number = url.rpartition("/")
    return f"{base}/{int(number or 0) + index}" if number.isdigit() else url


def run_counted(cycles: int, index: int, args: argparse.Namespace, out_dir: Path):
    out = out_dir / f"callgrind.{index}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(ROOT / "bench" / "inprocess_hot.py"),
        f"--cycles={cycles}",
        "--warm-up=10",
        f"--database-url={_database(args.database_url, index)}",
        f"--redis-url={_redis(args.redis_url, index)}",
    ]
    log = open(out_dir / f"run.{index}.log", "w")  # noqa: SIM115 (closed by the caller)
    env = {**os.environ, **STRETCHED_CLOCKS}
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), out, log


def total_instructions(out: Path) -> int:
    match = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"no callgrind summary in {out}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    few, many = args.cycles
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bf-instr-") as tmp:
        out_dir = Path(tmp)
        runs = [
            run_counted(cycles, index, args, out_dir) for index, cycles in enumerate(args.cycles)
        ]
        for process, _out, log in runs:
            process.wait()
            log.close()
        for index, (process, _out, _log) in enumerate(runs):
            if process.returncode != 0:
                print((out_dir / f"run.{index}.log").read_text()[-3000:], file=sys.stderr)
                raise SystemExit(f"the run with {args.cycles[index]} cycles failed")
        totals = [total_instructions(out) for _process, out, _log in runs]
    per_cycle = (totals[1] - totals[0]) / (many - few)
    per_request = per_cycle / REQUESTS_PER_CYCLE
    print(
        f"App instructions (callgrind, user space): {per_request / 1e6:.3f} M per request,"
        f" {per_cycle / 1e6:.2f} M per ticket's life cycle ({few} and {many} cycles:"
        f" {totals[0]:,} and {totals[1]:,}); {time.monotonic() - started:.0f} s"
    )
    print(
        json.dumps(
            {
                "instructions_per_request": round(per_request),
                "instructions_per_cycle": round(per_cycle),
                "cycles": [few, many],
                "totals": totals,
                "python": sys.version.split()[0],
                "nproc": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
