"""SMS backends: the SMS_BACKEND setting names the class (like Django's EMAIL_BACKEND).

Console, file and locmem for development and tests; `HttpGatewayBackend` for a generic HTTP
gateway and `AliyunBackend` for Alibaba Cloud SMS (the optional extra `aliyun`). A backend's
`send` returns the gateway's message id (or None) and raises `SmsTemporaryError` when trying
again later may work (timeout, 429, 5xx) or `SmsPermanentError` when it will not (4xx).
Every message gets the opt-out notice in one place: `get_backend()` wraps the backend.
"""

import fcntl
import hashlib
import hmac
import http.client
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext

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
    # The language of the body: the opt-out notice is added in it ("" = the active language).
    language: str = ""


class SmsError(Exception):
    """The gateway did not take the message."""


class SmsTemporaryError(SmsError):
    """Worth trying again later (timeout, rate limit, the gateway's own error)."""


class SmsPermanentError(SmsError):
    """Trying again will not help (refused number, bad template, wrong credentials)."""


class BaseBackend:
    """A real gateway's subclass must pass `message.idempotency_key` to the gateway (most
    SMS APIs accept a client reference for de-duplication), so a retried send is one SMS.
    `send` returns the gateway's id for the message, if it gives one."""

    def send(self, message: SmsMessage) -> str | None:
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


class HttpGatewayBackend(BaseBackend):
    """A generic HTTP SMS gateway: POST JSON to SMS_GATEWAY_URL.

    Body: to, template_id (SMS_TEMPLATE_ID), sign_name (SMS_SIGNATURE, the registered 【…】
    name), content, reference, idempotency_key. Headers: `X-Api-Key` (SMS_GATEWAY_KEY),
    `Idempotency-Key`, and `X-Signature`: hex HMAC-SHA256 of the body with SMS_GATEWAY_SECRET.
    A 2xx answer's JSON `message_id` (or `id`) is the gateway's id for the message; a 409
    means the idempotency key was accepted before (a re-send after a crash): sent, once.
    """

    def send(self, message: SmsMessage) -> str | None:
        payload = json.dumps(
            {
                "to": message.to,
                "template_id": settings.SMS_TEMPLATE_ID,
                "sign_name": settings.SMS_SIGNATURE,
                "content": message.body,
                "reference": message.reference,
                "idempotency_key": message.idempotency_key,
            },
            ensure_ascii=False,
        ).encode()
        signature = hmac.new(
            settings.SMS_GATEWAY_SECRET.encode(), payload, hashlib.sha256
        ).hexdigest()
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's setting)
            settings.SMS_GATEWAY_URL,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Api-Key": settings.SMS_GATEWAY_KEY,
                "Idempotency-Key": message.idempotency_key,
                "X-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.SMS_GATEWAY_TIMEOUT_SECONDS
            ) as response:
                raw = response.read(65536)
        except urllib.error.HTTPError as error:
            status = error.code
            if status == 409:  # that idempotency key was accepted before: it is sent, once
                return self._message_id(error.read(65536))
            if status == 429 or status >= 500:
                raise SmsTemporaryError(f"gateway answered {status}") from error
            raise SmsPermanentError(f"gateway refused the message: {status}") from error
        except (OSError, http.client.HTTPException) as error:  # timeout, refused, cut off
            raise SmsTemporaryError(f"gateway not reached: {error.__class__.__name__}") from error
        return self._message_id(raw)

    @staticmethod
    def _message_id(raw: bytes) -> str | None:
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        message_id = answer.get("message_id") or answer.get("id")
        return str(message_id)[:80] if message_id else None


class AliyunBackend(BaseBackend):
    """Alibaba Cloud SMS (Dysms) through its official SDK: `pip install branchflow[aliyun]`.

    SMS_GATEWAY_KEY / SMS_GATEWAY_SECRET are the AccessKey id and secret, SMS_SIGNATURE the
    registered sign name, SMS_TEMPLATE_ID the template code; the template must have one
    variable, `${content}`, which gets the body. `OutId` carries the idempotency key (Aliyun
    returns it with the delivery receipt; it does not de-duplicate on it).
    """

    TEMPORARY_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"})

    def client(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.models import Config

        return Client(
            Config(
                access_key_id=settings.SMS_GATEWAY_KEY,
                access_key_secret=settings.SMS_GATEWAY_SECRET,
                endpoint=settings.SMS_ALIYUN_ENDPOINT,
            )
        )

    def send(self, message: SmsMessage) -> str | None:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from alibabacloud_tea_util.models import RuntimeOptions

        timeout_ms = int(settings.SMS_GATEWAY_TIMEOUT_SECONDS * 1000)
        request = SendSmsRequest(
            phone_numbers=message.to,
            sign_name=settings.SMS_SIGNATURE,
            template_code=settings.SMS_TEMPLATE_ID,
            template_param=json.dumps({"content": message.body}, ensure_ascii=False),
            out_id=message.idempotency_key or message.reference,
        )
        runtime = RuntimeOptions(read_timeout=timeout_ms, connect_timeout=timeout_ms)
        try:
            response = self.client().send_sms_with_options(request, runtime)
        except Exception as error:  # the SDK's network and HTTP errors: try again later
            raise SmsTemporaryError(f"Aliyun not reached: {error.__class__.__name__}") from error
        body = response.body
        code = getattr(body, "code", "") or ""
        if code == "OK":
            return body.biz_id or None
        if code in self.TEMPORARY_CODES or code.startswith("isp."):
            raise SmsTemporaryError(f"Aliyun answered {code}")
        raise SmsPermanentError(f"Aliyun refused the message: {code}")


def opt_out_notice(language: str = "") -> str:
    """How to stop these messages (MIIT rules: every message says it), in the given language."""
    with translation.override(language or translation.get_language()):
        return gettext("Reply TD to opt out")


class OptOutNotice(BaseBackend):
    """Wraps the configured backend: every message ends with the opt-out notice."""

    def __init__(self, backend: BaseBackend) -> None:
        self.backend = backend

    def send(self, message: SmsMessage) -> str | None:
        notice = opt_out_notice(message.language)
        if not message.body.rstrip().endswith(notice):
            message = replace(message, body=f"{message.body.rstrip()} {notice}")
        return self.backend.send(message)


def get_backend() -> BaseBackend:
    return OptOutNotice(import_string(settings.SMS_BACKEND)())
