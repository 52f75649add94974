"""A real Celery worker process: broker (Redis) + worker + task + database + SMS backend together.

Every other test runs tasks eagerly, in-process. This one starts `celery worker` as a separate
process, pointed at the database pytest-django created, and waits for the survey SMS it sends.
It needs PostgreSQL (SQLite's in-memory test database cannot be shared with another process)
and Redis; it is skipped without them, except in CI, where nothing may be skipped.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm.models import Interaction
from feedback import services as feedback_services
from feedback import tasks as feedback_tasks
from feedback.links import invitation_id_from_token
from feedback.models import SurveyInvitation
from feedback.tasks import send_invitation

from .factories import CustomerFactory

ON_POSTGRES = connection.vendor == "postgresql"
BASE_DIR = Path(settings.BASE_DIR)
WAIT_SECONDS = 30

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres_and_redis():
    missing = []
    if not ON_POSTGRES:
        missing.append("DATABASE_URL=postgres://... (SQLite's test database is in memory)")
    if not settings.REDIS_URL:
        missing.append("REDIS_URL=redis://...")
    if not missing:
        return
    reason = "a real worker needs " + " and ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs every test, nothing may be skipped)")
    pytest.skip(reason)


def _test_database_url() -> str:
    """The database pytest-django created (test_<name>), as a URL for the worker."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _zone_at_midday() -> str:
    """A time zone where it is 10:00-17:59 right now, so quiet hours cannot delay the SMS
    (we cannot move the worker's clock, so we move the branch)."""
    now = timezone.now()
    for offset in range(-12, 15):
        # Etc/GMT-8 is UTC+8: the POSIX sign is inverted.
        name = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError("some whole-hour zone is always at midday")


@pytest.fixture
def worker_queue(monkeypatch):
    """A queue only this test's worker listens to, so no other worker on the same Redis
    (a developer's `make run`, another test run) can take the message."""
    queue = f"bf-test-{uuid.uuid4().hex[:12]}"
    original_apply_async = send_invitation.apply_async

    def apply_on_test_queue(args=None, kwargs=None, **options):
        return original_apply_async(args, kwargs, **{**options, "queue": queue})

    # delay() and accounts.resilience.enqueue() both end in apply_async.
    monkeypatch.setattr(send_invitation, "apply_async", apply_on_test_queue)
    return queue


def _start_worker(
    queue: str, outbox: Path, log_path: Path, *, pool: str = "solo", concurrency: int = 1, **env
) -> subprocess.Popen:
    env = {
        **os.environ,
        # config.settings, not config.test_settings: the test settings pin the in-memory SMS
        # backend, and this worker must write its messages where the test can read them.
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the survey link is signed with it
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SMS_BACKEND": "feedback.sms.FileBackend",
        "SMS_FILE_PATH": str(outbox),
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "DB_CONN_MAX_AGE": "0",
        **env,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        "-Q",
        queue,
        "-n",
        f"{queue}-{uuid.uuid4().hex[:6]}@%h",
    ]
    with log_path.open("a") as log:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task, then exit
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def worker(tmp_path, worker_queue):
    outbox = tmp_path / "outbox.jsonl"
    log_path = tmp_path / "worker.log"
    process = _start_worker(worker_queue, outbox, log_path)
    try:
        yield process, outbox, log_path
    finally:
        _stop(process)
        _delete_queue(worker_queue)


