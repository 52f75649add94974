"""Service standards: effective version, acknowledgements, clause pages by reference, the
counter's control point link, the API."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from accounts.timeutil import branch_today
from quality import selectors, services
from quality.models import StandardAcknowledgement, StandardVersion
from quality.services.standards import StandardError
from tests.factories import ControlPointFactory
from tests.factories_quality_kb import published_standard, superuser

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(db):
    return superuser()


@pytest.fixture
def sop(platform):
    return published_standard(by=platform)


def test_effective_version_is_latest_published_in_force(branch, platform, sop):
    standard, v1 = sop
    today = branch_today(branch)
    future = services.standard_version_draft(
        standard,
        by=platform,
        effective_from=today + timedelta(days=10),
        clauses=[{"number": "3.2", "text_zh": "新条款"}],
    )
    assert selectors.standard_effective_version(standard, today) == v1  # a draft is not in force
    services.standard_version_publish(future, by=platform)
    assert selectors.standard_effective_version(standard, today) == v1  # not yet effective
    assert selectors.standard_effective_version(standard, today + timedelta(days=10)) == future
    row = selectors.standards_overview(today=today)[0]
    assert (row["effective"], row["upcoming"]) == (v1, future)


def test_only_platform_drafts_and_publishes(branch_head, platform, sop):
    standard, _ = sop
    with pytest.raises(StandardError):
        services.standard_version_draft(standard, by=branch_head, effective_from=date(2030, 1, 1))
    empty = services.standard_version_draft(standard, by=platform, effective_from=date(2030, 1, 1))
    with pytest.raises(StandardError):
        services.standard_version_publish(empty, by=platform)  # no clause


def test_acknowledge_once_per_version(branch, teller, sop):
    _, version = sop
    first = services.standard_acknowledge(version, user=teller, branch=branch)
    again = services.standard_acknowledge(version, user=teller, branch=branch)
    assert first.pk == again.pk
    assert StandardAcknowledgement.objects.filter(version=version).count() == 1


def test_branch_head_sees_who_has_read(client, branch, teller, branch_head, lobby_manager, sop):
    standard, version = sop
    services.standard_acknowledge(version, user=teller, branch=branch)
    status = selectors.standard_acknowledgements(version=version, branch=branch)
    assert [row.user_id for row in status["done"]] == [teller.pk]
    assert {row.user_id for row in status["missing"]} == {branch_head.pk, lobby_manager.pk}
    client.force_login(branch_head)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("quality:standard_detail", args=[standard.code])).content.decode()
    assert "Read by 1 of 3 at this branch" in page
    client.force_login(teller)
    page = client.get(reverse("quality:standard_detail", args=[standard.code])).content.decode()
    assert "Read by" not in page and "You have read and acknowledged" in page


def test_acknowledge_page_post(client, lobby_manager, sop):
    standard, version = sop
    client.force_login(lobby_manager)
    url = reverse("quality:standard_acknowledge", args=[standard.code, version.number])
    assert client.post(url).status_code == 302
    assert StandardAcknowledgement.objects.filter(user=lobby_manager, version=version).exists()


def test_clause_page_and_unknown_refs_are_404(client, teller, sop):
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("quality:standard_clause", args=["SOP-CASH", "3.2"]))
    assert (
        page.status_code == 200
        and "Count the cash in front of the customer." in page.content.decode()
    )
    for code, number in (("SOP-CASH", "9.9"), ("NOPE", "3.2"), ("SOP-CASH", "3.2x")):
        assert (
            client.get(reverse("quality:standard_clause", args=[code, number])).status_code == 404
        )


def test_draft_version_hidden_from_staff(client, teller, platform, sop):
    standard, _ = sop
    draft = services.standard_version_draft(
        standard,
        by=platform,
        effective_from=date(2020, 1, 1),
        clauses=[{"number": "1", "text_zh": "x"}],
    )
    client.force_login(teller)
    url = reverse("quality:standard_version", args=[standard.code, draft.number])
    assert client.get(url).status_code == 404
    assert draft.status == StandardVersion.Status.DRAFT


def test_counter_links_a_control_point_to_its_clause(client, teller, counter, cash, sop):
    from queueing import services as queue_services
    from reception import services as reception_services

    ControlPointFactory(
        service=cash, key="count-cash", label_en="Cash counted", clause_ref="SOP-CASH 3.2"
    )
    reception_services.control_points_publish(cash)
    queue_services.ticket_issue(branch=counter.branch, service=cash)
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    action = reverse("reception:counter_action", args=[counter.pk])
    client.post(action, {"action": "call"})
    client.post(action, {"action": "start"})
    page = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert reverse("quality:standard_clause", args=["SOP-CASH", "3.2"]) in page
    assert "§ SOP-CASH 3.2" in page


@pytest.mark.usefixtures("sop")
def test_api_list_detail_acknowledge(as_user, teller):
    rows = as_user(teller).get("/api/quality/standards/").json()
    assert rows[0]["code"] == "SOP-CASH" and rows[0]["read"] is False
    detail = as_user(teller).get("/api/quality/standards/SOP-CASH/").json()
    assert [c["number"] for c in detail["clauses"]] == ["3.1", "3.2"]
    assert as_user(teller).post("/api/quality/standards/SOP-CASH/acknowledge/").status_code == 201
    assert as_user(teller).get("/api/quality/standards/").json()[0]["read"] is True
    assert as_user(teller).get("/api/quality/standards/NOPE/").status_code == 404
    # Session authentication comes first: no challenge to send, so 403 rather than 401.
    assert as_user(None).get("/api/quality/standards/").status_code == 403


def test_seed_quality_demo_is_idempotent_and_searchable(branch):
    from django.core.management import call_command

    from quality.models import KnowledgeEntry, ServiceStandard
    from tests.factories import UserFactory

    UserFactory(username="author")
    call_command("seed_quality_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_quality_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert KnowledgeEntry.objects.count() == 7
    assert ServiceStandard.objects.get(code="SOP-CASH").versions.count() == 1
    rows = selectors.kb_search(branch=branch, query="挂失", language="zh-hans")
    assert rows[0].question == "银行卡挂失怎么办"
    assert selectors.standard_clause("SOP-CASH", "3.2", branch_today(branch)) is not None
