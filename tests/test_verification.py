"""Phone verification by SMS code (reception.verification and /visit/verify/)."""

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from feedback.sms import LocmemBackend
from reception import verification
from reception.models import PhoneVerification

PHONE = "13800138000"


def _last_code() -> str:
    return re.search(r"\b(\d{6})\b", LocmemBackend.outbox[-1].body).group(1)


def _request():
    request = RequestFactory().get("/")
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    request.session = SessionStore()
    return request


@pytest.mark.django_db
def test_code_is_sent_and_stored_only_as_hashes():
    verification.request_code(phone="+86 138-0013-8000")
    assert len(LocmemBackend.outbox) == 1
    message = LocmemBackend.outbox[0]
    assert message.to == PHONE
    code = _last_code()
    row = PhoneVerification.objects.get()
    assert PHONE not in row.phone_hash and code not in row.code_hash
    assert row.expires_at - row.created_at == timedelta(minutes=10)


@pytest.mark.django_db
def test_invalid_number_is_refused_on_the_phone_field():
    with pytest.raises(verification.VerificationError) as error:
        verification.request_code(phone="12345")
    assert error.value.code == "phone"
    assert LocmemBackend.outbox == []


@pytest.mark.django_db
def test_one_code_a_minute_and_five_an_hour():
    now = timezone.now()
    verification.request_code(phone=PHONE, now=now)
    with pytest.raises(verification.VerificationError):
        verification.request_code(phone=PHONE, now=now + timedelta(seconds=30))
    for minutes in range(1, 5):
        verification.request_code(phone=PHONE, now=now + timedelta(minutes=minutes * 2))
    with pytest.raises(verification.VerificationError) as error:
        verification.request_code(phone=PHONE, now=now + timedelta(minutes=20))
    assert "hour" in str(error.value.message)
    assert len(LocmemBackend.outbox) == 5
    # Another number is not limited by this one.
    verification.request_code(phone="13900139000", now=now + timedelta(minutes=20))
    # After an hour, codes may be sent again.
    verification.request_code(phone=PHONE, now=now + timedelta(minutes=61))


@pytest.mark.django_db
def test_gateway_failure_is_a_clear_message_and_may_be_retried(monkeypatch):
    def fail(self, message):
        raise ConnectionError("gateway down")

    monkeypatch.setattr(LocmemBackend, "send", fail)
    with pytest.raises(verification.VerificationError) as error:
        verification.request_code(phone=PHONE)
    assert "try again" in str(error.value.message)
    assert not PhoneVerification.objects.exists()
    monkeypatch.undo()
    verification.request_code(phone=PHONE)
    assert len(LocmemBackend.outbox) == 1


@pytest.mark.django_db
def test_right_code_verifies_the_session():
    now = timezone.now()
    verification.request_code(phone=PHONE, now=now)
    request = _request()
    verification.confirm_code(request, phone=PHONE, code=_last_code(), now=now)
    assert verification.verified_phone(request, now=now) == PHONE
    assert verification.verified_phone(request, now=now + timedelta(minutes=31)) is None
    # A used code cannot be used again.
    with pytest.raises(verification.VerificationError):
        verification.confirm_code(_request(), phone=PHONE, code=_last_code(), now=now)


@pytest.mark.django_db
def test_five_attempts_per_code():
    now = timezone.now()
    verification.request_code(phone=PHONE, now=now)
    code = _last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(verification.VerificationError) as error:
            verification.confirm_code(_request(), phone=PHONE, code=wrong, now=now)
        assert "not right" in str(error.value.message)
    assert PhoneVerification.objects.get().attempts == 5
    with pytest.raises(verification.VerificationError) as error:
        verification.confirm_code(_request(), phone=PHONE, code=code, now=now)
    assert "Too many" in str(error.value.message)


@pytest.mark.django_db
def test_expired_code_is_refused():
    now = timezone.now()
    verification.request_code(phone=PHONE, now=now)
    with pytest.raises(verification.VerificationError) as error:
        verification.confirm_code(
            _request(), phone=PHONE, code=_last_code(), now=now + timedelta(minutes=10)
        )
    assert "expired" in str(error.value.message)


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/visit/b/x/", "/visit/b/x/"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example", None),
        ("", None),
    ],
)
def test_next_must_be_a_local_path(target, expected):
    assert verification.safe_next(None, target) == expected


@pytest.mark.django_db
def test_verify_page_phone_then_code_then_next(client):
    url = reverse("visit:verify")
    response = client.get(url, {"next": "/visit/somewhere/"})
    assert response.status_code == 200
    response = client.post(url, {"action": "send", "phone": PHONE, "next": "/visit/somewhere/"})
    assert response.status_code == 200
    assert "138****8000" in response.content.decode()
    assert PHONE not in response.content.decode()
    response = client.post(url, {"action": "confirm", "code": "12", "next": "/visit/somewhere/"})
    assert response.status_code == 200
    assert "6 digits" in response.content.decode()
    response = client.post(
        url, {"action": "confirm", "code": _last_code(), "next": "/visit/somewhere/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/visit/somewhere/"
    assert client.session[verification.SESSION_KEY]["phone"] == PHONE


@pytest.mark.django_db
def test_verify_page_refuses_foreign_next_and_shows_field_errors(client):
    url = reverse("visit:verify")
    response = client.post(url, {"action": "send", "phone": "abc", "next": "https://evil/"})
    assert response.status_code == 200
    assert "valid mobile number" in response.content.decode()
    client.post(url, {"action": "send", "phone": PHONE})
    response = client.post(url, {"action": "confirm", "code": _last_code(), "next": "//evil"})
    assert response.status_code == 200
    assert "is verified" in response.content.decode()


@pytest.mark.django_db
def test_required_decorator_redirects_to_verify_with_next(rf):
    view = verification.phone_verified_required(lambda request: "ok")
    request = _request()
    request.path = "/visit/b/tok/"
    request.META["QUERY_STRING"] = ""
    response = view(request)
    assert response.status_code == 302
    assert response["Location"] == "/visit/verify/?next=%2Fvisit%2Fb%2Ftok%2F"


@pytest.mark.django_db
def test_old_verifications_are_purged():
    now = timezone.now()
    verification.request_code(phone=PHONE, now=now - timedelta(days=2))
    verification.request_code(phone="13900139000", now=now)
    assert verification.verifications_purge(now=now) == 1
    assert PhoneVerification.objects.count() == 1


@pytest.mark.django_db
def test_codes_from_one_address_are_rate_limited(client, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | {"visit_sms": "2/hour"}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": rates}
    url = reverse("visit:verify")
    for n in range(2):
        response = client.post(url, {"action": "send", "phone": f"1380013800{n}"})
        assert response.status_code == 200
    response = client.post(url, {"action": "send", "phone": "13800138009"})
    assert response.status_code == 429
    assert len(LocmemBackend.outbox) == 2


def test_the_poster_link_is_the_same_whenever_it_is_printed(branch):
    """The QR code on the wall must keep working, and a reprint must show the same code."""
    import time_machine

    from reception import links

    printed = links.branch_token(branch.pk)
    with time_machine.travel(timezone.now() + timedelta(days=400)):
        assert links.branch_token(branch.pk) == printed
        assert links.branch_id_from_token(printed) == branch.pk
    assert links.branch_id_from_token(printed[:-1] + ("A" if printed[-1] != "A" else "B")) is None
    assert links.branch_id_from_token(f"{branch.pk + 1}:{printed.split(':')[1]}") is None