def _delete_queue(name: str) -> None:
    """Leave no per-run queue (nor kombu's bindings for it) behind on the shared Redis."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


def _wait_for_line(outbox: Path, reference: str, process, log_path: Path) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if outbox.exists():
            for line in outbox.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record["reference"] == reference:
                    return record
        if process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}):\n{log_path.read_text()}")
        time.sleep(0.25)
    pytest.fail(
        f"no SMS for {reference} within {WAIT_SECONDS}s; worker log:\n{log_path.read_text()}"
    )


def test_it_sends_the_survey_sms_from_a_real_worker(branch, worker):
    process, outbox, log_path = worker
    branch.time_zone = _zone_at_midday()
    branch.save(update_fields=["time_zone"])
    customer = CustomerFactory(phone="13912345678", sms_consent=True)
    interaction = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        service_code="cash",
        occurred_at=timezone.now(),
    )

    # Commits, and on commit queues feedback.tasks.send_invitation for the worker.
    invitation = feedback_services.invitation_create_for_interaction(interaction_id=interaction.pk)
    assert invitation is not None
    assert invitation.status == SurveyInvitation.Status.SCHEDULED

    record = _wait_for_line(outbox, f"invitation:{invitation.pk}", process, log_path)

    assert record["to"] == customer.masked_phone
    assert "13912345678" not in json.dumps(record, ensure_ascii=False)
    url = next(word for word in record["body"].split() if word.startswith("http"))
    assert url.startswith(settings.PUBLIC_BASE_URL.rstrip("/") + "/survey/")
    token = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    assert invitation_id_from_token(token) == invitation.pk
    datetime.fromisoformat(record["at"])  # the backend stamps when it sent

    invitation.refresh_from_db()
    deadline = time.monotonic() + 10
    while invitation.status != SurveyInvitation.Status.SENT and time.monotonic() < deadline:
        time.sleep(0.2)
        invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.SENT
    assert invitation.sent_at is not None
    assert invitation.attempts == 1

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0, log_path.read_text()


def _outbox_lines(outbox: Path) -> list[dict]:
    if not outbox.exists():
        return []
    return [
        json.loads(line)
        for line in outbox.read_text(encoding="utf-8").splitlines()
        if line.endswith("}")
    ]


def test_a_worker_killed_mid_batch_sends_every_sms_once(branch, worker_queue, tmp_path):
    """kill -9 a worker while it sends 40 survey SMS; a new worker and the beat sweep finish
    the batch after the lease: 40 sent, none twice, none stuck in `sending`."""
    branch.time_zone = _zone_at_midday()
    branch.save(update_fields=["time_zone"])
    now = timezone.now()
    invitations = []
    for n in range(40):
        customer = CustomerFactory(phone=f"139{n:08d}", sms_consent=True)
        interaction = Interaction.objects.create(
            customer=customer, branch=branch, kind=Interaction.Kind.BRANCH_SERVICE, occurred_at=now
        )
        invitations.append(
            SurveyInvitation.objects.create(
                customer=customer,
                branch=branch,
                interaction=interaction,
                status=SurveyInvitation.Status.SCHEDULED,
                scheduled_for=now,
            )
        )
    outbox = tmp_path / "outbox.jsonl"
    log_path = tmp_path / "worker.log"
    lease_s = 2
    # The slow backend returns 0.1 s after writing, like a gateway's round trip: a worker
    # killed then has sent messages it never recorded as sent.
    options = {
        "pool": "threads",
        "concurrency": 4,
        "SMS_BACKEND": "tests.sms_backends.SlowFileBackend",
        "SURVEY_SEND_LEASE_SECONDS": str(lease_s),
    }
    first = _start_worker(worker_queue, outbox, log_path, **options)
    second = None
    try:
        for invitation in invitations:
            send_invitation.delay(invitation.pk)
        deadline = time.monotonic() + WAIT_SECONDS
        while len(_outbox_lines(outbox)) < 8:
            assert time.monotonic() < deadline, log_path.read_text()
            assert first.poll() is None, log_path.read_text()
            time.sleep(0.02)
        first.kill()  # SIGKILL: no warm shutdown, no acknowledgement, mid-send
        first.wait(timeout=10)
        sent_before_kill = len(_outbox_lines(outbox))
        claimed_when_killed = SurveyInvitation.objects.filter(
            status=SurveyInvitation.Status.SENDING
        ).count()
        assert sent_before_kill < 40, "the worker finished before it was killed"

        time.sleep(lease_s + 0.5)  # the dead worker's leases run out
        second = _start_worker(worker_queue, outbox, log_path, **options)
        deadline = time.monotonic() + WAIT_SECONDS
        pending = SurveyInvitation.objects.exclude(status=SurveyInvitation.Status.SENT)
        while pending.exists():
            assert time.monotonic() < deadline, log_path.read_text()
            feedback_tasks.send_due_invitations()  # what beat runs every minute
            time.sleep(1)
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        _delete_queue(worker_queue)

    keys = [line["idempotency_key"] for line in _outbox_lines(outbox)]
    assert len(keys) == 40
    assert len(set(keys)) == 40  # nobody got a second SMS
    statuses = SurveyInvitation.objects.values_list("status", flat=True)
    assert set(statuses) == {SurveyInvitation.Status.SENT}  # none stuck in "sending"
    assert claimed_when_killed > 0  # the kill did land mid-send
    resent = SurveyInvitation.objects.filter(attempts__gt=1).count()
    assert resent >= claimed_when_killed  # each was claimed again after its lease
