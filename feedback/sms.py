"""SMS backends: the SMS_BACKEND setting names the class (like Django's EMAIL_BACKEND)."""

import fcntl
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

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
    # Gateways drop a message whose key they have already accepted: a re-send after a crash
    # (the worker died between sending and recording it) reaches nobody's phone twice.
    idempotency_key: str = ""


class BaseBackend:
    """A real gateway's subclass must pass `message.idempotency_key` to the gateway (most
    SMS APIs accept a client reference for de-duplication), so a retried send is one SMS."""

    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Development: print the message (number masked) instead of sending it."""

    def send(self, message: SmsMessage) -> None:
        print(f"[SMS to {mask_phone(message.to)}] {message.body}", flush=True)


class FileBackend(BaseBackend):
    """Append one JSON line per message to SMS_FILE_PATH (number masked: it is not a gateway).

    It honours idempotency keys as a gateway does: a key already in the file is not written
    again, across processes (an exclusive lock on the file) and restarts (the file is the
    record). Each process remembers the keys it has read and reads only what was appended
    since, so a send does not re-read the whole file.
    """

    _lock = threading.Lock()
    _seen: ClassVar[dict[str, tuple[int, int, set[str]]]] = {}  # path -> (inode, offset, keys)

    def send(self, message: SmsMessage) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = asdict(message) | {"to": mask_phone(message.to), "at": timezone.now().isoformat()}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        with self._lock, path.open("a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes
            keys = self._keys(fh, str(path))
            if message.idempotency_key and message.idempotency_key in keys:
                log.info("SMS %s already sent: not sent again", message.reference)
                return
            inode, offset, _keys = self._seen[str(path)]
            if os.fstat(fh.fileno()).st_size > offset:
                line = b"\n" + line  # end a line a crash cut short, so this one stays whole
            fh.write(line)  # one write in append mode: another process never splits it
            fh.flush()
            if message.idempotency_key:
                keys.add(message.idempotency_key)
            self._seen[str(path)] = (inode, fh.tell(), keys)

    def _keys(self, fh, path: str) -> set[str]:
        stat = os.fstat(fh.fileno())
        inode, offset, keys = self._seen.get(path, (stat.st_ino, 0, set()))
        if inode != stat.st_ino or offset > stat.st_size:  # replaced or truncated
            offset, keys = 0, set()
        fh.seek(offset)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a line cut short by a crash: not a message
            offset += len(raw)
            try:
                key = json.loads(raw).get("idempotency_key")
            except ValueError:
                continue
            if key:
                keys.add(key)
        self._seen[path] = (stat.st_ino, offset, keys)
        return keys


class LocmemBackend(BaseBackend):
    """Tests: keep messages in memory, in `outbox` (a repeated idempotency key is dropped)."""

    outbox: ClassVar[list[SmsMessage]] = []

    def send(self, message: SmsMessage) -> None:
        if message.idempotency_key and any(
            sent.idempotency_key == message.idempotency_key for sent in LocmemBackend.outbox
        ):
            return
        LocmemBackend.outbox.append(message)


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()
