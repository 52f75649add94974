"""Never a 500 on bad input: pagination numbers, deep or huge bodies, NUL characters, absurd
appointment times and phone numbers in other scripts (issue 4 of 11, item 1)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.api import MAX_OFFSET, MAX_PAGE_SIZE, BoundedLimitOffsetPagination
from accounts.models import Role
from accounts.parsers import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_nesting_exceeds
from crm.models import Customer, Interaction
from crm.services import interaction_record
from feedback.models import SurveyInvitation, SurveyResponse
from reception import services as reception
from reception.models import Visit
from reception.triage import (
    APPOINTMENT_FUTURE_LIMIT,
    APPOINTMENT_PAST_LIMIT,
    appointment_in_window,
    showable_appointment,
)

from .factories import MembershipFactory, UserFactory

PHONE = "13800138000"


def api(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


@pytest.fixture
def client_500s():
    """A page client that answers 500s instead of raising, as production does."""
    return Client(raise_request_exception=False)


@pytest.fixture
def admin(branch):
    user = UserFactory(username="branch-admin")
    MembershipFactory(user=user, branch=branch, role=Role.ADMIN)
    return user


# --- 1. limit and offset on every list endpoint ------------------------------------------------


def _api_list_endpoints() -> list[tuple[str, URLPattern]]:
    """Every paginated endpoint under /api/, found in the URL conf, so new ones are covered."""

    def walk(patterns, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif namespace == "api":
                yield pattern

    found = []
    for pattern in walk(get_resolver().url_patterns, ""):
        view = getattr(pattern.callback, "view_class", None)
        if view is not None and getattr(view, "pagination_class", None) and hasattr(view, "get"):
            found.append((pattern.name, pattern))
    return found


LIST_ENDPOINTS = _api_list_endpoints()


def test_every_list_endpoint_is_found_and_uses_the_bounded_paginator():
    names = {name for name, _pattern in LIST_ENDPOINTS}
    assert names >= {
        "reception-visit-list",
        "queue-ticket-list",
        "crm-customer-list",
        "crm-customer-interactions",
        "feedback-invitation-list",
        "feedback-response-list",
    }
    for _name, pattern in LIST_ENDPOINTS:
        assert issubclass(
            pattern.callback.view_class.pagination_class, BoundedLimitOffsetPagination
        )


@pytest.fixture
def one_of_each(as_user, branch, admin, lobby_manager, teller, cash, counter):
    """At least one row in every list: an empty list never reaches the database's LIMIT."""
    response = as_user(lobby_manager).post(
        api("reception-visit-list"), {"phone": PHONE, "service": "cash"}, format="json"
    )
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(phone=PHONE)
    interaction = interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now() - timedelta(days=1),
        service_code="cash",
        staff=teller,
        source="ticket:bad-input",
    )
    invitation = SurveyInvitation.objects.create(
        customer=customer,
        branch=branch,
        interaction=interaction,
        status=SurveyInvitation.Status.ANSWERED,
        sent_at=timezone.now(),
    )
    SurveyResponse.objects.create(
        invitation=invitation,
        branch=branch,
        channel=SurveyResponse.Channel.SMS_LINK,
        satisfaction=5,
        submitted_at=timezone.now(),
    )
    # A served visit nobody has answered for: the phone survey's candidates (issue 8).
    Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now(),
    )
    from .test_feedback_loop import loop_rows  # follow-ups, suggestions, pad taps (issue 8)

    loop_rows(branch)
    from reception.models import LobbyAlert  # the lobby overview's alerts (issue 6)

    LobbyAlert.objects.create(
        branch=branch,
        service=cash,
        kind=LobbyAlert.Kind.WAIT_OVER_TARGET,
        suggestion=LobbyAlert.Suggestion.DIVERT,
        raised_at=timezone.now(),
        waiting=1,
        longest_wait_seconds=700,
        target_wait_seconds=600,
        open_counters=1,
    )
    from reception.models import Appointment  # appointments (issue 6): today's list

    Appointment.objects.create(
        branch=branch,
        service=cash,
        customer=customer,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(minutes=30),
        channel=Appointment.Channel.STAFF,
        created_at=timezone.now(),
    )
    from crm.models import CareReminder  # care reminders (issue 7)

    CareReminder.objects.create(
        customer=customer,
        branch=branch,
        kind="manual",
        title="Call back",
        due_on=timezone.localdate(),
        created_at=timezone.now(),
    )
    from reception.models import ErrorCategory, ServiceError, Visit  # errors (issue 7)

    visit = Visit.objects.select_related("ticket").get(customer=customer)
    ServiceError.objects.create(
        branch=branch,
        visit=visit,
        ticket=visit.ticket,
        service=cash,
        teller=teller,
        category=ErrorCategory.objects.create(branch=branch, code="other", name_zh="其他"),
        severity="minor",
        recorded_at=timezone.now(),
    )
    from crm.services import complaint_log  # complaints (issue 7)

    complaint_log(branch=branch, channel="counter", severity="low", subject="x", by=teller)
    from .factories_inspections import quality_rows  # inspections, findings, training (issue 10)

    quality_rows(branch, admin)
    return {"pk": customer.pk}


