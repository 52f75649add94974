"""The 80 % interval around a wait estimate (eta.estimate_interval) and its place on the
customer's status page."""

from __future__ import annotations

import math
import re

import pytest
from django.urls import reverse

from queueing import eta, selectors, services
from queueing.links import ticket_status_token


@pytest.mark.parametrize("estimate_s", [0.0, 30.0, 300.0, 720.0, 3600.0])
@pytest.mark.parametrize("ahead", [0, 1, 5, 30])
def test_the_interval_contains_the_estimate_and_is_never_negative(estimate_s, ahead):
    low, high = eta.estimate_interval(estimate_s, ahead)
    assert 0.0 <= low <= estimate_s < high


def test_an_estimate_of_any_moment_still_has_a_width():
    low, high = eta.estimate_interval(0.0, 0)
    assert low == 0.0
    assert 60.0 < high < 600.0


def test_the_relative_width_narrows_with_more_people_ahead_down_to_a_floor():
    def relative_width(ahead):
        low, high = eta.estimate_interval(1200.0, ahead)
        return (high - low) / 1200.0

    widths = [relative_width(k) for k in (0, 1, 4, 16, 1000)]
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] > 0.2  # what never averages out keeps a floor (floor_sigma 0.1: 0.27)


def test_a_higher_coverage_gives_a_wider_interval():
    low80, high80 = eta.estimate_interval(600.0, 3)
    low95, high95 = eta.estimate_interval(600.0, 3, coverage=0.95)
    assert low95 < low80 and high95 > high80


def test_infinite_estimates_stay_infinite_and_bad_input_is_refused():
    assert eta.estimate_interval(math.inf, 2) == (math.inf, math.inf)
    with pytest.raises(ValueError):
        eta.estimate_interval(-1.0, 0)
    with pytest.raises(ValueError):
        eta.estimate_interval(10.0, -1)
    with pytest.raises(ValueError):
        eta.estimate_interval(10.0, 0, coverage=1.0)


def test_expected_residual_starts_at_the_mean_and_never_reaches_zero():
    mean = 600.0
    assert eta.expected_residual(mean, 0.0) == mean
    remaining = [eta.expected_residual(mean, e) for e in (60.0, 300.0, 600.0, 1200.0, 3600.0)]
    assert remaining[0] < mean  # early on, time spent is time saved
    assert all(r > 0.1 * mean for r in remaining[:3])
    assert all(r > 0 for r in remaining)
    # long past the usual time the tail left grows again (heavy-tailed cases), unlike mean - e
    assert remaining[-1] > remaining[2]
    assert eta.expected_residual(0.0, 100.0) == 0.0


def test_expected_residual_matches_a_sampled_lognormal():
    import random

    rng = random.Random(3)
    sigma, mean, elapsed = 0.4, 300.0, 350.0
    mu = math.log(mean) - sigma**2 / 2
    tail = [
        x - elapsed for x in (rng.lognormvariate(mu, sigma) for _ in range(200_000)) if x > elapsed
    ]
    sampled = sum(tail) / len(tail)
    assert eta.expected_residual(mean, elapsed, sigma) == pytest.approx(sampled, rel=0.03)


def test_the_status_page_shows_the_estimate_with_its_range(client, branch, cash, counter):
    for _ in range(3):
        services.ticket_issue(branch=branch, service=cash)
    mine = services.ticket_issue(branch=branch, service=cash)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("queueing:ticket_status", args=[ticket_status_token(mine.pk)]))
    html = response.content.decode()
    minutes = response.context["eta_minutes"]
    low, high = response.context["eta_range"]
    assert low <= minutes <= high and low < high
    assert re.search(rf"about {minutes} min, {low}-{high}<", html), html


def test_todays_walkaways_over_todays_waiting_give_the_estimates_walkaway_rate(branch, cash):
    from datetime import timedelta

    from django.utils import timezone

    from queueing.models import Ticket
    from queueing.states import TicketStatus

    assert selectors.walkaway_rate_today(branch=branch) == 0.0
    now = timezone.now()
    left, served, waiting = (services.ticket_issue(branch=branch, service=cash) for _ in range(3))
    # Called after 20 and 40 minutes; the first was not there.
    for ticket, status, waited in (
        (left, TicketStatus.NO_SHOW, 20),
        (served, TicketStatus.DONE, 40),
    ):
        Ticket.objects.filter(pk=ticket.pk).update(
            status=status, arrived_at=now - timedelta(minutes=waited), called_at=now
        )
    rate = selectors.walkaway_rate_today(branch=branch)
    assert rate == pytest.approx(1 / (60 * 60.0 + eta.WALKAWAY_PRIOR_EXPOSURE_S))
    # The customers still waiting add their time so far.
    Ticket.objects.filter(pk=waiting.pk).update(arrived_at=now - timedelta(minutes=60))
    snapshot = [t for t in selectors.waiting_snapshot(branch=branch) if t.id == waiting.pk]
    with_waiting = selectors.walkaway_rate_today(branch=branch, waiting=snapshot)
    assert with_waiting == pytest.approx(1 / (120 * 60.0 + eta.WALKAWAY_PRIOR_EXPOSURE_S), rel=1e-3)
    assert selectors.handling_stats(branch=branch, waiting=snapshot).walkaway_rate_per_s == (
        pytest.approx(with_waiting, rel=1e-3)
    )
