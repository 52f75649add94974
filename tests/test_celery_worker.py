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
from django.utils import timezone

from crm.models import Interaction
from feedback import services as feedback_services
from feedback.links import invitation_id_from_token
from feedback.models import SurveyInvitation
from feedback.tasks import send_invitation

from .factories import CustomerFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
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

    def delay_on_test_queue(*args, **kwargs):
        return original_apply_async(args, kwargs, queue=queue)

    monkeypatch.setattr(send_invitation, "delay", delay_on_test_queue)
    return queue


@pytest.fixture
def worker(tmp_path, worker_queue):
    outbox = tmp_path / "outbox.jsonl"
    log_path = tmp_path / "worker.log"
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
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        "-Q",
        worker_queue,
        "-n",
        f"{worker_queue}@%h",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process, outbox, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task, then exit
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
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