def _list_url(pattern: URLPattern, objects: dict) -> str:
    wanted = set(pattern.pattern.converters)
    assert wanted <= set(objects), f"add an object for {pattern.name}'s {wanted}"
    return api(pattern.name, **{key: objects[key] for key in wanted})


HUGE = "99999999999999999999"  # beyond PostgreSQL's bigint: the 500 this issue saw
BAD_QUERIES = [
    ({"limit": HUGE}, 200),  # clamped to MAX_PAGE_SIZE
    ({"offset": HUGE}, 400),
    ({"limit": HUGE, "offset": HUGE}, 400),
    ({"limit": "-1"}, 400),
    ({"offset": "-5"}, 400),
    ({"limit": "0"}, 400),
    ({"limit": "abc"}, 400),
    ({"offset": "abc"}, 400),
    ({"limit": "1.5"}, 400),
    ({"limit": "9" * 5000}, 400),  # longer than int() takes
    ({"offset": str(MAX_OFFSET + 1)}, 400),
    ({"offset": "1000"}, 200),  # past the end: an empty page
    ({"limit": "", "offset": ""}, 200),  # empty is absent
]


@pytest.mark.parametrize(("name", "pattern"), LIST_ENDPOINTS, ids=[n for n, _p in LIST_ENDPOINTS])
def test_no_list_endpoint_fails_on_bad_limit_or_offset(as_user, admin, one_of_each, name, pattern):
    client = as_user(admin)
    client.raise_request_exception = False
    url = _list_url(pattern, one_of_each)
    assert client.get(url).json()["count"] >= 1, "the list must hold a row for the test to bite"
    for query, expected in BAD_QUERIES:
        response = client.get(url, query)
        assert response.status_code == expected, (name, query, response.content[:300])
        if expected == 400:
            body = response.json()
            field = next(key for key in ("offset", "limit") if key in body)
            assert body[field] and query.get(field, "") != ""


def test_a_huge_limit_is_clamped_and_the_next_link_goes_on(as_user, admin, branch, cash):
    client = as_user(admin)
    for _ in range(MAX_PAGE_SIZE + 5):
        client.post(api("queue-ticket-list"), {"service": "cash"}, format="json")
    page = client.get(api("queue-ticket-list"), {"limit": HUGE}).json()
    assert len(page["results"]) == MAX_PAGE_SIZE and page["count"] == MAX_PAGE_SIZE + 5
    assert f"offset={MAX_PAGE_SIZE}" in page["next"] and f"limit={MAX_PAGE_SIZE}" in page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 5 and rest["next"] is None


def test_a_bad_limit_names_the_field(as_user, admin, one_of_each):
    response = as_user(admin).get(api("reception-visit-list"), {"limit": "abc"})
    assert response.status_code == 400
    assert response.json() == {"limit": ["A valid integer is required."]}
    response = as_user(admin).get(api("reception-visit-list"), {"offset": "-1"})
    assert response.json() == {"offset": ["Ensure this value is greater than or equal to 0."]}


# --- 2. deep and huge bodies -------------------------------------------------------------------


DEEP = 50_000


