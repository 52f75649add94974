"""Survey definitions (per branch, versioned), the invitation policy read from the branch's
FeedbackSettings (sampling, opt-out, delay, quiet hours), the survey page's answers, link
validity per branch, and the opt-out link."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from crm.models import ConsentSource, Customer, Interaction
from crm.services import interaction_record
from feedback import policy, services
from feedback.links import survey_token
from feedback.models import (
    FeedbackSettings,
    SurveyDefinition,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveyVersion,
)

from .factories import CustomerFactory, MembershipFactory, UserFactory

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_link_time")

SHANGHAI = ZoneInfo("Asia/Shanghai")
AFTERNOON = datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI)
EVENING = datetime(2026, 11, 23, 20, 50, tzinfo=SHANGHAI)
RATINGS = ("waiting", "attitude", "professionalism", "environment")


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=SHANGHAI)


def decide(now_local, **overrides) -> policy.Decision:
    arguments = {"consent": True, "has_phone": True, "last_invited_at": None} | overrides
    return policy.decide(now_local=now_local, **arguments)


# --- The policy (pure) ----------------------------------------------------------------------------


def test_sampling_is_deterministic_and_about_the_asked_share():
    assert [policy.sample_bucket(n) for n in range(50)] == [
        policy.sample_bucket(n) for n in range(50)
    ]
    asked = sum(policy.sampled_in(n, 30) for n in range(2000))
    assert 500 < asked < 700
    assert all(policy.sampled_in(n, 100) for n in range(200))
    assert not any(policy.sampled_in(n, 0) for n in range(200))


def test_a_visit_sampled_out_is_skipped_with_its_reason():
    rules = policy.ContactRules(sampling_percent=0)
    assert decide(local(14), rules=rules, sample_key=7) == policy.Decision(None, "sampled_out")
    everyone = policy.ContactRules(sampling_percent=100)
    assert decide(local(14), rules=everyone, sample_key=7).send_at == local(14)


def test_an_opted_out_customer_is_not_asked_and_says_why():
    assert decide(local(14), consent=False, opted_out=True) == policy.Decision(None, "opted_out")
    assert decide(local(14), consent=False) == policy.Decision(None, "no_consent")


def test_the_branch_delay_moves_the_send_and_quiet_hours_still_hold():
    rules = policy.ContactRules(delay=timedelta(minutes=30))
    assert decide(local(14), rules=rules).send_at == local(14, 30)
    # 20:50 + 30 min is 21:20, in quiet hours: the next morning at 08:00.
    assert decide(local(20, 50), rules=rules).send_at == datetime(
        2026, 11, 24, 8, 0, tzinfo=SHANGHAI
    )


def test_equal_quiet_bounds_mean_no_quiet_hours():
    rules = policy.ContactRules(quiet_from=time(0, 0), quiet_until=time(0, 0))
    assert decide(local(23, 30), rules=rules).send_at == local(23, 30)


# --- Invitations read the branch's settings ---------------------------------------------------


@pytest.fixture
def customer(db):
    return CustomerFactory(phone="13912345678", sms_consent=True, preferred_language="en")


@pytest.fixture
def record_visit(branch, eager_celery, django_capture_on_commit_callbacks):
    def _record(customer, *, service_code="cash", kind=Interaction.Kind.BRANCH_SERVICE):
        with django_capture_on_commit_callbacks(execute=True):
            return interaction_record(
                customer=customer,
                branch=branch,
                kind=kind,
                occurred_at=datetime.now(tz=SHANGHAI),
                service_code=service_code,
            )

    return _record


@time_machine.travel(AFTERNOON, tick=False)
def test_the_branch_settings_set_the_delay(branch, customer, record_visit):
    FeedbackSettings.objects.create(branch=branch, delay_minutes=45)
    invitation = SurveyInvitation.objects.get(interaction=record_visit(customer))
    assert invitation.status == SurveyInvitation.Status.SCHEDULED
    assert invitation.scheduled_for == AFTERNOON + timedelta(minutes=45)


@time_machine.travel(AFTERNOON, tick=False)
def test_a_branch_sampling_nobody_records_sampled_out(branch, customer, record_visit):
    FeedbackSettings.objects.create(branch=branch, sampling_percent=0)
    invitation = SurveyInvitation.objects.get(interaction=record_visit(customer))
    assert (invitation.status, invitation.skip_reason) == ("skipped", "sampled_out")


@time_machine.travel(AFTERNOON, tick=False)
def test_a_diversion_is_never_surveyed_and_uses_no_allowance(branch, customer, record_visit):
    record_visit(customer, kind=Interaction.Kind.SELF_SERVICE)
    assert not SurveyInvitation.objects.exists()
    served = SurveyInvitation.objects.get(interaction=record_visit(customer))
    assert served.status == SurveyInvitation.Status.SENT


@time_machine.travel(AFTERNOON, tick=False)
def test_the_frequency_cap_comes_from_the_branch(branch, customer, record_visit):
    FeedbackSettings.objects.create(branch=branch, min_days_between_surveys=1)
    record_visit(customer)
    second = SurveyInvitation.objects.get(interaction=record_visit(customer))
    assert second.skip_reason == "frequency_cap"
    with time_machine.travel(AFTERNOON + timedelta(days=1, minutes=1), tick=False):
        third = SurveyInvitation.objects.get(interaction=record_visit(customer))
    # Asked again, after the branch's default delay of 30 minutes.
    assert (third.status, third.skip_reason) == (SurveyInvitation.Status.SCHEDULED, "")


# --- Definitions and versions -----------------------------------------------------------------


def test_a_branch_without_a_survey_gets_the_default_one_published(branch):
    version = services.survey_current_version(branch)
    assert version.number == 1
    assert [q["key"] for q in version.questions] == [*RATINGS, "recommend", "comment"]
    assert [q["kind"] for q in version.questions] == [*["rating"] * 4, "nps", "comment"]
    assert all(q["required"] for q in version.questions[:4])
    assert services.survey_current_version(branch).pk == version.pk  # not created twice


def test_a_change_publishes_a_new_version_and_no_change_none(branch):
    survey = services.survey_ensure(branch)
    first = services.survey_current_version(branch)
    assert services.survey_publish(survey).pk == first.pk
    SurveyQuestion.objects.create(
        survey=survey, key="cash_speed", kind="yes_no", text_zh="快吗？", text_en="Was it quick?",
        service_code="cash", sort_order=100,
    )  # fmt: skip
    second = services.survey_publish(survey)
    assert second.number == 2 and second.questions[-1]["key"] == "cash_speed"
    assert first.questions != second.questions  # the old answers keep their version


def test_a_per_service_question_is_asked_after_that_service_only(branch):
    survey = services.survey_ensure(branch)
    SurveyQuestion.objects.create(
        survey=survey, key="cash_speed", kind="yes_no", text_zh="快吗？", text_en="Was it quick?",
        service_code="cash", sort_order=100,
    )  # fmt: skip
    version = services.survey_publish(survey)
    assert "cash_speed" in [q["key"] for q in services.version_questions_for(version, "cash")]
    assert "cash_speed" not in [q["key"] for q in services.version_questions_for(version, "loan")]


# --- The page -----------------------------------------------------------------------------------


@pytest.fixture
def invitation(branch, customer):
    interaction = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=AFTERNOON,
        service_code="cash",
    )
    return SurveyInvitation.objects.create(
        customer=customer, branch=branch, interaction=interaction, status="sent"
    )


def url(invitation) -> str:
    return reverse("feedback:survey", args=[survey_token(invitation.pk)])


def test_the_answers_are_stored_with_version_language_and_the_kpi_columns(client, invitation):
    answers = {"waiting": "4", "attitude": "5", "professionalism": "5", "environment": "4"}
    response = client.post(url(invitation), answers | {"recommend": "8", "comment": "ok"})
    assert "Thank you for your feedback" in response.content.decode()
    answer = SurveyResponse.objects.get()
    assert answer.answers == {
        "waiting": 4, "attitude": 5, "professionalism": 5, "environment": 4,
        "recommend": 8, "comment": "ok",
    }  # fmt: skip
    assert answer.satisfaction == 5  # the mean 4.5, rounded half up
    assert (answer.recommend, answer.comment, answer.language) == (8, "ok", "en")
    assert answer.version == SurveyVersion.objects.get(survey__branch=invitation.branch)
    assert answer.service_code == "cash"


def test_the_page_asks_the_service_question_in_the_chosen_language(client, invitation):
    survey = services.survey_ensure(invitation.branch)
    SurveyQuestion.objects.create(
        survey=survey, key="cash_speed", kind="yes_no", text_zh="快吗？", text_en="Was it quick?",
        service_code="cash", sort_order=100,
    )  # fmt: skip
    services.survey_publish(survey)
    assert "Was it quick?" in client.get(url(invitation)).content.decode()
    client.cookies["django_language"] = "zh-hans"
    assert "快吗？" in client.get(url(invitation)).content.decode()


def test_the_link_expires_after_the_branchs_validity(client, invitation):
    FeedbackSettings.objects.create(branch=invitation.branch, link_valid_days=2)
    link = url(invitation)
    with time_machine.travel(datetime.now(tz=SHANGHAI) + timedelta(days=1)):
        assert client.get(link).status_code == 200
    with time_machine.travel(datetime.now(tz=SHANGHAI) + timedelta(days=3)):
        response = client.get(link)
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()


def test_the_opt_out_withdraws_consent_and_later_visits_are_not_surveyed(
    client, branch, invitation, record_visit
):
    page = client.get(url(invitation)).content.decode()
    opt_out = reverse("feedback:survey_opt_out", args=[survey_token(invitation.pk)])
    assert f'action="{opt_out}"' in page
    assert client.get(opt_out).status_code == 405  # a POST only
    response = client.post(opt_out)
    assert response.status_code == 200
    assert "no more SMS" in response.content.decode()
    customer = Customer.objects.get(pk=invitation.customer_id)
    assert not customer.sms_consent
    assert customer.sms_consent_source == ConsentSource.PHONE_PAGE
    later = SurveyInvitation.objects.get(interaction=record_visit(customer))
    assert later.skip_reason == "opted_out"


def test_a_tampered_opt_out_link_changes_nothing(client, invitation):
    token = survey_token(invitation.pk)
    bad = reverse("feedback:survey_opt_out", args=[token[:-2] + "zz"])
    assert client.post(bad).status_code == 404
    assert Customer.objects.get(pk=invitation.customer_id).sms_consent


# --- Admin ------------------------------------------------------------------------------------


def test_a_branch_admin_sees_their_branchs_survey_only(client, branch, other_branch):
    user = UserFactory(username="branch-admin", is_staff=True)
    MembershipFactory(user=user, branch=branch, role=Role.ADMIN)
    mine, theirs = services.survey_ensure(branch), services.survey_ensure(other_branch)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    listing = client.get(reverse("admin:feedback_surveydefinition_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:feedback_surveydefinition_change", args=[mine.pk]) in (
        listing.content.decode()
    )
    page = client.get(reverse("admin:feedback_surveydefinition_change", args=[mine.pk]))
    assert page.status_code == 200
    elsewhere = client.get(reverse("admin:feedback_surveydefinition_change", args=[theirs.pk]))
    assert elsewhere.status_code == 404
    assert SurveyDefinition.objects.count() == 2


def test_saving_the_survey_in_the_admin_publishes_a_new_version(admin_client, branch):
    survey = services.survey_ensure(branch)
    questions = list(survey.questions.order_by("sort_order"))
    data = {
        "branch": branch.pk,
        "is_active": "on",
        "questions-TOTAL_FORMS": str(len(questions) + 1),
        "questions-INITIAL_FORMS": str(len(questions)),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": survey.versions.get().pk,
        "versions-0-survey": survey.pk,
    }
    for n, q in enumerate(questions):
        for field in ("sort_order", "key", "kind", "text_zh", "text_zh_hant", "text_en"):
            data[f"questions-{n}-{field}"] = getattr(q, field)
        data |= {f"questions-{n}-id": q.pk, f"questions-{n}-survey": survey.pk}
        data |= {f"questions-{n}-is_active": "on"}
        if q.required:
            data[f"questions-{n}-required"] = "on"
    n = len(questions)
    data |= {
        f"questions-{n}-sort_order": "100", f"questions-{n}-key": "overall",
        f"questions-{n}-kind": "rating", f"questions-{n}-text_zh": "总体满意度",
        f"questions-{n}-survey": survey.pk, f"questions-{n}-is_active": "on",
    }  # fmt: skip
    change = reverse("admin:feedback_surveydefinition_change", args=[survey.pk])
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    latest = survey.versions.order_by("-number").first()
    assert latest.number == 2
    assert latest.questions[-1]["key"] == "overall"


def test_the_data_migration_gives_existing_branches_the_default_survey(branch, other_branch):
    from importlib import import_module

    from django.apps import apps

    services.survey_ensure(other_branch)  # already has one: left alone
    migration = import_module("feedback.migrations.0004_survey_defaults")
    migration.create_default_surveys(apps, None)
    version = SurveyVersion.objects.get(survey__branch=branch)
    assert version.questions == services.survey_current_version(other_branch).questions
    assert SurveyDefinition.objects.count() == 2


def test_an_overall_question_is_the_satisfaction_and_required_ones_are_enforced(invitation, branch):
    survey = services.survey_ensure(branch)
    SurveyQuestion.objects.create(
        survey=survey, key="overall", kind="rating", text_zh="总体", required=True, sort_order=1
    )
    services.survey_publish(survey)
    token = survey_token(invitation.pk)
    answers = dict.fromkeys(RATINGS, 5) | {"overall": 2}
    with pytest.raises(services.SurveyError) as missing:
        services.survey_answers_submit(token=token, raw_answers={"overall": 2})
    assert missing.value.code == "waiting"
    with pytest.raises(services.SurveyError) as out_of_range:
        services.survey_answers_submit(token=token, raw_answers=answers | {"waiting": 9})
    assert out_of_range.value.code == "waiting"
    answer = services.survey_answers_submit(token=token, raw_answers=answers)
    assert answer.satisfaction == 2 and answer.recommend is None


def test_the_thanks_page_offers_the_opt_out_too(client, invitation):
    answers = dict.fromkeys(RATINGS, "3")
    html = client.post(url(invitation), answers).content.decode()
    assert reverse("feedback:survey_opt_out", args=[survey_token(invitation.pk)]) in html
