"""Survey invitations and answers: consent, quiet hours, frequency cap, one-time links, SMS."""

import json
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.models import Interaction
from crm.services import interaction_record
from feedback import policy, services, tasks
from feedback.links import survey_token
from feedback.models import SurveyInvitation, SurveyResponse
from feedback.sms import FileBackend, LocmemBackend, SmsMessage

from .factories import CustomerFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "13912345678"
AFTERNOON = datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI)
LATE_EVENING = datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI)


@pytest.fixture
def customer(db):
    return CustomerFactory(phone=PHONE, sms_consent=True, preferred_language="en")


@pytest.fixture
def record_visit(branch, eager_celery, django_capture_on_commit_callbacks):
    """A served visit recorded as after a real commit: crm announces it, feedback invites."""

    def _record(customer, *, kind=Interaction.Kind.BRANCH_SERVICE) -> Interaction:
        with django_capture_on_commit_callbacks(execute=True):
            interaction = interaction_record(
                customer=customer,
                branch=branch,
                kind=kind,
                occurred_at=datetime.now(tz=SHANGHAI),
                service_code="cash",
            )
        return interaction

    return _record


def invitation_of(interaction) -> SurveyInvitation:
    return SurveyInvitation.objects.get(interaction=interaction)


@time_machine.travel(AFTERNOON, tick=False)
def test_it_invites_and_texts_a_consenting_customer_at_once(customer, record_visit):
    invitation = invitation_of(record_visit(customer))
    assert invitation.status == SurveyInvitation.Status.SENT
    assert invitation.sent_at == AFTERNOON
    assert [m.to for m in LocmemBackend.outbox] == [PHONE]
    assert LocmemBackend.outbox[0].reference == f"invitation:{invitation.pk}"


@time_machine.travel(AFTERNOON, tick=False)
def test_it_skips_a_customer_without_sms_consent(record_visit):
    invitation = invitation_of(record_visit(CustomerFactory(sms_consent=False)))
    assert (invitation.status, invitation.skip_reason) == (
        SurveyInvitation.Status.SKIPPED,
        "no_consent",
    )
    assert invitation.scheduled_for is None
    assert LocmemBackend.outbox == []


@time_machine.travel(AFTERNOON, tick=False)
def test_it_skips_a_customer_without_a_phone(record_visit):
    invitation = invitation_of(record_visit(CustomerFactory(phone=None)))
    assert invitation.skip_reason == "no_phone"
    assert LocmemBackend.outbox == []


@pytest.mark.parametrize("kind", [Interaction.Kind.NOTE, Interaction.Kind.NO_SHOW])
def test_it_does_not_invite_for_notes_or_no_shows(customer, record_visit, kind):
    record_visit(customer, kind=kind)
    assert not SurveyInvitation.objects.exists()


def test_it_holds_an_invitation_in_quiet_hours_until_eight_next_morning(customer, record_visit):
    with time_machine.travel(LATE_EVENING, tick=False):
        invitation = invitation_of(record_visit(customer))
    assert invitation.status == SurveyInvitation.Status.SCHEDULED
    assert invitation.scheduled_for == datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI)
    assert LocmemBackend.outbox == []
    # Nothing goes out before eight, even if someone asks.
    with time_machine.travel(datetime(2026, 11, 24, 7, 59, tzinfo=SHANGHAI), tick=False):
        assert services.invitation_send(invitation_id=invitation.pk) is False
    assert LocmemBackend.outbox == []


def test_it_sends_due_invitations_from_the_beat_task(customer, record_visit, eager_celery):
    with time_machine.travel(LATE_EVENING, tick=False):
        invitation = invitation_of(record_visit(customer))
        assert tasks.send_due_invitations() == 0
    with time_machine.travel(datetime(2026, 11, 24, 8, 1, tzinfo=SHANGHAI), tick=False):
        assert services.due_invitation_ids() == [invitation.pk]
        assert tasks.send_due_invitations() == 1
        assert tasks.send_due_invitations() == 0
    invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.SENT
    assert len(LocmemBackend.outbox) == 1


def test_it_invites_a_customer_at_most_once_in_thirty_days(customer, record_visit):
    with time_machine.travel(AFTERNOON, tick=False):
        first = invitation_of(record_visit(customer))
    with time_machine.travel(AFTERNOON + timedelta(days=29), tick=False):
        second = invitation_of(record_visit(customer))
    with time_machine.travel(AFTERNOON + timedelta(days=31), tick=False):
        third = invitation_of(record_visit(customer))
    assert first.status == SurveyInvitation.Status.SENT
    assert (second.status, second.skip_reason) == (
        SurveyInvitation.Status.SKIPPED,
        "frequency_cap",
    )
    assert third.status == SurveyInvitation.Status.SENT
    assert len(LocmemBackend.outbox) == 2


