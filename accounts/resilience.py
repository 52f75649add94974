"""Redis is an accelerator, never a dependency for serving (docs/operations.md).

A circuit breaker per Redis server: after a failure, callers skip that server for a few seconds
instead of each waiting on a connect timeout, then one call tries again. Used by the cache
backend (accounts.cache), the live-screen publisher (queueing.pubsub) and `enqueue`, which
queues a Celery task as a nudge: everything queued through it is also picked up by a beat sweep
from a database row, so a nudge lost while the broker is down delays work, never loses it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

log = logging.getLogger(__name__)


class CircuitBreaker:
    """Closed: calls go through. A failure opens it for `open_seconds`: `allows()` is False and
    callers take their fallback at once. After that, calls are tried again (half-open); the
    first success closes it, a failure opens it again."""

    def __init__(self, name: str, *, open_seconds: float = 5.0) -> None:
        self.name = name
        self.open_seconds = open_seconds
        self._open_until = 0.0
        self._failures = 0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    @property
    def is_open(self) -> bool:
        return not self.allows()

    def record_failure(self, exc: BaseException | None = None) -> None:
        with self._lock:
            self._failures += 1
            first = self._failures == 1
            self._open_until = time.monotonic() + self.open_seconds
        if first:  # one warning per outage, not one per request
            log.warning(
                "%s unreachable (%s); using fallbacks for %.0f s at a time",
                self.name,
                exc.__class__.__name__ if exc else "error",
                self.open_seconds,
            )

    def record_success(self) -> None:
        if self._failures:
            with self._lock:
                recovered, self._failures, self._open_until = self._failures, 0, 0.0
            log.warning("%s reachable again after %d failed calls", self.name, recovered)

    def reset(self) -> None:
        with self._lock:
            self._failures, self._open_until = 0, 0.0


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def server_key(url: str) -> str:
    """One breaker per server, whichever database number or role (cache, broker) uses it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


def breaker_for(url: str) -> CircuitBreaker:
    key = server_key(url)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker(
                f"redis {key}", open_seconds=settings.REDIS_BREAKER_SECONDS
            )
        return breaker


def reset_breakers() -> None:
    """Tests: forget outages seen by earlier tests."""
    with _breakers_lock:
        for breaker in _breakers.values():
            breaker.reset()


def guarded(breaker: CircuitBreaker, call: Callable[[], Any], *, fallback: Any = None) -> Any:
    """`call()` unless the breaker is open; any failure opens it and returns `fallback`."""
    if not breaker.allows():
        return fallback
    try:
        result = call()
    except Exception as exc:
        breaker.record_failure(exc)
        return fallback
    breaker.record_success()
    return result


def broker_breaker() -> CircuitBreaker:
    from config.celery import app

    return breaker_for(app.conf.broker_url or "memory://")


_held = threading.local()


@contextmanager
def nudges_held() -> Iterator[None]:
    """Inside this block `enqueue` sends nothing and returns False, exactly as when the broker
    is down: the beat sweeps do the work. For bulk jobs (a simulated day makes hundreds of
    survey invitations) that would otherwise queue one task each ahead of everything else."""
    previous = getattr(_held, "on", False)
    _held.on = True
    try:
        yield
    finally:
        _held.on = previous


def nudges_are_held() -> bool:
    """Whether this thread is inside `nudges_held()`."""
    return getattr(_held, "on", False)


def enqueue(task, *args: Any, **kwargs: Any) -> bool:
    """Queue a Celery task as a nudge, after commit. False when the broker is unreachable:
    the caller's beat sweep does the work later. Never raises, never waits long."""
    if nudges_are_held():
        log.debug("nudges held: %s left to the beat sweep", task.name)
        return False

    def send() -> bool:
        # retry=False: the transport options bound the connect; nobody waits on a dead broker.
        task.apply_async(args=args, kwargs=kwargs, retry=False)
        return True

    sent = guarded(broker_breaker(), send, fallback=False)
    if not sent:
        log.info("broker unavailable: %s left to the beat sweep", task.name)
    return sent
