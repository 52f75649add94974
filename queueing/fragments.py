"""What every live screen of a branch re-reads after a change, computed once per queue version.

A call wakes every screen of the branch at once: 500 boards fetching their state used to cost
500 renders (~21 ms CPU + 9 ms PostgreSQL each: "too many clients" and 7 s p95 at 200 boards).
The state only depends on (branch, queue version, language), so it is computed once and shared:

1. a small per-process memory (no I/O at all for the 2nd..Nth fetch in this worker),
2. the `live` cache (Redis: shared by every worker and node),
3. otherwise computed, with one computation at a time per key in this process (single flight:
   the other threads wait for it instead of each missing and computing at the same moment).

The key is explicit: screens ask for `?v=<version>` (live.js appends the version it was told).
Entries also expire after FRAGMENT_TTL_S, so what depends on time or on rows outside the queue
(midnight, an edited service name, a rotated display token) is re-read within a minute anyway.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from . import broadcast

T = TypeVar("T")

FRAGMENT_TTL_S = 60
LOCAL_MAX_ENTRIES = 512  # a few per branch and language: bounded memory per process

_local: OrderedDict[str, tuple[float, object]] = OrderedDict()
_local_lock = threading.Lock()
_flights: dict[str, threading.Lock] = {}
_MISSING = object()


def clear_local() -> None:
    """Tests: forget this process's copies (the shared cache is cleared with the caches)."""
    with _local_lock:
        _local.clear()


def _local_get(key: str) -> object:
    with _local_lock:
        entry = _local.get(key)
        if entry is None:
            return _MISSING
        expires, value = entry
        if expires < time.monotonic():
            del _local[key]
            return _MISSING
        _local.move_to_end(key)
        return value


def _local_set(key: str, value: object, ttl: float) -> None:
    with _local_lock:
        _local[key] = (time.monotonic() + ttl, value)
        _local.move_to_end(key)
        while len(_local) > LOCAL_MAX_ENTRIES:
            _local.popitem(last=False)


def peek_local(key: str) -> object | None:
    """This process's copy, if any: no I/O at all. An entry exists only for a version that was
    reached when it was stored, so a hit needs no check of the current version."""
    value = _local_get(key)
    return None if value is _MISSING else value


def requested_version(raw: str | None) -> int | None:
    try:
        number = int(raw) if raw else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


def shared(key: str, compute: Callable[[], T], *, ttl: float = FRAGMENT_TTL_S) -> T:
    """compute() once per key for this process and, through the `live` cache, for all of them."""
    value = _local_get(key)
    if value is not _MISSING:
        return value  # type: ignore[return-value]
    with _local_lock:
        flight = _flights.setdefault(key, threading.Lock())
    try:
        with flight:
            value = _local_get(key)  # another thread may have computed it while we waited
            if value is not _MISSING:
                return value  # type: ignore[return-value]
            cache = broadcast.live_cache()
            value = cache.get(key, _MISSING)
            if value is _MISSING:
                value = compute()
                cache.set(key, value, timeout=ttl)
            _local_set(key, value, ttl)
            return value  # type: ignore[return-value]
    finally:
        with _local_lock:
            if _flights.get(key) is flight:
                del _flights[key]


def key_version(branch_id: int, requested: str | None) -> tuple[int, bool]:
    """(version to key the fragment on, whether its result may be cached).

    The version a screen asks for (?v=) if it is one the branch has reached; a missing or
    garbled one means the current version. A version *ahead* of the current one (a stale cache
    on this node, or a made-up number) is answered but never cached: cached under a future
    version, today's state would be served when that version really comes.
    """
    current = broadcast.current_version(branch_id)
    asked = requested_version(requested)
    if asked is None:
        return current, True
    return asked, asked <= current
