"""SMS backends: the SMS_BACKEND setting names the class (like Django's EMAIL_BACKEND)."""

import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from crm.personal_data import mask_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str
    body: str
    reference: str  # our id for the message (e.g. "invitation:12")


class BaseBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Development: print the message (number masked) instead of sending it."""

    def send(self, message: SmsMessage) -> None:
        print(f"[SMS to {mask_phone(message.to)}] {message.body}", flush=True)


class FileBackend(BaseBackend):
    """Append one JSON line per message to SMS_FILE_PATH (number masked: it is not a gateway)."""

    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = asdict(message) | {"to": mask_phone(message.to), "at": timezone.now().isoformat()}
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


class LocmemBackend(BaseBackend):
    """Tests: keep messages in memory, in `outbox`."""

    outbox: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> None:
        LocmemBackend.outbox.append(message)


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()