def _deep_bodies() -> dict[str, str]:
    return {
        # Unclosed, so it stays under the size cap and reaches the nesting check.
        "arrays": "[" * DEEP,
        "objects": '{"a":' * DEEP,
        # Balanced: too big as well; refused for its size before anything is decoded.
        "balanced arrays": "[" * DEEP + "]" * DEEP,
    }


@pytest.mark.parametrize("kind", list(_deep_bodies()))
def test_a_deeply_nested_body_is_refused_on_the_anonymous_survey_endpoint(as_user, db, kind):
    client = as_user(None)
    client.raise_request_exception = False
    body = _deep_bodies()[kind]
    response = client.post(
        api("feedback-public-response-create"), body, content_type="application/json"
    )
    assert response.status_code == (413 if len(body) > MAX_BODY_BYTES else 400)
    if response.status_code == 400:
        assert "nested deeper than 32 levels" in response.json()["detail"]


@pytest.mark.parametrize("kind", list(_deep_bodies()))
def test_a_deeply_nested_body_is_refused_on_a_staff_endpoint(as_user, lobby_manager, cash, kind):
    client = as_user(lobby_manager)
    client.raise_request_exception = False
    body = _deep_bodies()[kind]
    response = client.post(api("reception-visit-list"), body, content_type="application/json")
    assert response.status_code == (413 if len(body) > MAX_BODY_BYTES else 400)
    assert not Visit.objects.exists()


def test_nesting_up_to_the_limit_is_parsed_and_brackets_in_strings_do_not_count(
    as_user, lobby_manager, cash
):
    client = as_user(lobby_manager)
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    response = client.post(api("reception-visit-list"), at_limit, content_type="application/json")
    assert response.status_code == 400 and "nested" not in str(response.json())  # not a dict
    note = '[[[[{{{{ \\" [[[[' * 10  # an escaped quote does not end the string
    response = client.post(
        api("reception-visit-list"),
        {"phone": PHONE, "service": "cash", "note": note[:200]},
        format="json",
    )
    assert response.status_code == 201, response.content


def test_json_nesting_is_counted_without_recursion():
    assert not json_nesting_exceeds('{"a": [1, {"b": "]]]]"}]}', 3)
    assert json_nesting_exceeds('{"a": [1, {"b": "x"}]}', 2)
    assert not json_nesting_exceeds('"[[[\\"[[["', 0)
    assert json_nesting_exceeds("[" * 1_000_000, MAX_JSON_DEPTH)


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 3 * 1024 * 1024])
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_an_oversize_body_is_a_4xx(as_user, db, size, content_type):
    client = as_user(None)
    client.raise_request_exception = False
    if content_type == "application/json":
        body = '{"token": "' + "x" * size + '", "satisfaction": 3}'
    else:
        body = "satisfaction=3&token=" + "x" * size
    response = client.post(api("feedback-public-response-create"), body, content_type=content_type)
    assert 400 <= response.status_code < 500
    if content_type == "application/json":
        assert response.status_code == 413


def test_an_oversize_multipart_body_is_a_4xx(as_user, db):
    client = as_user(None)
    client.raise_request_exception = False
    response = client.post(
        api("feedback-public-response-create"), {"token": "x" * 3_000_000, "satisfaction": 3}
    )
    assert 400 <= response.status_code < 500


# --- 3. NUL characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/queue/board/%00/",
        "/queue/board/%00/state/",
        "/queue/t/%00/",
        "/queue/t/%00/state/",
        "/survey/%00/",
        "/queue/live/%00/v/",
        "/queue/live/%00/events/",
        "/api/crm/customers/?phone=%00",
        "/crm/?phone=%00",
        "/reception/?phone=%00",
        "/queue/board/ok/?x%00=1",
    ],
)
def test_a_nul_in_the_path_or_query_is_a_400(client_500s, teller, branch, path):
    client_500s.force_login(teller)
    assert client_500s.get(path).status_code == 400


def test_a_nul_anywhere_on_the_board_of_a_real_branch_is_a_400(client_500s, branch):
    token = branch.display_token
    assert client_500s.get(f"/queue/board/{token}%00/").status_code == 400
    assert client_500s.get(f"/queue/board/{token}/state/?v=%00").status_code == 400