@time_machine.travel(AFTERNOON, tick=False)
def test_it_creates_one_invitation_per_interaction(customer, branch):
    interaction = Interaction.objects.create(
        customer=customer, branch=branch, kind="branch_service", occurred_at=AFTERNOON
    )
    first = services.invitation_create_for_interaction(interaction_id=interaction.pk)
    again = services.invitation_create_for_interaction(interaction_id=interaction.pk)
    assert first == again
    assert SurveyInvitation.objects.count() == 1


@pytest.fixture
def due_invitation(customer, branch):
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


@time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False)
def test_it_sends_an_invitation_only_once(due_invitation):
    assert services.invitation_send(invitation_id=due_invitation.pk) is True
    assert services.invitation_send(invitation_id=due_invitation.pk) is False
    assert len(LocmemBackend.outbox) == 1
    due_invitation.refresh_from_db()
    assert (due_invitation.status, due_invitation.attempts) == (SurveyInvitation.Status.SENT, 1)


@time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False)
def test_it_puts_an_absolute_survey_link_in_the_customers_language(due_invitation, settings):
    settings.PUBLIC_BASE_URL = "https://bank.example.cn/"
    services.invitation_send(invitation_id=due_invitation.pk)
    body = LocmemBackend.outbox[0].body
    link = f"https://bank.example.cn/survey/{survey_token(due_invitation.pk)}/"
    assert link in body
    assert due_invitation.branch.name in body
    assert "thank you for visiting" in body  # English: the customer's preferred language


@time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False)
def test_a_chinese_speaking_customer_gets_the_sms_in_chinese(due_invitation):
    """The body was once wrapped in an alias makemessages does not know (`gettext as _t`), so
    it was never translated: every customer got English."""
    for language, expected in (("zh-hans", "感谢您的光临"), ("zh-hant", "感謝您的光臨")):
        due_invitation.customer.preferred_language = language
        due_invitation.customer.save(update_fields=["preferred_language"])
        SurveyInvitation.objects.filter(pk=due_invitation.pk).update(
            status=SurveyInvitation.Status.SCHEDULED, attempts=0
        )
        LocmemBackend.outbox.clear()
        services.invitation_send(invitation_id=due_invitation.pk)
        body = LocmemBackend.outbox[0].body
        assert expected in body
        # The link stands alone (phones detect a URL only at a word boundary).
        assert any(word.startswith("http") for word in body.split())


@time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False)
def test_it_never_writes_the_full_phone_number_to_logs_or_the_sms_file(
    customer, record_visit, settings, tmp_path, caplog, capsys
):
    settings.SMS_BACKEND = "feedback.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "outbox.jsonl"
    with caplog.at_level(logging.DEBUG):
        invitation = invitation_of(record_visit(customer))
    assert invitation.status == SurveyInvitation.Status.SENT
    record = json.loads((tmp_path / "outbox.jsonl").read_text(encoding="utf-8"))
    assert record["to"] == "139****5678"
    assert record["reference"] == f"invitation:{invitation.pk}"
    assert "/survey/" in record["body"] and record["body"].count("://") == 1
    assert PHONE not in (tmp_path / "outbox.jsonl").read_text(encoding="utf-8")
    assert PHONE not in caplog.text
    assert PHONE not in capsys.readouterr().out


@time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False)
def test_the_console_backend_prints_a_masked_number(due_invitation, settings, capsys):
    settings.SMS_BACKEND = "feedback.sms.ConsoleBackend"
    services.invitation_send(invitation_id=due_invitation.pk)
    out = capsys.readouterr().out
    assert "139****5678" in out
    assert PHONE not in out


def test_the_sweep_retries_a_failed_send_with_backoff_then_gives_up(
    due_invitation, settings, eager_celery
):
    """One retry path: the service reschedules, beat's sweep sends. Nothing is reset by hand."""
    settings.SMS_BACKEND = "tests.test_feedback_services.BrokenBackend"
    with time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False) as clock:
        for attempt in range(1, services.MAX_SEND_ATTEMPTS + 1):
            assert tasks.send_due_invitations() == 1
            due_invitation.refresh_from_db()
            assert due_invitation.attempts == attempt
            assert tasks.send_due_invitations() == 0  # not due again before the backoff
            clock.shift(services.send_retry_delay(attempt))
        assert due_invitation.status == SurveyInvitation.Status.FAILED
        settings.SMS_BACKEND = "feedback.sms.LocmemBackend"
        assert tasks.send_due_invitations() == 0
    assert LocmemBackend.outbox == []


