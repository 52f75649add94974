"""Findings (issue 10, item 4): assign, fix with evidence, close, re-check, reminders and
escalation (beat tasks called as functions), the pages and the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.errors import DomainError
from quality import services
from quality.models import Finding, FindingEvent
from quality.tasks import check_findings

from .factories_inspections import *  # noqa: F403
from .factories_inspections import jpeg_file, pdf_file

pytestmark = pytest.mark.django_db


def _inspect(user, branch, checklist, items, outcomes):
    inspection = services.inspection_start(user=user, branch=branch, checklist=checklist)
    for key, item in items.items():
        result = inspection.results.get(item=item)
        services.inspection_answer(
            inspection=inspection, user=user, result_id=result.pk, outcome=outcomes.get(key, "pass")
        )
        if item.evidence_required:
            services.inspection_photo_add(
                inspection=inspection, user=user, result_id=result.pk, upload=jpeg_file()
            )
    return services.inspection_submit(inspection=inspection, user=user)


@pytest.fixture
def finding(branch, q_inspector, q_head, mystery):
    checklist, items = mystery
    _inspect(q_inspector, branch, checklist, items, {"greet": "fail"})
    return Finding.objects.get()


def test_owner_fixes_with_evidence_and_the_head_closes(finding, q_head, q_teller):
    services.finding_assign(finding=finding, user=q_head, owner_id=q_teller.pk)
    with pytest.raises(DomainError) as refused:
        services.finding_fix(finding=finding, user=q_teller, note="Briefed the staff")
    assert refused.value.code == "evidence"
    with pytest.raises(DomainError):
        services.finding_close(finding=finding, user=q_head)  # not fixed yet
    services.finding_fix(finding=finding, user=q_teller, note="Briefed", upload=pdf_file())
    with pytest.raises(DomainError):
        services.finding_close(finding=finding, user=q_teller)  # only the branch head
    finding = services.finding_close(finding=finding, user=q_head)
    assert finding.status == Finding.Status.CLOSED and finding.closed_at
    assert list(finding.events.values_list("action", flat=True)) == [
        "created",
        "assigned",
        "fixed",
        "closed",
    ]


def test_head_may_assign_only_to_the_branchs_staff(finding, q_head, outsider, q_inspector):
    with pytest.raises(DomainError):
        services.finding_assign(finding=finding, user=q_head, owner_id=outsider.pk)
    with pytest.raises(DomainError):
        services.finding_assign(finding=finding, user=q_inspector, owner_id=q_head.pk)


def test_the_next_inspection_rechecks_and_a_failure_reopens(
    branch, finding, q_inspector, q_head, mystery
):
    checklist, items = mystery
    services.finding_fix(finding=finding, user=q_head, note="Done", upload=jpeg_file())
    services.finding_close(finding=finding, user=q_head)
    second = _inspect(q_inspector, branch, checklist, items, {"greet": "fail"})
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN
    assert finding.recheck_inspection == second and finding.recheck_passed is False
    assert finding.closed_at is None
    # Reopened, not duplicated.
    assert Finding.objects.count() == 1
    third = _inspect(q_inspector, branch, checklist, items, {})
    finding.refresh_from_db()
    assert finding.recheck_inspection == third and finding.recheck_passed is True
    assert list(finding.events.values_list("action", flat=True))[-2:] == [
        "reopened",
        "recheck_passed",
    ]


def test_recheck_shows_on_the_next_inspections_item(client, branch, finding, q_inspector, mystery):
    checklist, _items = mystery
    nxt = services.inspection_start(user=q_inspector, branch=branch, checklist=checklist)
    client.cookies["django_language"] = "en"
    client.force_login(q_inspector)
    html = client.get(reverse("quality:inspection", args=[nxt.pk])).content.decode()
    assert html.count("re-check") == 1
    assert 'data-item="greet"' in html.split("re-check")[0].rsplit("<li", 1)[1]


def test_reminders_and_escalation_are_idempotent(finding, settings):
    settings.QUALITY_FINDING_REMIND_DAYS = 3
    settings.QUALITY_ESCALATION_DAYS = 7
    today = timezone.localdate()
    assert services.findings_remind_due(today=today) == 0  # due in 14 days
    assert services.findings_remind_due(today=finding.due_on - timedelta(days=3)) == 1
    assert services.findings_remind_due(today=finding.due_on - timedelta(days=1)) == 0
    assert services.findings_escalate_overdue(today=finding.due_on) == 0
    assert services.findings_escalate_overdue(today=finding.due_on + timedelta(days=1)) == 1
    assert services.findings_escalate_overdue(today=finding.due_on + timedelta(days=2)) == 0
    assert services.findings_escalate_overdue(today=finding.due_on + timedelta(days=8)) == 1
    assert services.findings_escalate_overdue(today=finding.due_on + timedelta(days=30)) == 0
    finding.refresh_from_db()
    assert finding.escalation_level == 2
    actions = list(FindingEvent.objects.values_list("action", flat=True))
    assert actions.count("reminded") == 1
    assert actions.count("escalated_1") == 1 and actions.count("escalated_2") == 1


def test_the_beat_task_runs_both(finding):
    Finding.objects.filter(pk=finding.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    assert check_findings() == (1, 1)
    assert check_findings() == (0, 0)


def test_pages_fix_and_close(client, finding, q_head):
    client.cookies["django_language"] = "en"
    client.force_login(q_head)
    listing = client.get(reverse("quality:findings")).content.decode()
    assert "My findings" in listing and f'data-finding="{finding.pk}"' in listing
    page = reverse("quality:finding", args=[finding.pk])
    response = client.post(page, {"action": "fix", "note": "Fixed"})
    assert response.status_code == 400
    assert "Attach a photo or document as evidence." in response.content.decode()
    response = client.post(page, {"action": "fix", "note": "Fixed", "evidence": jpeg_file()})
    assert response.status_code == 302
    assert client.post(page, {"action": "close"}).status_code == 302
    finding.refresh_from_db()
    assert finding.status == Finding.Status.CLOSED


def test_a_teller_who_owns_a_finding_reads_it_and_others_do_not(
    client, finding, q_head, q_teller, outsider
):
    services.finding_assign(finding=finding, user=q_head, owner_id=q_teller.pk)
    client.force_login(q_teller)
    assert client.get(reverse("quality:finding", args=[finding.pk])).status_code == 200
    client.force_login(outsider)
    assert client.get(reverse("quality:finding", args=[finding.pk])).status_code == 404


def test_api_lists_fixes_and_closes(as_user, finding, q_head, q_teller, outsider):
    api = as_user(q_head)
    rows = api.get("/api/quality/findings/", {"open_only": "true"}).json()["results"]
    assert [row["id"] for row in rows] == [finding.pk]
    response = api.post(f"/api/quality/findings/{finding.pk}/assign/", {"owner": 0})
    assert response.status_code == 400 and "owner" in response.json()
    assert (
        api.post(f"/api/quality/findings/{finding.pk}/assign/", {"owner": q_teller.pk}).status_code
        == 200
    )
    teller = as_user(q_teller)
    response = teller.post(f"/api/quality/findings/{finding.pk}/fix/", {"note": "x"})
    assert response.status_code == 400 and response.json()["code"] == "evidence"
    response = teller.post(
        f"/api/quality/findings/{finding.pk}/fix/",
        {"note": "x", "evidence": jpeg_file()},
        format="multipart",
    )
    assert response.status_code == 200 and response.json()["status"] == "fixed"
    assert api.post(f"/api/quality/findings/{finding.pk}/close/", {}).json()["status"] == "closed"
    assert as_user(outsider).post(f"/api/quality/findings/{finding.pk}/close/").status_code == 403
    # A member of staff reaches the list (their own findings only) but not this one's fix.
    assert as_user(outsider).get("/api/quality/findings/").json()["results"] == []