def test_a_nul_in_form_data_is_a_400(client_500s, lobby_manager, cash):
    assert (
        client_500s.post(reverse("login"), {"username": "a\x00b", "password": "x"}).status_code
        == 400
    )
    client_500s.force_login(lobby_manager)
    response = client_500s.post(
        reverse("reception:lobby"), {"phone": PHONE, "service": cash.pk, "name": "\x00"}
    )
    assert response.status_code == 400
    assert not Visit.objects.exists()


def test_the_api_answers_a_nul_in_json(as_user, teller):
    response = as_user(teller).get(api("crm-customer-list"), {"phone": "\x00"})
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


# --- 4. appointment times ----------------------------------------------------------------------


def test_the_appointment_window_runs_from_12_hours_ago_to_90_days_ahead():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert appointment_in_window(now - APPOINTMENT_PAST_LIMIT, now)
    assert appointment_in_window(now + APPOINTMENT_FUTURE_LIMIT, now)
    assert not appointment_in_window(now - APPOINTMENT_PAST_LIMIT - timedelta(seconds=1), now)
    assert not appointment_in_window(now + APPOINTMENT_FUTURE_LIMIT + timedelta(seconds=1), now)
    assert not appointment_in_window(datetime(1, 1, 1, tzinfo=UTC), now)
    assert not appointment_in_window(datetime.max.replace(tzinfo=UTC), now)


def test_an_unshowable_stored_time_is_blanked_for_screens():
    assert showable_appointment(datetime(1, 1, 1, tzinfo=UTC)) is None
    assert showable_appointment(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)) is None
    ok = datetime(2026, 3, 1, tzinfo=UTC)
    assert showable_appointment(ok) == ok and showable_appointment(None) is None


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "far past", "far future"]
)
def test_the_api_refuses_an_appointment_outside_the_window(as_user, lobby_manager, cash, value):
    now = timezone.now()
    value = {
        "far past": (now - timedelta(hours=13)).isoformat(),
        "far future": (now + timedelta(days=91)).isoformat(),
    }.get(value, value)
    client = as_user(lobby_manager)
    client.raise_request_exception = False
    response = client.post(
        api("reception-visit-list"),
        {"phone": PHONE, "service": "cash", "appointment_at": value},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["appointment_at"]
    assert not Visit.objects.exists() and not Customer.objects.exists()


def test_the_api_takes_an_appointment_inside_the_window(as_user, lobby_manager, cash):
    for when in (timedelta(hours=-11), timedelta(hours=1), timedelta(days=89)):
        response = as_user(lobby_manager).post(
            api("reception-visit-list"),
            {
                "phone": PHONE,
                "service": "cash",
                "appointment_at": (timezone.now() + when).isoformat(),
                "allow_second_ticket": True,  # the same customer, three times
            },
            format="json",
        )
        assert response.status_code == 201, response.content


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_the_lobby_refuses_an_absurd_appointment_and_keeps_the_form(
    client_500s, lobby_manager, cash, typed
):
    client_500s.force_login(lobby_manager)
    response = client_500s.post(
        reverse("reception:lobby"),
        {
            "phone": PHONE,
            "service": cash.pk,
            "appointment": "on",
            "appointment_at": typed,
            "action": "ticket",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter an appointment time from 12 hours ago to 90 days ahead." in html
    assert f'value="{typed}"' in html and f'value="{PHONE}"' in html
    assert not Visit.objects.exists()


def test_the_lobby_reads_the_time_in_the_branchs_zone(client, lobby_manager, branch, cash):
    # 11 hours ago in Shanghai; read as UTC it would be 19 hours ago and refused.
    local = timezone.localtime(timezone.now() - timedelta(hours=11), branch.tz)
    client.force_login(lobby_manager)
    response = client.post(
        reverse("reception:lobby"),
        {
            "phone": PHONE,
            "service": cash.pk,
            "appointment": "on",
            "appointment_at": local.strftime("%Y-%m-%dT%H:%M"),
            "action": "ticket",
        },
    )
    assert response.status_code == 302
    assert Visit.objects.get().appointment_at is not None


def test_the_service_refuses_an_appointment_outside_the_window(branch, lobby_manager, cash):
    from reception.triage import SpecialNeeds

    with pytest.raises(reception.ReceptionError) as refused:
        reception.visit_register(
            branch=branch,
            registered_by=lobby_manager,
            phone=PHONE,
            service=cash,
            needs=SpecialNeeds(appointment_at=datetime(1, 1, 1, tzinfo=UTC)),
        )
    assert refused.value.code == "appointment_at"
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    "stored", [datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)]
)
def test_a_stored_absurd_appointment_breaks_neither_the_list_nor_the_counter(
    as_user, client_500s, lobby_manager, teller, branch, cash, counter, stored
):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
    )
    Visit.objects.filter(pk=visit.pk).update(appointment_at=stored)  # as stored before the fix

    response = as_user(teller).get(api("reception-visit-list"))
    assert response.status_code == 200
    assert response.json()["results"][0]["appointment_at"] is None

    client_500s.force_login(teller)
    for action in ("open", "call"):
        client_500s.post(reverse("reception:counter_action", args=[counter.pk]), {"action": action})
    page = client_500s.get(reverse("reception:counter", args=[counter.pk]))
    assert page.status_code == 200
    assert visit.ticket.code in page.content.decode()
    client_500s.force_login(lobby_manager)
    assert client_500s.get(reverse("reception:lobby")).status_code == 200


