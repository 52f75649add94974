"""Inspections (issue 10, item 3): start, answer, photos, submit and scores; coverage; scoring."""

from datetime import date

import pytest
from django.urls import reverse

from accounts.errors import DomainError
from quality import scoring, selectors, services
from quality.models import Attachment, Finding, Inspection, InspectionKind

from .factories_inspections import *  # noqa: F403
from .factories_inspections import ChecklistFactory, jpeg_file, schedule_for

pytestmark = pytest.mark.django_db


def _answer_all(inspection, user, outcomes: dict[str, str], items):
    for key, outcome in outcomes.items():
        result = inspection.results.get(item=items[key])
        services.inspection_answer(
            inspection=inspection, user=user, result_id=result.pk, outcome=outcome
        )


# --- pure scoring ----------------------------------------------------------------------------


def test_weighted_score_leaves_out_not_applicable_items():
    answers = [
        scoring.ItemAnswer("manner", 2, True),
        scoring.ItemAnswer("environment", 1, False),
        scoring.ItemAnswer("process", 5, None),
    ]
    assert scoring.weighted_score(answers) == 66.7
    assert scoring.category_scores(answers) == {"environment": 0.0, "manner": 100.0}
    assert scoring.weighted_score([scoring.ItemAnswer("x", 1, None)]) is None


def test_due_dates_follow_the_calendar_period_after_the_last_visit():
    today = date(2026, 5, 20)
    assert scoring.due_after(
        last_visit=date(2026, 2, 3), starts_on=date(2025, 1, 1), frequency="quarterly", today=today
    ) == date(2026, 6, 30)
    assert scoring.due_after(
        last_visit=date(2026, 3, 31), starts_on=date(2025, 1, 1), frequency="monthly", today=today
    ) == date(2026, 4, 30)
    # Never inspected: due by the end of the current period.
    assert scoring.due_after(
        last_visit=None, starts_on=date(2025, 1, 1), frequency="quarterly", today=today
    ) == date(2026, 6, 30)


def test_benchmark_naming_rule():
    rows = [
        scoring.BenchmarkRow(branch_id=i, measure=m, inspection_score=s)
        for i, m, s in [
            (1, 95, 95),
            (2, 80, 80),
            (3, 85, 65),
            (4, 75, 75),
            (5, 60, 88),
            (6, None, None),
        ]
    ]
    ranked = {r.branch_id: r for r in scoring.name_benchmark(rows)}
    assert ranked[1].rank == 1 and ranked[1].label == "benchmark"
    assert ranked[3].label == "improve"  # score below 70, whatever the rank
    assert ranked[5].rank == 5 and ranked[5].label == "improve"  # bottom fifth
    assert ranked[2].label == ranked[4].label == ""
    assert ranked[6].rank is None and ranked[6].label == ""
    # The top branch with a score under 90 is not named a benchmark.
    solo = scoring.name_benchmark(
        [scoring.BenchmarkRow(1, 99, 89), scoring.BenchmarkRow(2, 50, 80)]
    )
    assert [r.label for r in solo] == ["", "improve"]


# --- services -------------------------------------------------------------------------------


def test_inspector_starts_answers_and_submits_with_scores_and_findings(
    branch, q_inspector, q_head, mystery
):
    checklist, items = mystery
    inspection = services.inspection_start(user=q_inspector, branch=branch, checklist=checklist)
    assert inspection.kind == InspectionKind.MYSTERY_SHOPPER
    assert inspection.results.count() == 3
    assert inspection.results.get(item=items["greet"]).text == items["greet"].text_zh
    _answer_all(inspection, q_inspector, {"greet": "pass", "tidy": "fail", "queue": "na"}, items)
    tidy = inspection.results.get(item=items["tidy"])
    with pytest.raises(services.InspectionIncomplete) as refused:
        services.inspection_submit(inspection=inspection, user=q_inspector)
    assert list(refused.value.item_errors) == [tidy.pk]
    services.inspection_photo_add(
        inspection=inspection, user=q_inspector, result_id=tidy.pk, upload=jpeg_file()
    )
    inspection = services.inspection_submit(inspection=inspection, user=q_inspector)
    assert inspection.status == Inspection.Status.SUBMITTED
    assert inspection.score == pytest.approx(66.7)
    assert inspection.category_scores == {"environment": 0.0, "manner": 100.0}
    finding = Finding.objects.get(inspection=inspection)
    assert finding.item == items["tidy"] and finding.owner == q_head
    assert finding.status == Finding.Status.OPEN
    assert (finding.due_on - inspection.visited_on).days == 14
    with pytest.raises(DomainError):
        services.inspection_answer(
            inspection=inspection, user=q_inspector, result_id=tidy.pk, outcome="pass"
        )


def test_only_the_regions_inspector_inspects_and_only_the_head_self_checks(
    branch, other_branch, q_inspector, q_head, teller, mystery
):
    checklist, _ = mystery
    from accounts.models import Region

    far = Region.objects.create(code="west", name="西区")
    other_branch.region = far
    other_branch.save(update_fields=["region"])
    with pytest.raises(DomainError):
        services.inspection_start(user=q_inspector, branch=other_branch, checklist=checklist)
    with pytest.raises(DomainError):
        services.inspection_start(user=q_head, branch=branch, checklist=checklist)
    self_check = ChecklistFactory(kind=InspectionKind.SELF_CHECK)
    assert services.inspection_start(user=q_head, branch=branch, checklist=self_check).pk
    with pytest.raises(DomainError):
        services.inspection_start(user=teller, branch=branch, checklist=self_check)


