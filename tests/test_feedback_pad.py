"""Issue 8 (H11): the counter rating pad and the phone call-back survey."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from crm.models import Interaction
from feedback import selectors, services
from feedback.models import RatingPad, SurveyInvitation, SurveyResponse
from feedback.pad_rules import pad_reason_valid, pad_satisfaction
from queueing import services as queue

from .factories import CustomerFactory, MembershipFactory, UserFactory

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_link_time")


@pytest.fixture
def pad(branch, counter):
    return RatingPad.objects.create(
        branch=branch, counter_id=counter.pk, token=services.new_pad_token()
    )


@pytest.fixture
def finished(branch, cash, counter, teller):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    called = queue.ticket_call_next(counter=counter, teller=teller)
    assert called.pk == ticket.pk
    queue.ticket_start(ticket_id=ticket.pk, by=teller)
    return queue.ticket_finish(ticket_id=ticket.pk, by=teller)


def pad_url(pad, name="pad"):
    return reverse(f"feedback:{name}", args=[pad.token])


def test_pad_answers_map_to_the_kpis_satisfaction_scale():
    assert pad_satisfaction("very") == 5
    assert pad_satisfaction("satisfied") == 4
    assert pad_satisfaction("dissatisfied") == 2
    assert pad_satisfaction("meh") is None
    assert pad_reason_valid("dissatisfied", "waiting")
    assert pad_reason_valid("dissatisfied", "")
    assert not pad_reason_valid("dissatisfied", "weather")
    assert not pad_reason_valid("very", "waiting")


def test_the_pad_is_idle_until_a_ticket_is_finished_at_its_counter(client, pad, branch, cash):
    client.cookies["django_language"] = "en"
    html = client.get(pad_url(pad)).content.decode()
    assert "data-pad-idle" in html
    assert "Very satisfied" not in html
    assert "<script>" not in html and "style=" not in html


def test_the_pad_lights_up_for_the_finished_ticket(client, pad, finished):
    client.cookies["django_language"] = "en"
    html = client.get(pad_url(pad, "pad_state")).content.decode()
    assert f'data-pad-ticket="{finished.pk}"' in html
    assert "Very satisfied" in html and "Dissatisfied" in html


def test_a_ticket_finished_more_than_two_minutes_ago_is_not_offered(pad, finished):
    later = timezone.now() + timedelta(minutes=3)
    assert selectors.pad_ticket_to_rate(pad=pad, now=later) is None


def test_a_tap_records_one_answer_with_ticket_teller_and_service(client, pad, finished, teller):
    response = client.post(pad_url(pad, "pad_answer"), {"ticket": finished.pk, "rating": "very"})
    assert response.status_code == 200
    row = SurveyResponse.objects.get()
    assert row.channel == SurveyResponse.Channel.COUNTER_PAD
    assert (row.ticket_id, row.teller, row.service_code) == (finished.pk, teller, "cash")
    assert (row.pad_rating, row.satisfaction) == ("very", 5)
    # Rated: the pad idles again, and a second tap records nothing.
    assert "data-pad-idle" in client.get(pad_url(pad, "pad_state")).content.decode()
    client.post(pad_url(pad, "pad_answer"), {"ticket": finished.pk, "rating": "satisfied"})
    assert SurveyResponse.objects.count() == 1


def test_dissatisfied_asks_a_reason_before_recording(client, pad, finished):
    client.cookies["django_language"] = "en"
    html = client.post(
        pad_url(pad, "pad_answer"), {"ticket": finished.pk, "rating": "dissatisfied"}
    ).content.decode()
    assert "Waiting time" in html and 'name="reason"' in html
    assert not SurveyResponse.objects.exists()
    client.post(
        pad_url(pad, "pad_answer"),
        {"ticket": finished.pk, "rating": "dissatisfied", "reason": "attitude"},
    )
    row = SurveyResponse.objects.get()
    assert (row.pad_rating, row.pad_reason, row.satisfaction) == ("dissatisfied", "attitude", 2)


def test_the_database_allows_one_pad_answer_per_ticket(branch, finished):
    def create():
        SurveyResponse.objects.create(
            branch=branch,
            channel=SurveyResponse.Channel.COUNTER_PAD,
            submitted_at=timezone.now(),
            ticket_id=finished.pk,
            pad_rating="very",
        )

    create()
    with pytest.raises(IntegrityError):
        create()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ticket": "x", "rating": "very"},
        {"ticket": "1", "rating": "nope"},
        {"ticket": "1", "rating": "dissatisfied", "reason": "weather"},
    ],
)
def test_bad_taps_are_refused_without_a_500(client, pad, finished, data):
    response = client.post(pad_url(pad, "pad_answer"), data)
    assert response.status_code == 200
    assert not SurveyResponse.objects.exists()


def test_an_unknown_or_inactive_pad_is_404(client, pad):
    assert client.get(reverse("feedback:pad", args=["nope"])).status_code == 404
    pad.is_active = False
    pad.save()
    assert client.get(pad_url(pad)).status_code == 404


def test_the_pad_shows_only_its_own_counter(pad, branch, cash, loans, teller, finished):
    from .factories import CounterFactory

    other = CounterFactory(branch=branch, number=2, serves=[cash, loans])
    other_pad = RatingPad.objects.create(branch=branch, counter_id=other.pk, token="x" * 20)
    assert selectors.pad_ticket_to_rate(pad=other_pad) is None
    assert selectors.pad_ticket_to_rate(pad=pad).pk == finished.pk


# --- Phone survey ---------------------------------------------------------------------------------


ANSWERS = {"waiting": 4, "attitude": 4, "professionalism": 4, "environment": 4}


@pytest.fixture
def visit(branch):
    customer = CustomerFactory(phone="13912345678", name="王芳")
    return Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now() - timedelta(days=1),
        service_code="cash",
    )


def test_phone_candidates_are_recent_served_visits_without_an_answer(branch, visit):
    assert list(selectors.phone_survey_candidates(branch=branch)) == [visit]
    with time_machine.travel(timezone.now() + timedelta(days=10), tick=False):
        assert not selectors.phone_survey_candidates(branch=branch).exists()
    invitation = SurveyInvitation.objects.create(
        customer=visit.customer, branch=branch, interaction=visit, status="answered"
    )
    SurveyResponse.objects.create(
        invitation=invitation,
        branch=branch,
        channel=SurveyResponse.Channel.SMS_LINK,
        satisfaction=5,
        submitted_at=timezone.now(),
    )
    assert not selectors.phone_survey_candidates(branch=branch).exists()


def test_the_phone_screen_records_a_call_back(client, branch, visit, lobby_manager):
    client.cookies["django_language"] = "en"
    client.force_login(lobby_manager)
    listing = client.get(reverse("feedback:phone_survey_list")).content.decode()
    assert reverse("feedback:phone_survey", args=[visit.pk]) in listing
    assert "13912345678" not in listing
    url = reverse("feedback:phone_survey", args=[visit.pk])
    form = client.get(url).content.decode()
    assert "How satisfied were you with the waiting time?" in form  # the branch's survey
    assert client.post(url, {"waiting": "9"}).status_code == 200  # field error, not 500
    response = client.post(url, ANSWERS | {"recommend": "8", "comment": "ok"})
    assert response.status_code == 302
    row = SurveyResponse.objects.get()
    assert row.channel == SurveyResponse.Channel.PHONE
    assert (row.satisfaction, row.recommend, row.recorded_by) == (4, 8, lobby_manager)
    assert (row.answers["waiting"], row.comment, row.version is not None) == (4, "ok", True)
    # Surveyed once: no longer offered.
    assert client.get(url).status_code == 404
    assert not selectors.phone_survey_candidates(branch=branch).exists()


def test_tellers_and_other_branches_may_not_phone_survey(
    client, visit, teller, outsider, other_branch
):
    url = reverse("feedback:phone_survey", args=[visit.pk])
    for user in (teller, outsider):  # tellers, here or elsewhere: the wrong role
        client.force_login(user)
        assert client.get(url).status_code == 403
    elsewhere = UserFactory(username="lobby-elsewhere")
    MembershipFactory(user=elsewhere, branch=other_branch, role=Role.LOBBY_MANAGER)
    client.force_login(elsewhere)  # the right role at another branch: no such visit for them
    assert client.get(url).status_code == 404


def test_the_phone_survey_api(as_user, branch, visit, branch_head, teller):
    api = as_user(branch_head)
    listed = api.get("/api/feedback/phone-survey/candidates/").json()
    assert [row["id"] for row in listed["results"]] == [visit.pk]
    assert "13912345678" not in str(listed)
    for bad in ({"interaction": visit.pk}, {"interaction": visit.pk, "answers": {"waiting": 9}}):
        refused = api.post("/api/feedback/phone-survey/responses/", bad, format="json")
        assert refused.status_code == 400
    assert not SurveyResponse.objects.exists()
    created = api.post(
        "/api/feedback/phone-survey/responses/",
        {"interaction": visit.pk, "answers": {k: 3 for k in ANSWERS}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["satisfaction"] == 3
    again = api.post(
        "/api/feedback/phone-survey/responses/",
        {"interaction": visit.pk, "answers": {k: 3 for k in ANSWERS}},
        format="json",
    )
    assert again.status_code == 400
    assert as_user(teller).get("/api/feedback/phone-survey/candidates/").status_code == 403


# --- Admin: pairing a pad ---------------------------------------------------------------------------


def test_a_branch_admin_pairs_a_pad_with_one_of_their_counters(
    client, branch, counter, other_branch
):
    from accounts.models import Role

    from .factories import CounterFactory, MembershipFactory, UserFactory

    theirs = CounterFactory(branch=other_branch, number=7)
    admin_user = UserFactory(username="pad-admin", is_staff=True)
    MembershipFactory(user=admin_user, branch=branch, role=Role.ADMIN)
    client.force_login(admin_user)
    add = reverse("admin:feedback_ratingpad_add")
    form = client.get(add).content.decode()
    assert f'value="{counter.pk}"' in form
    assert f'value="{theirs.pk}"' not in form
    refused = client.post(add, {"branch": branch.pk, "counter_id": theirs.pk, "name": "x"})
    assert refused.status_code == 200 and not RatingPad.objects.exists()
    done = client.post(
        add, {"branch": branch.pk, "counter_id": counter.pk, "name": "Pad 1", "is_active": "on"}
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    pad = RatingPad.objects.get()
    assert (pad.counter_id, len(pad.token) >= 20) == (counter.pk, True)
    change = client.get(reverse("admin:feedback_ratingpad_change", args=[pad.pk])).content
    assert reverse("feedback:pad", args=[pad.token]).encode() in change


def test_a_dissatisfied_tap_and_a_low_phone_score_open_follow_ups(
    branch, pad, finished, visit, lobby_manager
):
    from feedback.models import FollowUp

    services.pad_answer(pad=pad, ticket_id=finished.pk, rating="dissatisfied", reason="waiting")
    services.phone_survey_submit(
        branch=branch,
        interaction_id=visit.pk,
        recorded_by=lobby_manager,
        raw_answers=ANSWERS | {"waiting": 1},
    )
    assert FollowUp.objects.count() == 2
