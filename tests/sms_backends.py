"""SMS backends for tests that run a real worker (tests/test_celery_worker.py)."""

import time

from feedback.sms import FileBackend, SmsMessage


class SlowFileBackend(FileBackend):
    """Writes the message, then takes 0.1 s to return, as a gateway's round trip does: a worker
    killed in that gap has sent a message it never recorded as sent."""

    def send(self, message: SmsMessage) -> None:
        super().send(message)
        time.sleep(0.1)
