"""Care rules as pure logic: given a branch's rules, its customers' dates, its deposits and
`today`, which reminders are due to be created, each with its idempotency `source` key.

No ORM, no clock: the service (crm.services.reminders.care_rules_apply) reads the inputs and
writes the result; a rule run twice the same day, or on consecutive days, plans the same keys.

A reminder is due on the event's date (the deposit's maturity, the ID document's expiry, the
birthday) and appears `days_before` days ahead of it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext

# The kinds a rule can have (crm.models.ReminderKind values; this module does not import models).
DEPOSIT = "deposit"
ID_EXPIRY = "id_expiry"
BIRTHDAY = "birthday"
RULE_KINDS = (DEPOSIT, ID_EXPIRY, BIRTHDAY)
MAX_DAYS_BEFORE = 366


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    days_before: int
    assignee_id: int | None = None


@dataclass(frozen=True)
class CustomerDates:
    customer_id: int
    birth_date: date | None = None
    id_expires_on: date | None = None
    is_vip: bool = False


@dataclass(frozen=True)
class DepositDates:
    deposit_id: int
    customer_id: int
    matures_on: date
    product: str = ""


@dataclass(frozen=True)
class PlannedReminder:
    customer_id: int
    kind: str
    title: str
    due_on: date
    source: str
    assignee_id: int | None = None


def window(days_before: int, today: date) -> tuple[date, date]:
    """The event dates a rule looks at today: from today to `days_before` days ahead."""
    days = max(0, min(int(days_before), MAX_DAYS_BEFORE))
    return today, today + timedelta(days=days)


def birthday_in(year: int, birth_date: date) -> date:
    """The birthday in `year`; 29 February falls on 28 February in other years."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def next_birthday(birth_date: date, today: date) -> date:
    this_year = birthday_in(today.year, birth_date)
    return this_year if this_year >= today else birthday_in(today.year + 1, birth_date)


def birthday_month_days(start: date, end: date) -> set[tuple[int, int]]:
    """Every (month, day) from `start` to `end` (at most a year): what the birthday query
    matches, so the service reads only customers whose birthday falls in the window."""
    days: set[tuple[int, int]] = set()
    current = start
    while current <= end and len(days) < 367:
        days.add((current.month, current.day))
        if current.month == 2 and current.day == 28:
            days.add((2, 29))  # born 29 February: celebrated on the 28th in common years
        current += timedelta(days=1)
    return days


def reminders_due(
    *,
    rules: Iterable[RuleSpec],
    customers: Iterable[CustomerDates],
    deposits: Iterable[DepositDates],
    today: date,
) -> list[PlannedReminder]:
    """The reminders the rules call for today, ordered by due date then source (one per key)."""
    customers = list(customers)
    deposits = list(deposits)
    planned: dict[str, PlannedReminder] = {}
    for rule in rules:
        start, end = window(rule.days_before, today)
        if rule.kind == DEPOSIT:
            for deposit in deposits:
                if start <= deposit.matures_on <= end:
                    source = f"deposit:{deposit.deposit_id}:{deposit.matures_on.isoformat()}"
                    title = gettext("Deposit %(product)s matures on %(date)s") % {
                        "product": deposit.product or gettext("term deposit"),
                        "date": deposit.matures_on.isoformat(),
                    }
                    planned[source] = PlannedReminder(
                        deposit.customer_id,
                        DEPOSIT,
                        title,
                        deposit.matures_on,
                        source,
                        rule.assignee_id,
                    )
        elif rule.kind == ID_EXPIRY:
            for customer in customers:
                expires = customer.id_expires_on
                if expires is not None and start <= expires <= end:
                    source = f"id_expiry:{customer.customer_id}:{expires.isoformat()}"
                    title = gettext("ID document expires on %(date)s") % {
                        "date": expires.isoformat()
                    }
                    planned[source] = PlannedReminder(
                        customer.customer_id, ID_EXPIRY, title, expires, source, rule.assignee_id
                    )
        elif rule.kind == BIRTHDAY:
            for customer in customers:
                if not customer.is_vip or customer.birth_date is None:
                    continue
                birthday = next_birthday(customer.birth_date, today)
                if start <= birthday <= end:
                    source = f"birthday:{customer.customer_id}:{birthday.year}"
                    title = gettext("Birthday on %(date)s") % {"date": birthday.isoformat()}
                    planned[source] = PlannedReminder(
                        customer.customer_id, BIRTHDAY, title, birthday, source, rule.assignee_id
                    )
    return sorted(planned.values(), key=lambda p: (p.due_on, p.source))
