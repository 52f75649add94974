"""kpi.metrics (pure): the rollup's columns, the wait histogram and its percentiles, the KPIs."""

import random

import pytest

from kpi.metrics import (
    MAX_FIELDS,
    METRIC_FIELDS,
    METRICS,
    SUM_FIELDS,
    WAIT_BUCKET_EDGES_MIN,
    WAIT_BUCKET_FIELDS,
    kpi_values,
    percentile_from_histogram,
    wait_bucket,
)
from kpi.models import KpiRollup

DIMENSIONS = {"id", "branch", "day", "hour", "weekday", "service", "teller"}


def test_the_models_columns_are_exactly_the_metrics_sum_and_max_fields():
    columns = {f.name for f in KpiRollup._meta.concrete_fields} - DIMENSIONS
    assert columns == set(SUM_FIELDS) | set(MAX_FIELDS)
    assert len(SUM_FIELDS) == len(set(SUM_FIELDS))
    assert len(WAIT_BUCKET_FIELDS) == len(WAIT_BUCKET_EDGES_MIN) + 1


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(-5, 0), (0, 0), (60, 0), (61, 1), (600, 9), (601, 10), (7200, 19), (7201, 20)],
)
def test_a_wait_falls_in_the_bucket_whose_upper_edge_it_reaches(seconds, bucket):
    assert wait_bucket(seconds) == bucket


def histogram(waits_s):
    counts = [0] * len(WAIT_BUCKET_FIELDS)
    for wait in waits_s:
        counts[wait_bucket(wait)] += 1
    return counts


def test_percentiles_interpolate_inside_the_bucket():
    # 10 waits spread evenly through 4..5 minutes: the median is half way.
    counts = histogram([4 * 60 + 6 * i for i in range(1, 11)])
    assert percentile_from_histogram(counts, 0.5) == pytest.approx(4.5 * 60)
    assert percentile_from_histogram(counts, 0.9) == pytest.approx(4.9 * 60)


def test_a_percentile_is_within_its_buckets_width_of_the_true_value():
    rng = random.Random(9)
    waits = [rng.expovariate(1 / 600) for _ in range(5000)]
    counts = histogram(waits)
    for q in (0.5, 0.9):
        true = sorted(waits)[int(q * len(waits)) - 1]
        index = wait_bucket(true)
        lower = WAIT_BUCKET_EDGES_MIN[index - 1] * 60 if index else 0
        upper = WAIT_BUCKET_EDGES_MIN[index] * 60
        assert abs(percentile_from_histogram(counts, q) - true) <= upper - lower


def test_percentiles_of_nothing_and_of_the_open_last_bucket():
    assert percentile_from_histogram([0] * len(WAIT_BUCKET_FIELDS), 0.5) is None
    counts = histogram([3 * 3600, 4 * 3600])
    assert percentile_from_histogram(counts, 0.9) == WAIT_BUCKET_EDGES_MIN[-1] * 60  # "at least"
    with pytest.raises(ValueError):
        percentile_from_histogram(counts, 1.0)
    with pytest.raises(ValueError):
        percentile_from_histogram([1, 2], 0.5)


def test_the_kpis_from_sums_and_none_without_a_denominator():
    empty = kpi_values({})
    assert set(empty) == set(METRICS)
    assert empty["avg_wait_s"] is None and empty["nps"] is None and empty["utilisation"] is None
    kpis = kpi_values(
        {
            "customers": 10,
            "no_shows": 1,
            "waited": 4,
            "wait_sum_s": 1200,
            "wait_within_target": 3,
            "served": 8,
            "completed": 6,
            "errors": 2,
            "teller_open_s": 7200,
            "teller_busy_s": 5400,
            "nps_count": 4,
            "nps_promoters": 2,
            "nps_detractors": 1,
        }
    )
    assert kpis["avg_wait_s"] == 300
    assert kpis["within_target_share"] == 0.75
    assert kpis["no_show_rate"] == 0.1
    assert kpis["resolution_rate"] == 0.75
    assert kpis["error_rate"] == 0.25
    assert kpis["utilisation"] == 0.75
    assert kpis["customers_per_teller_hour"] == 4
    assert kpis["nps"] == 25


@pytest.mark.parametrize("seed", range(5))
def test_each_metric_reads_exactly_its_metric_fields(seed):
    """METRIC_FIELDS (what a one-KPI slice sums) against kpi_values itself: the listed columns
    alone give the same value, and zeroing any of them changes it (none is listed for nothing)."""
    rng = random.Random(seed)
    sums = {name: float(rng.randint(1, 1000)) for name in (*SUM_FIELDS, *MAX_FIELDS)}
    full = kpi_values(sums)
    assert set(METRIC_FIELDS) == set(METRICS) == set(full)
    for metric, fields in METRIC_FIELDS.items():
        assert set(fields) <= set(SUM_FIELDS) | set(MAX_FIELDS), metric
        only = {name: sums[name] for name in fields}
        assert kpi_values(only)[metric] == pytest.approx(full[metric]), metric
        for name in fields:
            assert kpi_values(only | {name: 0.0})[metric] != full[metric], (metric, name)