# --- 5. phone numbers in any script ------------------------------------------------------------


SPELLINGS = [
    "13800138000",
    "13８００１３８０００",  # full-width digits, as a Chinese IME types them
    "１３８００１３８０００",
    "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic
    "۱۳۸۰۰۱۳۸۰۰۰",  # Extended Arabic-Indic (Persian)
    "+86 138 0013 8000",
    "+8613800138000",
    "＋８６ １３８－００１３－８０００",
    "0086 138-0013-8000",
    "(+86) 138.0013.8000",
    " 138 0013 8000 ",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_one_number_in_any_spelling_is_one_customer_through_the_api(
    as_user, lobby_manager, cash, spelling
):
    client = as_user(lobby_manager)
    first = client.post(api("reception-visit-list"), {"phone": PHONE, "service": "cash"})
    again = client.post(
        api("reception-visit-list"),
        {"phone": spelling, "service": "cash", "allow_second_ticket": True},
    )
    assert first.status_code == again.status_code == 201, again.content
    assert list(Customer.objects.values_list("phone", flat=True)) == [PHONE]


def test_one_number_in_any_spelling_is_one_customer_in_the_lobby(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    for spelling in SPELLINGS:
        response = client.post(
            reverse("reception:lobby"),
            # Confirmed, as the lobby would: the same customer already holds a ticket.
            {
                "phone": spelling,
                "service": cash.pk,
                "action": "ticket",
                "second_ticket": "on",
                "asked_phone": spelling,
            },
        )
        assert response.status_code == 302, spelling
    assert list(Customer.objects.values_list("phone", flat=True)) == [PHONE]
    assert Visit.objects.count() == len(SPELLINGS)


@pytest.mark.parametrize(
    "garbage", ["garbage", "12345", "1380013800a", "138OO138OOO", "13800138000x12", "+12345678"]
)
def test_a_garbage_number_is_refused_with_a_clear_error(
    as_user, client, lobby_manager, cash, garbage
):
    response = as_user(lobby_manager).post(
        api("reception-visit-list"), {"phone": garbage, "service": "cash"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "phone"
    client.force_login(lobby_manager)
    html = client.post(
        reverse("reception:lobby"), {"phone": garbage, "service": cash.pk, "action": "ticket"}
    ).content.decode()
    assert "Enter a valid mobile phone number." in html
    assert not Customer.objects.exists()


def test_the_lobby_lookup_finds_the_customer_by_an_arabic_indic_number(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    client.post(reverse("reception:lobby"), {"phone": PHONE, "service": cash.pk, "name": "张三"})
    html = client.post(reverse("reception:customer_lookup"), {"phone": "١٣٨٠٠١٣٨٠٠٠"}).content
    assert "张三" in html.decode() and "New customer" not in html.decode()
