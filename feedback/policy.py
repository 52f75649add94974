"""When may we text a customer? (pure: consent, quiet hours, frequency cap)"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class ContactRules:
    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)
    min_days_between_surveys: int = 30


@dataclass(frozen=True, slots=True)
class Decision:
    send_at: datetime | None  # None: do not send
    skip_reason: str = ""


def _in_quiet_hours(local: datetime, rules: ContactRules) -> bool:
    t = local.timetz().replace(tzinfo=None)
    if rules.quiet_from <= rules.quiet_until:
        return rules.quiet_from <= t < rules.quiet_until
    return t >= rules.quiet_from or t < rules.quiet_until


def decide(
    *,
    now_local: datetime,
    consent: bool,
    has_phone: bool,
    last_invited_at: datetime | None,
    rules: ContactRules = ContactRules(),
    delay: timedelta = timedelta(0),
) -> Decision:
    """`now_local` is in the branch's time zone, so quiet hours are the customer's evening."""
    if not has_phone:
        return Decision(None, "no_phone")
    if not consent:
        return Decision(None, "no_consent")
    if last_invited_at is not None and now_local - last_invited_at < timedelta(
        days=rules.min_days_between_surveys
    ):
        return Decision(None, "frequency_cap")
    send_at = now_local + delay
    if _in_quiet_hours(send_at, rules):
        morning = datetime.combine(send_at.date(), rules.quiet_until, tzinfo=send_at.tzinfo)
        if morning <= send_at:
            morning += timedelta(days=1)
        send_at = morning
    return Decision(send_at)
