"""When may we text a customer? (pure: consent, opt-out, frequency cap, sampling, quiet hours,
the branch's delay). Every "no" has a reason, recorded on the invitation."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class ContactRules:
    """A branch's FeedbackSettings, or these defaults where it has none."""

    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)
    min_days_between_surveys: int = 30
    delay: timedelta = timedelta(0)
    sampling_percent: int = 100


@dataclass(frozen=True, slots=True)
class Decision:
    send_at: datetime | None  # None: do not send
    skip_reason: str = ""


def _in_quiet_hours(local: datetime, rules: ContactRules) -> bool:
    t = local.timetz().replace(tzinfo=None)
    if rules.quiet_from == rules.quiet_until:
        return False  # no quiet hours
    if rules.quiet_from < rules.quiet_until:
        return rules.quiet_from <= t < rules.quiet_until
    return t >= rules.quiet_from or t < rules.quiet_until


def sample_bucket(key: int | str) -> int:
    """0–99, the same for the same key on every run and every machine (not Python's hash)."""
    digest = hashlib.sha256(f"branchflow-survey-sample:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def sampled_in(key: int | str, percent: int) -> bool:
    return sample_bucket(key) < max(0, min(percent, 100))


def decide(
    *,
    now_local: datetime,
    consent: bool,
    has_phone: bool,
    last_invited_at: datetime | None,
    rules: ContactRules = ContactRules(),
    delay: timedelta | None = None,
    opted_out: bool = False,
    sample_key: int | str | None = None,
) -> Decision:
    """`now_local` is in the branch's time zone, so quiet hours are the customer's evening.

    `opted_out`: the customer withdrew their consent (not merely never gave it).
    `sample_key`: the interaction's id; with a sampling rate below 100 % only some are asked,
    always the same ones. `delay` overrides the rules' delay (older callers)."""
    if not has_phone:
        return Decision(None, "no_phone")
    if opted_out:
        return Decision(None, "opted_out")
    if not consent:
        return Decision(None, "no_consent")
    if last_invited_at is not None and now_local - last_invited_at < timedelta(
        days=rules.min_days_between_surveys
    ):
        return Decision(None, "frequency_cap")
    if rules.sampling_percent < 100 and (
        sample_key is None or not sampled_in(sample_key, rules.sampling_percent)
    ):
        return Decision(None, "sampled_out")
    send_at = now_local + (rules.delay if delay is None else delay)
    if _in_quiet_hours(send_at, rules):
        morning = datetime.combine(send_at.date(), rules.quiet_until, tzinfo=send_at.tzinfo)
        if morning <= send_at:
            morning += timedelta(days=1)
        send_at = morning
    return Decision(send_at)
