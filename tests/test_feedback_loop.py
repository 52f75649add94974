"""The closed loop (issue 8): bad answers open follow-ups, the suggestion box, the feedback page."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import Complaint, Interaction
from feedback import metrics, selectors, services
from feedback.links import suggest_token, survey_token
from feedback.models import FollowUp, Suggestion, SurveyInvitation, SurveyResponse
from feedback.sms import LocmemBackend

from .factories import CustomerFactory

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_link_time")

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- pure arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"satisfaction": 2}, "satisfaction:2"),
        ({"satisfaction": 3}, ""),
        ({"satisfaction": 5, "recommend": 6}, "nps:6"),
        ({"satisfaction": 5, "recommend": 7}, ""),
        ({"pad_rating": "dissatisfied"}, "pad"),
        ({"pad_rating": "satisfied"}, ""),
        ({"answers": {"waiting": 1}, "rating_keys": ["waiting"]}, "rating:waiting:1"),
        ({"answers": {"waiting": "2"}, "rating_keys": ["waiting"]}, "rating:waiting:2"),
        ({"answers": {"waiting": 3}, "rating_keys": ["waiting"]}, ""),
        ({"answers": {"nps": 0}, "nps_keys": ["nps"]}, "nps:nps:0"),
        ({"answers": {"waiting": True}, "rating_keys": ["waiting"]}, ""),
        ({}, ""),
    ],
)
def test_follow_up_reason(kwargs, reason):
    assert metrics.follow_up_reason(**kwargs) == reason


def test_csat_nps_and_rate():
    c = metrics.csat([5, 4, 3, 1, None, 9])
    assert (c.answers, c.satisfied, c.share) == (4, 2, 0.5)
    assert metrics.csat([]).share is None
    n = metrics.nps([10, 9, 8, 7, 6, 0, None, 11])
    assert (n.answers, n.promoters, n.detractors) == (6, 2, 2)
    assert n.score == 0
    assert metrics.nps([10, 10, 3, 9]).score == 50
    assert metrics.nps([]).score is None
    assert metrics.response_rate(answered=3, sent=4) == 0.75
    assert metrics.response_rate(answered=0, sent=0) is None
    qs = [
        {"key": "a", "kind": "rating"},
        {"key": "b", "kind": "nps"},
        {"key": "c", "kind": "rating"},
    ]
    assert metrics.question_keys(qs, "rating") == ["a", "c"]


# --- services ------------------------------------------------------------------------------------


@pytest.fixture
def invitation(branch):
    customer = CustomerFactory(phone="13912345678", sms_consent=True, preferred_language="en")
    interaction = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI),
        service_code="cash",
    )
    return SurveyInvitation.objects.create(
        customer=customer,
        branch=branch,
        interaction=interaction,
        status=SurveyInvitation.Status.SENT,
        sent_at=timezone.now(),
    )


def test_a_low_score_with_a_comment_opens_a_follow_up_and_a_complaint(invitation):
    response = services.response_submit(
        token=survey_token(invitation.pk), satisfaction=2, recommend=8, comment="等太久了"
    )
    follow_up = FollowUp.objects.get(response=response)
    assert follow_up.status == FollowUp.Status.OPEN
    assert follow_up.reason == "satisfaction:2"
    complaint = Complaint.objects.get(pk=follow_up.complaint_id)
    assert complaint.source == f"survey:{response.pk}"
    assert complaint.details == "等太久了"
    assert complaint.customer_id == invitation.customer_id
    # idempotent
    assert services.follow_up_open_for(response) == follow_up


def test_a_low_nps_without_comment_opens_a_follow_up_without_complaint(invitation):
    response = services.response_submit(
        token=survey_token(invitation.pk), satisfaction=4, recommend=3
    )
    assert FollowUp.objects.get(response=response).complaint_id is None


def test_a_good_answer_opens_nothing(invitation):
    response = services.response_submit(
        token=survey_token(invitation.pk), satisfaction=5, recommend=10, comment="很好"
    )
    assert not FollowUp.objects.filter(response=response).exists()


def test_a_dissatisfied_tap_opens_a_follow_up(branch):
    response = SurveyResponse.objects.create(
        branch=branch,
        channel=SurveyResponse.Channel.COUNTER_PAD,
        pad_rating="dissatisfied",
        pad_reason="waiting",
        submitted_at=timezone.now(),
    )
    follow_up = services.follow_up_open_for(response)
    assert follow_up.reason == "pad"
    assert follow_up.complaint_id is not None  # the reason is the comment


def test_the_branch_head_records_the_call_and_closes(invitation, branch_head, teller, branch):
    response = services.response_submit(token=survey_token(invitation.pk), satisfaction=1)
    follow_up = response.follow_up
    with pytest.raises(PermissionDenied):
        services.follow_up_record_call(
            follow_up_id=follow_up.pk, branch=branch, by=teller, result="x"
        )
    with pytest.raises(services.FollowUpError):
        services.follow_up_close(follow_up_id=follow_up.pk, branch=branch, by=branch_head)
    with pytest.raises(services.FollowUpError):
        services.follow_up_record_call(
            follow_up_id=follow_up.pk, branch=branch, by=branch_head, result="  "
        )
    services.follow_up_record_call(
        follow_up_id=follow_up.pk, branch=branch, by=branch_head, result="Apologised; OK now"
    )
    closed = services.follow_up_close(follow_up_id=follow_up.pk, branch=branch, by=branch_head)
    assert closed.status == FollowUp.Status.DONE
    assert closed.called_at and closed.closed_by == branch_head
    with pytest.raises(services.FollowUpError):
        services.follow_up_close(follow_up_id=follow_up.pk, branch=branch, by=branch_head)


def test_another_branch_cannot_touch_the_follow_up(invitation, other_branch, outsider):
    response = services.response_submit(token=survey_token(invitation.pk), satisfaction=1)
    with pytest.raises((PermissionDenied, services.FollowUpError)):
        services.follow_up_close(
            follow_up_id=response.follow_up.pk, branch=other_branch, by=outsider, result="x"
        )


def test_suggestion_answered_tells_the_author_once(
    branch, branch_head, django_capture_on_commit_callbacks
):
    with pytest.raises(services.SuggestionError):
        services.suggestion_create(branch=branch, text="  ")
    with pytest.raises(services.SuggestionError):
        services.suggestion_create(branch=branch, text="More chairs", contact_phone="12")
    suggestion = services.suggestion_create(
        branch=branch, text="More chairs", contact_phone="+86 139 1234 5678"
    )
    assert suggestion.contact_phone == "13912345678"
    assert suggestion.source == Suggestion.Source.CUSTOMER
    with pytest.raises(services.SuggestionError):
        services.suggestion_answer(
            suggestion_id=suggestion.pk, branch=branch, by=branch_head, status="new", answer="x"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.suggestion_answer(
            suggestion_id=suggestion.pk,
            branch=branch,
            by=branch_head,
            status="adopted",
            answer="Ten more chairs next week.",
        )
    suggestion.refresh_from_db()
    assert suggestion.status == "adopted" and suggestion.author_told_at is not None
    assert [m.to for m in LocmemBackend.outbox] == ["13912345678"]
    assert "Ten more chairs" in LocmemBackend.outbox[0].body
    assert LocmemBackend.outbox[0].idempotency_key == services.suggestion_idempotency_key(
        suggestion.pk
    )
    with pytest.raises(services.SuggestionError):
        services.suggestion_answer(
            suggestion_id=suggestion.pk,
            branch=branch,
            by=branch_head,
            status="declined",
            answer="x",
        )


def test_staff_suggestion_needs_membership(branch, teller, outsider):
    s = services.suggestion_create(branch=branch, text="Label the forms", author=teller)
    assert s.source == Suggestion.Source.STAFF
    with pytest.raises(PermissionDenied):
        services.suggestion_create(branch=branch, text="x", author=outsider)


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def test_follow_up_page_records_call_and_closes(en_client, invitation, branch_head, teller):
    response = services.response_submit(
        token=survey_token(invitation.pk), satisfaction=1, comment="等太久了"
    )
    follow_up = response.follow_up
    en_client.force_login(teller)
    assert en_client.get(reverse("feedback:follow_ups")).status_code == 403
    en_client.force_login(branch_head)
    page = en_client.get(reverse("feedback:follow_ups"))
    assert page.status_code == 200 and "等太久了" in page.content.decode()
    detail = en_client.get(reverse("feedback:follow_up", args=[follow_up.pk]))
    assert "等太久了" in detail.content.decode()
    bad = en_client.post(reverse("feedback:follow_up_action", args=[follow_up.pk, "close"]))
    assert bad.status_code == 400
    assert (
        en_client.post(
            reverse("feedback:follow_up_action", args=[follow_up.pk, "nope"])
        ).status_code
        == 404
    )
    en_client.post(
        reverse("feedback:follow_up_action", args=[follow_up.pk, "call"]),
        {"result": "Apologised"},
    )
    done = en_client.post(reverse("feedback:follow_up_action", args=[follow_up.pk, "close"]))
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and follow_up.result == "Apologised"
    report = en_client.get(reverse("feedback:report"))
    assert "Followed up" in report.content.decode()


def test_another_branch_head_gets_404(en_client, invitation, other_branch):
    from .conftest import _member

    response = services.response_submit(token=survey_token(invitation.pk), satisfaction=1)
    head = _member(other_branch, "branch_head", "otherhead")
    en_client.force_login(head)
    url = reverse("feedback:follow_up", args=[response.follow_up.pk])
    assert en_client.get(url).status_code == 404


def test_public_suggestion_page(en_client, branch):
    url = reverse("feedback:suggest", args=[suggest_token(branch.pk)])
    assert en_client.get(url).status_code == 200
    assert en_client.get(url + "x/").status_code == 404
    assert en_client.get(reverse("feedback:suggest", args=["1:forged"])).status_code == 404
    assert en_client.post(url, {"text": ""}).status_code == 400
    assert en_client.post(url, {"text": "x", "contact_phone": "abc"}).status_code == 400
    ok = en_client.post(url, {"text": "More chairs", "contact_phone": "13912345678"})
    assert ok.status_code == 200
    assert Suggestion.objects.get().contact_phone == "13912345678"


def test_staff_suggestions_and_answer(en_client, branch, teller, branch_head):
    en_client.force_login(teller)
    url = reverse("feedback:suggestions")
    assert en_client.post(url, {"text": "Label the forms"}).status_code == 302
    suggestion = Suggestion.objects.get()
    assert (
        en_client.post(
            reverse("feedback:suggestion_answer", args=[suggestion.pk]),
            {"status": "adopted", "answer": "ok"},
        ).status_code
        == 403
    )
    en_client.force_login(branch_head)
    en_client.post(
        reverse("feedback:suggestion_answer", args=[suggestion.pk]),
        {"status": "adopted", "answer": "Done next week"},
    )
    suggestion.refresh_from_db()
    assert suggestion.status == "adopted"
    en_client.force_login(teller)
    assert "Done next week" in en_client.get(url).content.decode()


def test_report_page_and_bad_dates(en_client, invitation, branch_head):
    services.response_submit(token=survey_token(invitation.pk), satisfaction=5, recommend=10)
    en_client.force_login(branch_head)
    page = en_client.get(reverse("feedback:report"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "100 %" in body  # response rate 1/1, CSAT 1/1
    assert en_client.get(reverse("feedback:report"), {"start": "nonsense"}).status_code == 400
    assert en_client.get(reverse("feedback:report"), {"start": "2020-01-01"}).status_code == 200


def test_poster_links_the_suggestion_box(en_client, branch):
    from reception.links import branch_url

    page = en_client.get(branch_url(branch.pk))
    assert reverse("feedback:suggest", args=[suggest_token(branch.pk)]) in page.content.decode()


# --- API -----------------------------------------------------------------------------------------


def test_api_follow_ups_and_suggestions(as_user, invitation, branch_head, teller, branch):
    response = services.response_submit(
        token=survey_token(invitation.pk), satisfaction=1, comment="太慢"
    )
    head = as_user(branch_head)
    listed = head.get("/api/feedback/follow-ups/", {"status": "open"})
    assert listed.status_code == 200
    assert listed.json()["results"][0]["comment"] == "太慢"
    assert head.get("/api/feedback/follow-ups/", {"status": "bad"}).status_code == 400
    assert head.get("/api/feedback/follow-ups/", {"start": "x"}).status_code == 400
    pk = response.follow_up.pk
    assert as_user(teller).get("/api/feedback/follow-ups/").status_code == 403
    assert head.post(f"/api/feedback/follow-ups/{pk}/close/", {}).status_code == 400
    assert (
        head.post(f"/api/feedback/follow-ups/{pk}/call/", {"result": "Apologised"}).status_code
        == 200
    )
    closed = head.post(f"/api/feedback/follow-ups/{pk}/close/", {})
    assert closed.status_code == 200 and closed.json()["status"] == "done"
    assert head.post("/api/feedback/follow-ups/999999/close/", {}).status_code == 404

    created = as_user(teller).post("/api/feedback/suggestions/", {"text": "Water dispenser"})
    assert created.status_code == 201
    sid = created.json()["id"]
    assert as_user(teller).post("/api/feedback/suggestions/", {"text": ""}).status_code == 400
    assert (
        as_user(teller)
        .post(f"/api/feedback/suggestions/{sid}/answer/", {"status": "adopted", "answer": "x"})
        .status_code
        == 403
    )
    answered = head.post(
        f"/api/feedback/suggestions/{sid}/answer/", {"status": "declined", "answer": "No room"}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "declined"
    assert head.get("/api/feedback/suggestions/").json()["results"][0]["answer"] == "No room"
    assert head.get("/api/feedback/pad-answers/").status_code == 200
    # A branch without a survey gets the default one on first use.
    current = head.get("/api/feedback/surveys/current/")
    assert current.status_code == 200 and current.json()["number"] == 1


def loop_rows(branch) -> None:
    """One row in each of the closed loop's API lists (tests/test_bad_input.py's one_of_each):
    a "dissatisfied" pad tap (and so a follow-up) and a suggestion."""
    tap = SurveyResponse.objects.create(
        branch=branch,
        channel=SurveyResponse.Channel.COUNTER_PAD,
        pad_rating="dissatisfied",
        pad_reason="waiting",
        submitted_at=timezone.now(),
    )
    services.follow_up_open_for(tap)
    services.suggestion_create(branch=branch, text="More chairs")


def test_report_figures_per_teller_and_timeline(invitation, branch, teller, branch_head):
    Interaction.objects.filter(pk=invitation.interaction_id).update(staff=teller)
    response = services.response_submit(
        token=survey_token(invitation.pk), satisfaction=2, recommend=10, comment="slow"
    )
    report = selectors.feedback_report(branch=branch)
    assert report["sent"] == 1 and report["answered"] == 1 and report["response_rate"] == 1
    assert report["nps"].score == 100
    [teller_row] = report["by_teller"]
    assert (
        teller_row["name"] == teller.get_username() or teller_row["name"] == teller.get_full_name()
    )
    assert teller_row["csat"].share == 0
    assert report["comments"][0]["follow_up"] == response.follow_up
    services.follow_up_close(
        follow_up_id=response.follow_up.pk, branch=branch, by=branch_head, result="Called"
    )
    from crm.timeline import timeline_for

    with translation.override("en"):
        entries = timeline_for(customer=invitation.customer, branch=branch, limit=20)
    [entry] = [e for e in entries if e.kind == "survey_follow_up"]
    assert entry.detail == "Called" and entry.badge == "Followed up"


def test_api_responses_filter_and_show_the_follow_up(as_user, invitation, branch_head):
    response = services.response_submit(token=survey_token(invitation.pk), satisfaction=1)
    head = as_user(branch_head)
    rows = head.get("/api/feedback/responses/", {"followed_up": "true"}).json()["results"]
    assert [(r["id"], r["follow_up"]) for r in rows] == [(response.pk, "open")]
    assert head.get("/api/feedback/responses/", {"followed_up": "false"}).json()["count"] == 0
    assert head.get("/api/feedback/responses/", {"channel": "counter_pad"}).json()["count"] == 0
    assert head.get("/api/feedback/responses/", {"start": "2020-13-01"}).status_code == 400
    assert head.get("/api/feedback/responses/", {"channel": "x"}).status_code == 400
