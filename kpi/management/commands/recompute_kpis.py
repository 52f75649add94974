"""Rebuild KPI rollups on demand: `manage.py recompute_kpis --branch CODE --from 2026-01-01
--to 2026-01-31` (or `--all`). Idempotent: running it twice writes the same rows."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Branch
from kpi import services

MAX_DAYS = 3660  # ten years: a typo in a year should not start a century of rebuilds


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: expected a date as YYYY-MM-DD, got {value!r}") from None


class Command(BaseCommand):
    help = "Rebuild the KPI rollups of one branch (or all) for a range of local days."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--branch", help="the branch's code")
        which.add_argument("--all", action="store_true", help="every branch")
        parser.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD (included)")

    def handle(self, *args, **options):
        date_from = _day(options["date_from"], "--from")
        date_to = _day(options["date_to"], "--to")
        if date_to < date_from:
            raise CommandError("--to is before --from")
        if (date_to - date_from).days >= MAX_DAYS:
            raise CommandError(f"the range is longer than {MAX_DAYS} days")
        if options["all"]:
            branches = list(Branch.objects.order_by("code"))
        else:
            branches = list(Branch.objects.filter(code=options["branch"]))
            if not branches:
                raise CommandError(f"no branch with code {options['branch']!r}")
        started = time.monotonic()
        days, rows = services.rollup_recompute_range(
            branches=branches, date_from=date_from, date_to=date_to
        )
        seconds = time.monotonic() - started
        self.stdout.write(
            f"{len(branches)} branch(es), {days} day(s): {rows} rows in {seconds:.2f} s"
        )
