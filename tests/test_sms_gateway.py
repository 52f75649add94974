"""Real SMS gateways: the generic HTTP backend against a fake gateway on loopback, Aliyun's
SDK mocked at its client, the opt-out notice on every message, and the signed webhooks
(delivery receipts, opt-out replies)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm.models import Interaction
from feedback import services
from feedback.models import DeliveryStatus, InboundSms, SurveyInvitation
from feedback.sms import (
    AliyunBackend,
    HttpGatewayBackend,
    LocmemBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTemporaryError,
    get_backend,
)

from .factories import CustomerFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
AFTERNOON = datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI)
PHONE = "13912345678"
SECRET = "webhook-secret"


class FakeGateway:
    """An HTTP gateway on 127.0.0.1: answers from a script of (status, body, delay)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append({"headers": dict(self.headers), "body": raw})
                status, body, delay = (
                    gateway.script.pop(0) if gateway.script else (200, {"message_id": "x"}, 0)
                )
                if delay:
                    time.sleep(delay)
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway_settings(settings):
    settings.SMS_BACKEND = "feedback.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_KEY = "key-1"
    settings.SMS_GATEWAY_SECRET = "secret-1"
    settings.SMS_TEMPLATE_ID = "SMS_0001"
    settings.SMS_SIGNATURE = "BranchFlow银行"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    return settings


def message(**kwargs) -> SmsMessage:
    values = {"to": PHONE, "body": "Hello", "reference": "t:1", "idempotency_key": "key-42"}
    return SmsMessage(**(values | kwargs))


