"""Simulate one day of a branch through the real services (reception.simulate_day)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Branch
from reception.simulate_day import SimulationRefused, simulate_day


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Push a simulated day (arrivals, calls, services, walk-aways, no-shows, transfers) "
        "through the real services into the database: demo history for the dashboards. "
        "Refuses a day that already has tickets, a day not over yet and a closed day."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--branch", required=True, help="Branch code.")
        parser.add_argument("--date", required=True, type=_day, help="The day, YYYY-MM-DD.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="Multiply the arrivals (default 1.0)."
        )

    def handle(self, *args, branch: str, date: date, seed: int, scale: float, **options) -> None:
        if isinstance(date, str):  # call_command(date="…") skips the parser's conversion
            date = _day(date)
        found = Branch.objects.filter(code=branch).first()
        if found is None:
            raise CommandError(f"No branch '{branch}'.")
        try:
            result = simulate_day(branch=found, day=date, seed=seed, scale=scale)
        except SimulationRefused as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(result.summary())
