"""Training with attendance and participation; the lobby duty roster and its overview panel
(issue 10, item 6)."""

from datetime import datetime, time

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.errors import DomainError
from quality import scoring, selectors, services
from quality.models import DutyShift, TrainingAttendance

from .factories_inspections import *  # noqa: F403

pytestmark = pytest.mark.django_db


def _at(branch, day, hour):
    return datetime.combine(day, time(hour), tzinfo=branch.tz)


def test_session_expects_all_staff_by_default_and_counts_participation(
    branch, q_head, q_teller, teller, outsider, other_branch, q_region
):
    starts = timezone.now()
    session = services.training_session_create(
        user=q_head, branch=branch, title="Cash SOP", starts_at=starts
    )
    assert set(session.attendance.values_list("user_id", flat=True)) == {
        q_head.pk,
        q_teller.pk,
        teller.pk,
    }
    services.training_attendance_mark(
        session=session, user=q_head, attended_ids=[q_teller.pk, teller.pk]
    )
    with pytest.raises(DomainError):
        services.training_attendance_mark(session=session, user=q_head, attended_ids=[outsider.pk])
    with pytest.raises(DomainError):
        services.training_session_create(
            user=q_head, branch=branch, title="x", starts_at=starts, attendee_ids=[outsider.pk]
        )
    with pytest.raises(DomainError):
        services.training_session_create(user=q_teller, branch=branch, title="x", starts_at=starts)
    year, quarter = scoring.quarter_of(timezone.localdate())
    rows = selectors.participation_by_branch(
        branches=[branch, other_branch], year=year, quarter=quarter
    )
    assert rows[0]["came"] == 2 and rows[0]["expected"] == 3
    assert rows[0]["rate"] == pytest.approx(2 / 3)
    assert rows[1]["rate"] is None
    assert TrainingAttendance.objects.filter(attended=True).count() == 2


def test_training_pages_and_api(client, as_user, branch, q_head, q_teller, q_regional_head):
    client.cookies["django_language"] = "en"
    client.force_login(q_head)
    response = client.post(
        reverse("quality:training"),
        {
            "title": "Greeting",
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 45,
            "attendees": [q_teller.pk],
        },
    )
    assert response.status_code == 302
    session = TrainingAttendance.objects.get().session
    client.post(reverse("quality:training_session", args=[session.pk]), {"attended": [q_teller.pk]})
    assert TrainingAttendance.objects.get().attended is True
    assert client.post(reverse("quality:training"), {"title": ""}).status_code == 400
    client.force_login(q_regional_head)
    html = client.get(reverse("quality:training_participation")).content.decode()
    assert "1 / 1" in html and "100 %" in html
    api = as_user(q_head)
    response = api.post(
        "/api/quality/training/sessions/",
        {"title": "API", "starts_at": timezone.now().isoformat(), "attendees": [999999]},
        format="json",
    )
    assert response.status_code == 400
    response = api.post(
        "/api/quality/training/sessions/",
        {"title": "API", "starts_at": timezone.now().isoformat()},
        format="json",
    )
    assert response.status_code == 201 and response.json()["expected"] == 2
    rows = as_user(q_regional_head).get("/api/quality/training/participation/").json()
    assert rows[0]["branch_code"] == branch.code
    assert as_user(q_teller).get("/api/quality/training/sessions/").status_code == 403


def test_duty_refuses_overlaps_and_shows_who_is_on_duty(branch, q_head, q_teller, teller):
    day = timezone.localdate()
    shift = services.duty_shift_save(
        user=q_head,
        branch=branch,
        day=day,
        starts_at=time(9),
        ends_at=time(12),
        person_id=q_head.pk,
    )
    with pytest.raises(DomainError) as refused:
        services.duty_shift_save(
            user=q_head,
            branch=branch,
            day=day,
            starts_at=time(11),
            ends_at=time(13),
            person_id=q_teller.pk,
        )
    assert refused.value.code == "overlap"
    # Back to back is fine.
    services.duty_shift_save(
        user=q_head,
        branch=branch,
        day=day,
        starts_at=time(12),
        ends_at=time(17),
        person_id=teller.pk,
    )
    with pytest.raises(DomainError):
        services.duty_shift_save(
            user=q_teller,
            branch=branch,
            day=day,
            starts_at=time(18),
            ends_at=time(19),
            person_id=teller.pk,
        )
    assert selectors.duty_now(branch=branch, now=_at(branch, day, 10)) == shift
    assert selectors.duty_now(branch=branch, now=_at(branch, day, 12)).user == teller
    assert selectors.duty_now(branch=branch, now=_at(branch, day, 20)) is None


def test_duty_page_panel_and_api(client, as_user, branch, q_head, q_teller):
    client.cookies["django_language"] = "en"
    client.force_login(q_head)
    now = timezone.localtime(timezone.now(), branch.tz)
    start, end = time(0, 0), time(23, 59, 59)
    response = client.post(
        reverse("quality:duty"),
        {"date": now.date().isoformat(), "starts_at": start, "ends_at": end, "user": q_head.pk},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("quality:duty"),
        {"date": now.date().isoformat(), "starts_at": start, "ends_at": end, "user": q_teller.pk},
    )
    assert response.status_code == 400
    assert "overlaps another one" in response.content.decode()
    client.force_login(q_teller)
    panel = client.get(reverse("quality:duty_now")).content.decode()
    assert f"On duty now: Hao (until {end.strftime('%H:%M')})" in panel
    assert client.get(reverse("quality:duty")).status_code == 403
    api = as_user(q_head)
    rows = api.get("/api/quality/duty/shifts/").json()
    assert len(rows) == 1
    response = api.post(
        "/api/quality/duty/shifts/",
        {
            "date": now.date().isoformat(),
            "starts_at": "00:00",
            "ends_at": "00:00",
            "user": q_head.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert as_user(q_teller).get("/api/quality/duty/now/").json()["user"] == q_head.pk
    shift = DutyShift.objects.get()
    assert api.delete(f"/api/quality/duty/shifts/{shift.pk}/").status_code == 204


def test_the_overview_slot_has_the_duty_panel():
    from reception.extensions import panels_for

    assert "quality:duty_now" in [panel.url_name for panel in panels_for("overview")]