def test_the_http_backend_posts_signed_json_with_the_idempotency_key(gateway_settings):
    with FakeGateway([(200, {"message_id": "gw-123"}, 0)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        assert HttpGatewayBackend().send(message()) == "gw-123"
    [request] = gateway.requests
    body = json.loads(request["body"])
    assert body["to"] == PHONE
    assert body["idempotency_key"] == "key-42"
    assert request["headers"]["Idempotency-Key"] == "key-42"
    assert body["sign_name"] == "BranchFlow银行"  # the SMS signature
    assert body["template_id"] == "SMS_0001"
    assert request["headers"]["X-Api-Key"] == "key-1"
    expected = hmac.new(b"secret-1", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Signature"] == expected


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_temporary(gateway_settings, status):
    with FakeGateway([(status, {"error": "busy"}, 0)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with pytest.raises(SmsTemporaryError):
            HttpGatewayBackend().send(message())


def test_a_refusal_is_permanent(gateway_settings):
    with FakeGateway([(400, {"error": "bad number"}, 0)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with pytest.raises(SmsPermanentError):
            HttpGatewayBackend().send(message())


def test_a_key_the_gateway_already_accepted_counts_as_sent(gateway_settings):
    with FakeGateway([(409, {"message_id": "gw-1"}, 0)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        assert HttpGatewayBackend().send(message()) == "gw-1"


def test_a_timeout_is_temporary(gateway_settings):
    with FakeGateway([(200, {"message_id": "late"}, 1.5)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with pytest.raises(SmsTemporaryError):
            HttpGatewayBackend().send(message())


def test_an_unreachable_gateway_is_temporary(gateway_settings):
    gateway_settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/nothing-listens-here"
    with pytest.raises(SmsTemporaryError):
        HttpGatewayBackend().send(message())


@pytest.fixture
def due_invitation(branch):
    customer = CustomerFactory(phone=PHONE, sms_consent=True, preferred_language="en")
    interaction = Interaction.objects.create(
        customer=customer, branch=branch, kind="branch_service", occurred_at=AFTERNOON
    )
    return SurveyInvitation.objects.create(
        customer=customer,
        branch=branch,
        interaction=interaction,
        status=SurveyInvitation.Status.SCHEDULED,
        scheduled_for=AFTERNOON,
    )


def test_a_5xx_is_retried_with_backoff_then_sent_once(gateway_settings, due_invitation):
    with FakeGateway([(503, {}, 0), (200, {"message_id": "gw-9"}, 0)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False):
            assert services.invitation_send(invitation_id=due_invitation.pk) is False
            due_invitation.refresh_from_db()
            assert due_invitation.status == SurveyInvitation.Status.SCHEDULED
            assert due_invitation.scheduled_for == AFTERNOON + timedelta(minutes=2)
            assert services.due_invitation_ids() == []  # not before the backoff
        with time_machine.travel(AFTERNOON + timedelta(minutes=2, seconds=1), tick=False):
            assert services.due_invitation_ids() == [due_invitation.pk]
            assert services.invitation_send(invitation_id=due_invitation.pk) is True
    due_invitation.refresh_from_db()
    assert due_invitation.status == SurveyInvitation.Status.SENT
    assert due_invitation.provider_message_id == "gw-9"
    assert due_invitation.delivery_status == DeliveryStatus.ACCEPTED
    keys = {json.loads(r["body"])["idempotency_key"] for r in gateway.requests}
    assert keys == {services.idempotency_key(due_invitation.pk)}  # one key for both attempts


def test_a_429_is_retried_and_a_refusal_fails_at_once(gateway_settings, due_invitation):
    with FakeGateway([(429, {}, 0), (400, {}, 0)]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False):
            services.invitation_send(invitation_id=due_invitation.pk)
        due_invitation.refresh_from_db()
        assert due_invitation.status == SurveyInvitation.Status.SCHEDULED
        with time_machine.travel(AFTERNOON + timedelta(minutes=5), tick=False):
            services.invitation_send(invitation_id=due_invitation.pk)
    due_invitation.refresh_from_db()
    assert (due_invitation.status, due_invitation.attempts) == (SurveyInvitation.Status.FAILED, 2)


# --- Aliyun, through its official SDK (mocked at the client) ------------------------------------


def _aliyun_answer(code, biz_id=""):
    return SimpleNamespace(body=SimpleNamespace(code=code, biz_id=biz_id, message=code))


def test_aliyun_sends_through_the_sdk_with_sign_name_template_and_out_id(gateway_settings):
    client = mock.Mock()
    client.send_sms_with_options.return_value = _aliyun_answer("OK", "biz-77")
    with mock.patch.object(AliyunBackend, "client", return_value=client):
        assert AliyunBackend().send(message(body="你好")) == "biz-77"
    request, _runtime = client.send_sms_with_options.call_args.args
    assert request.phone_numbers == PHONE
    assert request.sign_name == "BranchFlow银行"
    assert request.template_code == "SMS_0001"
    assert json.loads(request.template_param) == {"content": "你好"}
    assert request.out_id == "key-42"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_aliyun_answer("isv.BUSINESS_LIMIT_CONTROL"), SmsTemporaryError),
        (_aliyun_answer("isp.SYSTEM_ERROR"), SmsTemporaryError),
        (_aliyun_answer("isv.MOBILE_NUMBER_ILLEGAL"), SmsPermanentError),
        (ConnectionError("down"), SmsTemporaryError),
    ],
)
def test_aliyun_errors_are_temporary_or_permanent(gateway_settings, answer, error):
    client = mock.Mock()
    if isinstance(answer, Exception):
        client.send_sms_with_options.side_effect = answer
    else:
        client.send_sms_with_options.return_value = answer
    with mock.patch.object(AliyunBackend, "client", return_value=client), pytest.raises(error):
        AliyunBackend().send(message())


def test_aliyun_is_chosen_by_settings(settings):
    settings.SMS_BACKEND = "feedback.sms.AliyunBackend"
    assert isinstance(get_backend().backend, AliyunBackend)


# --- The opt-out notice --------------------------------------------------------------------------


def test_every_message_says_how_to_opt_out_once():
    get_backend().send(message(body="Your code is 123456", language="en"))
    get_backend().send(message(body="Done. Reply TD to opt out", idempotency_key="k2"))
    first, second = LocmemBackend.outbox
    assert first.body == "Your code is 123456 Reply TD to opt out"
    assert second.body == "Done. Reply TD to opt out"  # not twice


@time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False)
def test_the_survey_sms_ends_with_the_opt_out_notice(due_invitation):
    services.invitation_send(invitation_id=due_invitation.pk)
    [sms] = LocmemBackend.outbox
    assert sms.body.endswith("Reply TD to opt out")
    assert sms.language == "en"


# --- Webhooks ------------------------------------------------------------------------------------


def _post(client, name, payload, secret=SECRET):
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        reverse(f"feedback:{name}"),
        data=body,
        content_type="application/json",
        headers={"X-Signature": signature},
    )


@pytest.fixture
def hooks(settings, client, db):
    settings.SMS_WEBHOOK_SECRET = SECRET
    client.enforce_csrf_checks = True  # the hooks are CSRF-exempt: the signature is checked
    return client


def test_a_delivery_receipt_updates_the_invitation(hooks, due_invitation):
    SurveyInvitation.objects.filter(pk=due_invitation.pk).update(
        provider_message_id="gw-5", delivery_status=DeliveryStatus.ACCEPTED
    )
    response = _post(
        hooks,
        "sms_receipt_hook",
        {"message_id": "gw-5", "status": "delivered", "delivered_at": "2026-11-23T14:01:00+08:00"},
    )
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    due_invitation.refresh_from_db()
    assert due_invitation.delivery_status == DeliveryStatus.DELIVERED
    assert due_invitation.delivered_at == datetime(2026, 11, 23, 14, 1, tzinfo=SHANGHAI)


def test_aliyun_style_receipts_in_a_list(hooks, due_invitation):
    SurveyInvitation.objects.filter(pk=due_invitation.pk).update(provider_message_id="biz-1")
    response = _post(
        hooks,
        "sms_receipt_hook",
        [{"biz_id": "biz-1", "success": False, "err_code": "MK:0001"}, {"biz_id": "unknown"}],
    )
    assert response.json() == {"updated": 1}
    due_invitation.refresh_from_db()
    assert due_invitation.delivery_status == DeliveryStatus.UNDELIVERED


@pytest.mark.parametrize("name", ["sms_receipt_hook", "sms_inbound_hook"])
def test_a_wrong_or_missing_signature_is_refused(hooks, name):
    assert _post(hooks, name, {"from": PHONE, "content": "TD"}, secret="guess").status_code == 403
    response = hooks.post(reverse(f"feedback:{name}"), data="{}", content_type="application/json")
    assert response.status_code == 403
    assert InboundSms.objects.count() == 0


def test_no_secret_configured_closes_the_hooks(hooks, settings):
    settings.SMS_WEBHOOK_SECRET = ""
    assert _post(hooks, "sms_inbound_hook", {"from": PHONE, "content": "TD"}).status_code == 403


def test_hooks_take_only_post_and_answer_bad_input_with_400(hooks):
    assert hooks.get(reverse("feedback:sms_inbound_hook")).status_code == 405
    assert _post(hooks, "sms_inbound_hook", {"from": 5}).status_code == 400
    assert _post(hooks, "sms_receipt_hook", [1, 2]).status_code == 400
    body = b"not json"
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = hooks.post(
        reverse("feedback:sms_receipt_hook"),
        data=body,
        content_type="application/json",
        headers={"X-Signature": signature},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("reply", ["TD", "td", "ＴＤ", " 退订 ", "Stop.", "退訂"])
def test_an_opt_out_reply_withdraws_consent(hooks, db, reply, caplog):
    customer = CustomerFactory(phone=PHONE, sms_consent=True)
    response = _post(hooks, "sms_inbound_hook", {"from": "+86 139-1234-5678", "content": reply})
    assert response.json() == {"action": "opted_out"}
    customer.refresh_from_db()
    assert customer.sms_consent is False
    assert customer.sms_consent_source == "phone_page"  # withdrawn from the customer's phone
    assert customer.sms_consent_at is None
    inbound = InboundSms.objects.get()
    assert inbound.from_masked == "139****5678"
    assert PHONE not in caplog.text


def test_other_replies_are_logged_and_change_nothing(hooks, db):
    customer = CustomerFactory(phone=PHONE, sms_consent=True)
    assert (
        _post(hooks, "sms_inbound_hook", {"from": PHONE, "content": "TD please call me"}).json()[
            "action"
        ]
        == "none"
    )
    customer.refresh_from_db()
    assert customer.sms_consent is True


def test_an_opt_out_from_an_unknown_number_creates_no_customer(hooks, db):
    from crm.models import Customer

    response = _post(hooks, "sms_inbound_hook", {"from": "13800138000", "content": "TD"})
    assert response.json() == {"action": "opt_out_unknown_number"}
    assert not Customer.objects.exists()


def test_the_hooks_are_rate_limited(hooks, settings):
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        | {"sms_hook": "2/min"}
    }
    codes = [_post(hooks, "sms_receipt_hook", {"message_id": "x"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