def test_the_sweep_sends_after_a_failure_once_the_gateway_is_back(
    due_invitation, settings, eager_celery
):
    settings.SMS_BACKEND = "tests.test_feedback_services.BrokenBackend"
    with time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False) as clock:
        assert services.invitation_send(invitation_id=due_invitation.pk) is False
        due_invitation.refresh_from_db()
        assert due_invitation.status == SurveyInvitation.Status.SCHEDULED
        settings.SMS_BACKEND = "feedback.sms.LocmemBackend"
        clock.shift(services.send_retry_delay(1))
        assert tasks.send_due_invitations() == 1
    due_invitation.refresh_from_db()
    assert (due_invitation.status, due_invitation.attempts) == (SurveyInvitation.Status.SENT, 2)
    assert len(LocmemBackend.outbox) == 1


def test_a_claim_whose_worker_died_is_taken_again_after_the_lease(
    due_invitation, settings, eager_celery, monkeypatch
):
    """The worker claimed, sent, then died before recording it: after the lease, the sweep
    sends again with the same idempotency key, and the gateway delivers one message."""

    class DiesAfterSending(LocmemBackend):
        def send(self, message):
            super().send(message)
            raise SystemExit("worker killed")  # not an Exception: nothing records the send

    with time_machine.travel(AFTERNOON + timedelta(minutes=1), tick=False) as clock:
        # Where invitation_send looks it up (feedback.services is a package of areas).
        monkeypatch.setattr(services.core, "get_backend", DiesAfterSending)
        with pytest.raises(SystemExit):
            services.invitation_send(invitation_id=due_invitation.pk)
        monkeypatch.undo()
        due_invitation.refresh_from_db()
        assert due_invitation.status == SurveyInvitation.Status.SENDING
        assert tasks.send_due_invitations() == 0  # the lease still holds
        clock.shift(timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS + 1))
        assert tasks.send_due_invitations() == 1
    due_invitation.refresh_from_db()
    assert (due_invitation.status, due_invitation.attempts) == (SurveyInvitation.Status.SENT, 2)
    assert len(LocmemBackend.outbox) == 1  # the second send carried the same key
    assert LocmemBackend.outbox[0].idempotency_key == services.idempotency_key(due_invitation.pk)


def test_the_file_backend_writes_one_line_per_idempotency_key(settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path / "outbox.jsonl"
    first = SmsMessage(to=PHONE, body="hi", reference="invitation:1", idempotency_key="k-1")
    FileBackend().send(first)
    FileBackend().send(first)  # a retry after a crash
    FileBackend._seen.clear()  # another process, or a restart: reads the file afresh
    FileBackend().send(first)
    FileBackend().send(SmsMessage(to=PHONE, body="hi", reference="x:2", idempotency_key="k-2"))
    lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["idempotency_key"] for line in lines] == ["k-1", "k-2"]


