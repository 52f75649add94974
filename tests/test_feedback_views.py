"""The customer's survey page (signed one-time link, no login)."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from crm.models import Interaction
from feedback.links import survey_token
from feedback.models import SurveyInvitation, SurveyResponse

from .factories import CustomerFactory

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_link_time")

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def invitation(branch):
    customer = CustomerFactory(phone="13912345678", name="王芳", preferred_language="en")
    # 23:30 UTC on the 1st is already the 2nd in Shanghai: the page must show the local date.
    interaction = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=datetime(2026, 3, 2, 7, 30, tzinfo=SHANGHAI),
    )
    return SurveyInvitation.objects.create(
        customer=customer,
        branch=branch,
        interaction=interaction,
        status=SurveyInvitation.Status.SENT,
    )


def ratings(stars: int) -> dict:
    """The default survey's four required ratings, all the same."""
    return {key: str(stars) for key in ("waiting", "attitude", "professionalism", "environment")}


def survey_url(invitation) -> str:
    return reverse("feedback:survey", args=[survey_token(invitation.pk)])


def assert_csp_clean(html: str) -> None:
    assert "style=" not in html
    assert "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag


def test_it_shows_the_survey_with_the_visits_branch_and_local_date(client, invitation):
    response = client.get(survey_url(invitation))
    html = response.content.decode()
    assert response.status_code == 200
    assert invitation.branch.name_en in html  # English: the customer's preferred language
    assert "How satisfied were you with the waiting time?" in html
    assert "March 2, 2026" in html
    assert_csp_clean(html)


def test_it_uses_real_radio_inputs_with_labels(client, invitation):
    html = client.get(survey_url(invitation)).content.decode()
    for stars in range(1, 6):
        assert f'name="waiting" value="{stars}" id="id_waiting_{stars - 1}"' in html
        assert f'<label class="star" for="id_waiting_{stars - 1}">' in html
    for score in range(11):
        assert f'name="recommend" value="{score}"' in html
    assert 'maxlength="1000"' in html


def test_it_shows_no_staff_or_customer_data(client, invitation, teller):
    invitation.interaction.staff = teller
    invitation.interaction.save()
    html = client.get(survey_url(invitation)).content.decode()
    assert "王芳" not in html
    assert "13912345678" not in html and "5678" not in html
    assert teller.username not in html


def test_it_renders_in_the_customers_preferred_language(client, invitation):
    invitation.customer.preferred_language = "zh-hans"
    invitation.customer.save()
    html = client.get(survey_url(invitation)).content.decode()
    assert '<html lang="zh-hans">' in html
    assert invitation.branch.name in html


def test_it_follows_the_language_switch_over_the_preferred_language(client, invitation):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    html = client.get(survey_url(invitation)).content.decode()
    assert '<html lang="zh-hant">' in html


def test_it_records_an_answer_and_thanks_the_customer(client, invitation):
    response = client.post(
        survey_url(invitation), ratings(4) | {"recommend": "9", "comment": "Quick!"}
    )
    assert response.status_code == 200
    assert "Thank you for your feedback" in response.content.decode()
    answer = SurveyResponse.objects.get()
    assert (answer.satisfaction, answer.recommend, answer.comment) == (4, 9, "Quick!")
    assert answer.branch == invitation.branch
    invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.ANSWERED


def test_it_takes_an_answer_without_the_optional_questions(client, invitation):
    response = client.post(survey_url(invitation), ratings(5))
    assert response.status_code == 200
    assert SurveyResponse.objects.get().recommend is None


def test_it_says_already_answered_on_a_second_visit_of_the_link(client, invitation):
    client.post(survey_url(invitation), ratings(3))
    for response in (
        client.get(survey_url(invitation)),
        client.post(survey_url(invitation), ratings(1)),
    ):
        assert response.status_code == 200
        assert "already been answered" in response.content.decode()
    assert SurveyResponse.objects.get().satisfaction == 3


def test_it_keeps_the_entered_values_when_the_form_has_errors(client, invitation):
    response = client.post(
        survey_url(invitation), {"recommend": "7", "comment": "Slow but friendly"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose from 1 to 5 stars." in html
    assert re.search(r'name="recommend" value="7" id="id_recommend_7"\s+checked', html)
    assert "Slow but friendly" in html
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("bad", [{"waiting": "6"}, {"attitude": "0"}, {"recommend": "11"}])
def test_it_rejects_out_of_range_answers(client, invitation, bad):
    response = client.post(survey_url(invitation), ratings(4) | bad)
    assert response.status_code == 200
    assert "Send" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_it_rejects_a_too_long_comment(client, invitation):
    response = client.post(survey_url(invitation), ratings(4) | {"comment": "x" * 1001})
    assert response.status_code == 200
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("token", ["not-a-token", "eyJhIjoxfQ:1abc:xyz"])
def test_it_answers_a_friendly_404_for_a_bad_link(client, db, token):
    response = client.get(reverse("feedback:survey", args=[token]))
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()


def test_it_answers_404_for_a_tampered_token(client, invitation):
    token = survey_token(invitation.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(reverse("feedback:survey", args=[tampered])).status_code == 404
    response = client.post(reverse("feedback:survey", args=[tampered]), ratings(5))
    assert response.status_code == 404
    assert not SurveyResponse.objects.exists()


def test_it_answers_404_for_an_expired_link(client, invitation):
    url = survey_url(invitation)
    later = datetime.now(tz=SHANGHAI) + timedelta(days=settings.SURVEY_LINK_MAX_AGE_DAYS + 1)
    with time_machine.travel(later):
        response = client.get(url)
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()


def test_it_answers_404_for_a_deleted_invitation(client, invitation):
    url = survey_url(invitation)
    invitation.delete()
    assert client.get(url).status_code == 404


def test_it_does_not_suppress_the_origin_header_the_csrf_check_needs(client, invitation):
    # A no-referrer policy makes browsers send "Origin: null" on POST, which CSRF refuses.
    html = client.get(survey_url(invitation)).content.decode()
    assert "no-referrer" not in html
    assert "csrfmiddlewaretoken" in html
