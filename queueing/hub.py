"""One Redis subscription per process for every live stream and long poll (docs/live-updates.md).

Before the hub, each open screen held its own Redis pub/sub connection (1,500 streams → 3,016
Redis clients, and a worker ran out of file descriptors after ~300 streams). Now each event loop
(one per uvicorn worker) holds ONE redis.asyncio connection with `PSUBSCRIBE <prefix>:queue:*`
and fans each message out to the subscriptions registered for that branch.

A subscription is not a queue: it keeps only the newest version it was told about and an
asyncio.Event. A slow or stalled screen therefore never makes memory grow, and a burst of
changes reaches it as one wake-up (screens only need *the latest* version, then fetch once).

If Redis drops, the hub closes every subscription (their streams end, EventSource reconnects,
gets 204 while the circuit breaker is open, and live.js polls the version instead), then
reconnects with backoff. Versions seen in the last LAST_SEEN_TTL_S seconds answer "what is the
current version?" for new streams without touching the cache or the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import weakref

from django.conf import settings

from accounts.resilience import breaker_for

from . import broadcast

log = logging.getLogger(__name__)

CLIENT_NAME = "branchflow-live-hub"
# As long as the cached version lives: a push lost by its publisher heals as fast here.
LAST_SEEN_TTL_S = broadcast.VERSION_TTL_S
RECONNECT_MAX_S = 10.0
HEALTH_CHECK_S = 15  # PING an idle connection so a half-open one is noticed
CONNECT_WAIT_S = 1.0  # how long a new stream waits for the hub to (re)connect


# What puts a ticket in a queue: the only changes an idle counter's long poll wakes up for.
# Waking every idle teller of the branch on each start and finish as well made them call in a
# herd four times per ticket (the bench counted 3,245 empty call-nexts for 585 tickets).
ARRIVALS = frozenset({"issue", "reinstate"})
# A long poll's `after` was read by the call-next answered milliseconds before: a hub connected
# for longer than this has seen every arrival since.
ARRIVALS_TRUSTED_AFTER_S = 5.0


class Subscription:
    """What one stream or long poll waits on: the newest version announced for its branch
    (with `arrivals_only`, the newest one that put a ticket in a queue)."""

    __slots__ = (
        "_event",
        "arrivals_only",
        "branch_id",
        "closed",
        "counter_id",
        "latest",
        "serves",
        "since",
        "ticket_id",
        "touched",
    )

    def __init__(
        self,
        branch_id: int,
        *,
        arrivals_only: bool = False,
        counter_id: int | None = None,
        serves: frozenset[str] = frozenset(),
        ticket_id: int | None = None,
    ) -> None:
        self.branch_id = branch_id
        # A customer's status page follows one ticket: was a change *of that ticket* announced
        # since the stream last looked (queueing/live.py sends that phone a re-read)?
        self.ticket_id = ticket_id
        self.touched = False
        self.arrivals_only = arrivals_only
        self.counter_id = counter_id  # the idle counter waiting, and the services it serves
        self.serves = serves
        self.since = time.monotonic()  # idle counters are woken the longest-waiting first
        self.latest: int | None = None
        self.closed = False
        self._event = asyncio.Event()

    @property
    def pending(self) -> bool:
        """Woken, and not yet collected by its waiter."""
        return self._event.is_set()

    def push(self, version: int, ticket_id: int | None = None) -> None:
        if ticket_id is not None and ticket_id == self.ticket_id:
            self.touched = True
        if self.latest is None or version > self.latest:
            self.latest = version
        self._event.set()

    def close(self) -> None:
        self.closed = True
        self._event.set()

    async def wait(self, timeout: float) -> int | None:
        """The newest version announced since the last call, or None after `timeout` seconds
        without one (or when the subscription was closed: check `closed`)."""
        if not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)
        if not self._event.is_set() or self.closed:
            return None
        self._event.clear()
        latest, self.latest = self.latest, None
        return latest


class Hub:
    """The event loop's single pub/sub connection and its subscriptions, per branch."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.breaker = breaker_for(url)
        self._subs: dict[int, set[Subscription]] = {}
        self._last: dict[int, tuple[int, float]] = {}
        self._last_arrival: dict[int, int] = {}  # branch -> version of its latest arrival
        self._connected_at: float | None = None
        self._connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.messages = 0  # relayed messages (for the benchmark and tests)

    # --- for streams ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stream_count(self) -> int:
        return sum(len(subs) for subs in self._subs.values())

    async def subscribe(
        self,
        branch_id: int,
        *,
        arrivals_only: bool = False,
        counter_id: int | None = None,
        serves: frozenset[str] = frozenset(),
        ticket_id: int | None = None,
    ) -> Subscription | None:
        """Register for a branch's versions; None when Redis is unavailable (then poll)."""
        if not self.breaker.allows():
            return None
        self._ensure_running()
        if not self._connected.is_set():
            self._wake.set()  # cut a reconnect backoff short: someone is waiting
            try:
                await asyncio.wait_for(self._connected.wait(), CONNECT_WAIT_S)
            except TimeoutError:
                return None
        # No await between the check above and this line: a disconnect cannot slip in between,
        # so every message published from here on reaches this subscription.
        sub = Subscription(
            branch_id,
            arrivals_only=arrivals_only,
            counter_id=counter_id,
            serves=serves,
            ticket_id=ticket_id,
        )
        self._subs.setdefault(branch_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.branch_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.branch_id]

    def arrival_since(self, branch_id: int, version: int) -> bool | None:
        """Whether a ticket joined one of the branch's queues after `version`; None when this
        hub cannot tell (it has not been connected for ARRIVALS_TRUSTED_AFTER_S: an arrival
        before it subscribed would be unknown to it)."""
        at = self._connected_at
        if at is None or asyncio.get_running_loop().time() - at < ARRIVALS_TRUSTED_AFTER_S:
            return None
        return self._last_arrival.get(branch_id, 0) > version

    def last_seen(self, branch_id: int) -> int | None:
        """The branch's version as last announced, if that was recent and we stayed connected."""
        seen = self._last.get(branch_id)
        if seen is None or not self._connected.is_set():
            return None
        version, at = seen
        if asyncio.get_running_loop().time() - at > LAST_SEEN_TTL_S:
            return None
        return version

    # --- the connection ------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="live-hub")

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        try:
            branch_id = int(channel.rsplit(b":", 1)[1])
            message = json.loads(data)
            version = int(message["v"])
        except (ValueError, KeyError, TypeError, IndexError):
            return
        arrival = message.get("action") in ARRIVALS
        ticket = message.get("ticket")
        ticket = ticket if isinstance(ticket, int) else None
        if arrival:
            self._last_arrival[branch_id] = max(version, self._last_arrival.get(branch_id, 0))
        self.messages += 1
        now = asyncio.get_running_loop().time()
        previous = self._last.get(branch_id)
        if previous is not None and now - previous[1] <= LAST_SEEN_TTL_S:
            version_seen = max(version, previous[0])  # publishes may arrive out of order
        else:
            version_seen = version
        self._last[branch_id] = (version_seen, now)
        idle_counters = []
        for sub in list(self._subs.get(branch_id, ())):
            if not sub.arrivals_only:
                sub.push(version, ticket)
            elif arrival:
                idle_counters.append(sub)
        if idle_counters:
            self._wake_one(idle_counters, version, message.get("service"), message.get("counter"))

    def _wake_one(
        self,
        idle_counters: list[Subscription],
        version: int,
        service: str | None,
        counter_id: int | None,
    ) -> None:
        """One arrival, one idle counter woken: waking them all had every idle teller of the
        branch call at once and all but one hear "nobody waiting" (133 empty call-nexts a
        second at 20 tickets a second). Taken in turn, the one waiting longest first; a
        counter that loses the ticket to a busy colleague finishing meanwhile just waits
        again, and one whose client has gone is covered by the next arrival or its timeout."""
        if counter_id is not None:  # sent to a named counter: only it can call the ticket
            able = [sub for sub in idle_counters if sub.counter_id == counter_id]
        elif service:
            able = [sub for sub in idle_counters if not sub.serves or service in sub.serves]
        else:  # an arrival without its service (an older publisher): wake everyone, as before
            for sub in idle_counters:
                sub.push(version)
            return
        if not able:
            return
        waiting = [sub for sub in able if not sub.pending]
        chosen = min(waiting or able, key=lambda sub: sub.since)
        chosen.push(version)

    def _close_all(self) -> None:
        """End every stream: what happened while disconnected is unknown, so screens re-read."""
        self._connected.clear()
        self._last.clear()
        self._last_arrival.clear()
        self._connected_at = None
        subs, self._subs = self._subs, {}
        for group in subs.values():
            for sub in group:
                sub.close()

    async def _run(self) -> None:
        import redis.asyncio as aioredis

        backoff = 0.5
        while True:
            client = aioredis.Redis.from_url(
                self.url,
                socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                health_check_interval=HEALTH_CHECK_S,
                # Named, so `CLIENT LIST` shows one hub per worker (tests and the bench count them).
                client_name=f"{CLIENT_NAME}-{os.getpid()}",
            )
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(broadcast.channel_prefix() + "*")
                while True:
                    message = await pubsub.get_message(timeout=HEALTH_CHECK_S)
                    if message is None:
                        continue
                    kind = message.get("type")
                    if kind == "pmessage":
                        self._dispatch(message["channel"], message["data"])
                    elif kind == "psubscribe":
                        # Confirmed by Redis: from now on no publish can be missed.
                        self._connected.set()
                        self._connected_at = asyncio.get_running_loop().time()
                        self.breaker.record_success()
                        backoff = 0.5
            except asyncio.CancelledError:
                self._close_all()
                raise
            except Exception as exc:  # Redis went away (or never answered)
                self.breaker.record_failure(exc)
                log.info("live hub lost Redis (%s); streams end, screens poll", type(exc).__name__)
            finally:
                self._close_all()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_S)


# One hub per event loop: uvicorn runs one loop per worker process; tests run a loop per test.
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub | None:
    """This event loop's hub, or None without Redis."""
    url = settings.REDIS_URL
    if not url:
        return None
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.url != url:
        if hub is not None and hub._task is not None:
            hub._task.cancel()
        hub = _hubs[loop] = Hub(url)
    return hub