def test_uploads_are_checked_by_their_bytes(branch, q_inspector, mystery):
    from django.core.files.uploadedfile import SimpleUploadedFile

    checklist, _items = mystery
    inspection = services.inspection_start(user=q_inspector, branch=branch, checklist=checklist)
    result = inspection.results.first()
    fake = SimpleUploadedFile("x.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    with pytest.raises(DomainError) as refused:
        services.inspection_photo_add(
            inspection=inspection, user=q_inspector, result_id=result.pk, upload=fake
        )
    assert refused.value.code == "type"
    assert not Attachment.objects.exists()


# --- pages ----------------------------------------------------------------------------------


def test_tablet_page_refuses_submit_without_the_required_photo_then_accepts(
    client, branch, q_inspector, q_head, mystery
):
    checklist, items = mystery
    client.cookies["django_language"] = "en"
    client.force_login(q_inspector)
    response = client.post(
        reverse("quality:inspections"), {"branch": branch.pk, "checklist": checklist.pk}
    )
    inspection = Inspection.objects.get()
    assert response.url == reverse("quality:inspection", args=[inspection.pk])
    page = reverse("quality:inspection", args=[inspection.pk])
    for key, outcome in (("greet", "pass"), ("tidy", "fail"), ("queue", "pass")):
        result = inspection.results.get(item=items[key])
        assert client.post(page, {"result": result.pk, "outcome": outcome}).status_code == 302
    response = client.post(page, {"submit": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This item needs a photo." in html
    tidy = inspection.results.get(item=items["tidy"])
    client.post(page, {"result": tidy.pk, "outcome": "fail", "photo": jpeg_file()})
    assert client.post(page, {"submit": "1"}).status_code == 302
    inspection.refresh_from_db()
    assert inspection.score == 75.0
    html = client.get(page).content.decode()
    assert "75.0 %" in html
    photo = Attachment.objects.get()
    assert client.get(reverse("quality:attachment", args=[photo.pk])).status_code == 200


def test_attachments_and_inspections_are_not_served_to_outsiders(
    client, branch, q_inspector, outsider, mystery
):
    checklist, _ = mystery
    inspection = services.inspection_start(user=q_inspector, branch=branch, checklist=checklist)
    result = inspection.results.first()
    photo = services.inspection_photo_add(
        inspection=inspection, user=q_inspector, result_id=result.pk, upload=jpeg_file()
    )
    client.force_login(outsider)
    assert client.get(reverse("quality:attachment", args=[photo.pk])).status_code == 403
    assert client.get(reverse("quality:inspection", args=[inspection.pk])).status_code == 403


def test_coverage_marks_overdue_schedules_and_the_quarter_figure(
    client, branch, other_branch, q_inspector, mystery, django_assert_max_num_queries
):
    checklist, _items = mystery
    schedule_for(branch, checklist, frequency="monthly", starts_on=date(2020, 1, 1))
    schedule_for(other_branch, checklist, frequency="quarterly", starts_on=date(2020, 1, 1))
    old = services.inspection_start(
        user=q_inspector, branch=branch, checklist=checklist, visited_on=date(2020, 3, 3)
    )
    Inspection.objects.filter(pk=old.pk).update(status=Inspection.Status.SUBMITTED)
    from django.utils import timezone

    rows = selectors.coverage_rows(branches=[branch, other_branch], today=timezone.localdate())
    by_branch = {row.branch.pk: row for row in rows}
    assert by_branch[branch.pk].overdue is True
    assert by_branch[branch.pk].last_visit == date(2020, 3, 3)
    assert by_branch[other_branch.pk].overdue is False  # due by the end of this quarter
    summary = selectors.coverage_summary(rows)
    assert summary == {"branches": 2, "covered": 0, "percent": 0.0, "overdue": 1}
    client.cookies["django_language"] = "en"
    client.force_login(q_inspector)
    with django_assert_max_num_queries(12):
        html = client.get(reverse("quality:coverage")).content.decode()
    assert 'class="overdue"' in html
    assert "0.0 % coverage" in html


def test_api_start_answer_photo_submit(as_user, branch, q_inspector, q_head, outsider, mystery):
    checklist, items = mystery
    api = as_user(q_inspector)
    assert [c["code"] for c in api.get("/api/quality/checklists/").json()] == ["mystery"]
    response = api.post("/api/quality/inspections/", {"branch": branch.pk, "checklist": 0})
    assert response.status_code == 400 and "checklist" in response.json()
    response = api.post(
        "/api/quality/inspections/", {"branch": branch.pk, "checklist": checklist.pk}
    )
    assert response.status_code == 201
    body = response.json()
    base = f"/api/quality/inspections/{body['id']}"
    results = {r["item"]: r["id"] for r in body["results"]}
    for key in ("greet", "tidy", "queue"):
        response = api.post(
            f"{base}/results/", {"result": results[items[key].pk], "answer": "pass"}
        )
        assert response.status_code == 200 and response.json()["passed"] is True
    assert api.post(f"{base}/results/", {"result": 1, "answer": "maybe"}).status_code == 400
    response = api.post(f"{base}/submit/", {})
    assert response.status_code == 400
    assert response.json()["results"] == {
        str(results[items["tidy"].pk]): ["This item needs a photo."]
    }
    response = api.post(
        f"{base}/photos/",
        {"result": results[items["tidy"].pk], "file": jpeg_file()},
        format="multipart",
    )
    assert response.status_code == 201 and response.json()["content_type"] == "image/jpeg"
    response = api.post(f"{base}/submit/", {})
    assert response.status_code == 200 and response.json()["score"] == 100.0
    coverage = as_user(q_head).get("/api/quality/coverage/").json()
    assert coverage["rows"] == []
    assert as_user(q_head).get(base + "/").status_code == 200
    assert as_user(outsider).get(base + "/").status_code == 403