def test_the_file_backend_keeps_a_message_after_a_line_cut_short(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    settings.SMS_FILE_PATH = path
    path.write_text('{"idempotency_key": "k-1", "bo', encoding="utf-8")  # writer killed
    FileBackend._seen.clear()
    FileBackend().send(
        SmsMessage(to=PHONE, body="hi", reference="invitation:1", idempotency_key="k-1")
    )
    FileBackend._seen.clear()
    FileBackend().send(
        SmsMessage(to=PHONE, body="hi", reference="invitation:1", idempotency_key="k-1")
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["idempotency_key"] == "k-1"
    assert len(lines) == 2  # the cut line, then one whole message


class BrokenBackend:
    def send(self, message) -> None:
        raise ConnectionError("gateway down")


# --- answers -------------------------------------------------------------------------------------


def test_it_records_an_answer_once(due_invitation):
    token = survey_token(due_invitation.pk)
    answer = services.response_submit(token=token, satisfaction=5, recommend=10, comment="Fast")
    assert (answer.branch, answer.channel) == (
        due_invitation.branch,
        SurveyResponse.Channel.SMS_LINK,
    )
    with pytest.raises(services.SurveyError) as error:
        services.response_submit(token=token, satisfaction=1)
    assert error.value.code == "answered"
    assert SurveyResponse.objects.get().satisfaction == 5
    due_invitation.refresh_from_db()
    assert due_invitation.status == SurveyInvitation.Status.ANSWERED


@pytest.mark.parametrize("token", ["", "garbage", "eyJ9:1:2"])
def test_it_refuses_a_bad_link(due_invitation, token):
    with pytest.raises(services.SurveyError) as error:
        services.response_submit(token=token, satisfaction=5)
    assert error.value.code == "bad_link"


def test_it_refuses_a_tampered_token(due_invitation):
    token = survey_token(due_invitation.pk)
    payload, rest = token.split(":", 1)
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + rest
    with pytest.raises(services.SurveyError) as error:
        services.response_submit(token=forged, satisfaction=5)
    assert error.value.code == "bad_link"
    assert not SurveyResponse.objects.exists()


def test_it_refuses_an_expired_link(due_invitation, settings):
    token = survey_token(due_invitation.pk)
    later = datetime.now(tz=SHANGHAI) + timedelta(days=settings.SURVEY_LINK_MAX_AGE_DAYS, hours=1)
    with time_machine.travel(later), pytest.raises(services.SurveyError) as error:
        services.response_submit(token=token, satisfaction=5)
    assert error.value.code == "bad_link"


@pytest.mark.parametrize(
    ("satisfaction", "recommend", "code"),
    [
        (0, None, "satisfaction"),
        (6, None, "satisfaction"),
        (3, 11, "recommend"),
        (3, -1, "recommend"),
    ],
)
def test_it_refuses_answers_out_of_range(due_invitation, satisfaction, recommend, code):
    with pytest.raises(services.SurveyError) as error:
        services.response_submit(
            token=survey_token(due_invitation.pk), satisfaction=satisfaction, recommend=recommend
        )
    assert error.value.code == code
    assert not SurveyResponse.objects.exists()
    due_invitation.refresh_from_db()
    assert due_invitation.status == SurveyInvitation.Status.SCHEDULED


def test_it_cuts_a_comment_to_a_thousand_characters(due_invitation):
    answer = services.response_submit(
        token=survey_token(due_invitation.pk), satisfaction=4, comment="x" * 1500
    )
    assert len(answer.comment) == 1000


# --- policy (pure) -------------------------------------------------------------------------------


def local(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def decide(now_local, **overrides) -> policy.Decision:
    arguments = {"consent": True, "has_phone": True, "last_invited_at": None} | overrides
    return policy.decide(now_local=now_local, **arguments)


def test_policy_sends_now_in_the_daytime():
    assert decide(local(14)) == policy.Decision(local(14))


def test_policy_needs_a_phone_before_anything_else():
    assert decide(local(14), has_phone=False, consent=False).skip_reason == "no_phone"


def test_policy_needs_consent():
    assert decide(local(14), consent=False) == policy.Decision(None, "no_consent")


@pytest.mark.parametrize(
    ("days_ago", "skipped"), [(0, True), (29, True), (29.99, True), (30, False), (45, False)]
)
def test_policy_caps_frequency_at_thirty_days(days_ago, skipped):
    decision = decide(local(14), last_invited_at=local(14) - timedelta(days=days_ago))
    assert (decision.skip_reason == "frequency_cap") is skipped
    assert (decision.send_at is None) is skipped


@pytest.mark.parametrize(
    ("now", "send_at"),
    [
        (local(20, 59), local(20, 59)),
        (local(21, 0), local(8, 0, day=24)),
        (local(22, 30), local(8, 0, day=24)),
        (local(23, 59), local(8, 0, day=24)),
        (local(0, 5), local(8, 0)),
        (local(7, 59), local(8, 0)),
        (local(8, 0), local(8, 0)),
    ],
)
def test_policy_holds_messages_in_quiet_hours_until_eight(now, send_at):
    assert decide(now).send_at == send_at


def test_policy_applies_quiet_hours_after_the_delay():
    assert decide(local(20, 30), delay=timedelta(minutes=45)).send_at == local(8, 0, day=24)
    assert decide(local(19, 0), delay=timedelta(minutes=30)).send_at == local(19, 30)


def test_policy_accepts_a_quiet_window_within_one_day():
    rules = policy.ContactRules(quiet_from=time(12, 0), quiet_until=time(14, 0))
    assert decide(local(12, 30), rules=rules).send_at == local(14, 0)
    assert decide(local(14, 0), rules=rules).send_at == local(14, 0)
    assert decide(local(22, 0), rules=rules).send_at == local(22, 0)


def test_policy_keeps_the_branchs_time_zone():
    send_at = decide(local(22)).send_at
    assert send_at.tzinfo == SHANGHAI
    assert send_at.utcoffset() == timedelta(hours=8)


@time_machine.travel(AFTERNOON, tick=False)
def test_a_diversion_to_the_machines_does_not_use_up_the_survey_allowance(customer, record_visit):
    diverted = record_visit(customer, kind=Interaction.Kind.SELF_SERVICE)
    served = record_visit(customer)
    assert not SurveyInvitation.objects.filter(interaction=diverted).exists()
    invitation = invitation_of(served)
    assert (invitation.status, invitation.skip_reason) == (SurveyInvitation.Status.SENT, "")
