"""How live updates reach screens (docs/live-updates.md).

Screens never receive queue data pushed at them; they learn *that* their branch's queue changed
(a version number, bumped by queueing.broadcast) and then fetch their own small state once,
which is rendered once per version for all of them (queueing/fragments.py).

Three endpoints, one contract ({"v": <int>}), served in production by the ASGI *live* service
(config/gunicorn_live.py; nginx routes /queue/live/ there) while pages come from WSGI:

* `version` — a plain GET answered from the cache with no database query (one indexed query
  when the cache misses or Redis is down). live.js polls it every second when there is no
  stream (the embedded setup, no LIVE_SSE, a proxy that buffers, Redis down).
* `events` — server-sent events: each stream registers with the process's hub
  (queueing/hub.py: ONE Redis subscription per worker for all streams) and relays each new
  version at once. It ends after STREAM_SECONDS so connections rebalance; EventSource
  reconnects after the `retry:` hint with Last-Event-ID, so nothing is lost or sent twice.
* `wait` — a long poll for API clients (a teller whose call-next found nobody waiting):
  answers as soon as the version moves past `?after=`, or after WAIT_SECONDS.

Under WSGI neither `events` nor `wait` ever holds a thread: they answer at once.

All are authorised by a *live token*: the branch id signed by the page that was itself
authorised (display token for the board, the customer's signed ticket link, a staff session),
so no endpoint needs a database query to check access. A live token reveals nothing but a
branch's change counter.
"""

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.resilience import breaker_for

from . import broadcast
from .hub import Hub, get_hub

log = logging.getLogger(__name__)

LIVE_SALT = "queueing.live"
# A board runs all day; live.js reloads the page (getting a fresh token) when this expires.
LIVE_TOKEN_MAX_AGE_S = 36 * 3600
STREAM_SECONDS = 300  # recycle connections every ~5 minutes
HEARTBEAT_SECONDS = 15  # below common proxy idle timeouts (nginx: 60 s)
RETRY_MS = 2000  # EventSource's reconnect delay after the stream ends or drops
POLL_MS = 1000  # a call shows within 1 s on polling screens too
WAIT_SECONDS = 25  # long poll: below common proxy timeouts (nginx: 60 s)
WAIT_RETRY_AFTER_S = 2  # long poll answered at once (WSGI, Redis down): ask again after this


def live_token(branch_id: int) -> str:
    return signing.dumps(branch_id, salt=LIVE_SALT)


def branch_id_from_live_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=LIVE_SALT, max_age=LIVE_TOKEN_MAX_AGE_S))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def sse_available(request: HttpRequest) -> bool:
    """Offer the stream when the deployment runs the ASGI live service (settings.LIVE_SSE) and
    Redis is there and not known to be down.

    The page itself is served by the WSGI web service; nginx sends /queue/live/ to the ASGI live
    service, where a stream costs no thread. Without LIVE_SSE (runserver, `make run`, a proxy
    that buffers) pages tell live.js to poll the version instead.
    """
    return (
        bool(settings.REDIS_URL)
        and bool(getattr(settings, "LIVE_SSE", False))
        # While Redis is known to be down, screens poll (the version falls back to the database).
        and breaker_for(settings.REDIS_URL).allows()
    )


def live_context(request: HttpRequest, branch_id: int) -> dict:
    """What a page puts in data-live-* attributes for static/js/live.js."""
    token = live_token(branch_id)
    return {
        "version": broadcast.current_version(branch_id),
        "version_url": reverse("queueing:version", args=[token]),
        "events_url": reverse("queueing:events", args=[token]),
        "sse": sse_available(request),
        "poll_ms": POLL_MS,
    }


def _branch_or_404(token: str) -> int:
    branch_id = branch_id_from_live_token(token)
    if branch_id is None:
        raise Http404
    return branch_id


# With Redis down every poll of the live service would read the database; within this many
# seconds a process reuses its last read for the branch (200 screens polling each second then
# cost ~5 queries a second per worker, not 200 new connections a second).
DB_VERSION_REUSE_S = 0.2
_db_versions: dict[int, tuple[float, int]] = {}
_db_versions_lock = threading.Lock()


def _poll_version(branch_id: int) -> int:
    """current_version for the live service's polls (runs in a worker thread of the loop)."""
    cached = broadcast.live_cache().get(broadcast.version_key(branch_id))
    if cached is not None:
        return int(cached)
    now = time.monotonic()
    with _db_versions_lock:
        reused = _db_versions.get(branch_id)
    if reused is not None and now - reused[0] < DB_VERSION_REUSE_S:
        return reused[1]
    number = broadcast._current_version_then_close(branch_id)
    with _db_versions_lock:
        _db_versions[branch_id] = (now, number)
    return number


@require_GET
async def version(request: HttpRequest, token: str) -> HttpResponse:
    """{"v": n}: the hub's last value, else the cache's (no database query, no session read),
    else the database's.

    Async, so that under the ASGI live service a poll holds no thread of its own and builds no
    cache client per request; under WSGI (runserver) it reads as any sync view would."""
    branch_id = _branch_or_404(token)
    if _is_asgi(request):
        hub = get_hub()
        number = hub.last_seen(branch_id) if hub is not None else None
        if number is None:
            number = await sync_to_async(_poll_version, thread_sensitive=False)(branch_id)
    else:
        number = await sync_to_async(broadcast.current_version)(branch_id)
    response = _csp_exempt(JsonResponse({"v": number}))  # JSON runs nothing: no policy header
    response["Cache-Control"] = "no-store"
    return response


def _event(version_number: int) -> str:
    return f"id: {version_number}\ndata: {json.dumps({'v': version_number})}\n\n"


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


async def _version_now(hub: Hub, branch_id: int) -> int:
    """The hub's recent value (no I/O), else the cache / database once, off the event loop."""
    seen = hub.last_seen(branch_id)
    return seen if seen is not None else await broadcast.acurrent_version(branch_id)


async def event_stream(
    branch_id: int,
    *,
    seconds: float = STREAM_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
    last_event_id: int | None = None,
) -> AsyncIterator[str]:
    """Server-sent events: the current version first, then each new one as the hub relays it.

    `last_event_id` (EventSource's Last-Event-ID on a reconnect, e.g. after a worker restart):
    the current version is sent at once only if it differs, so nothing is lost and nothing is
    fetched twice.
    """
    hub = get_hub()
    sub = await hub.subscribe(branch_id) if hub is not None else None
    if sub is None:
        # No Redis now: end the stream. EventSource reconnects, gets 204 while the breaker is
        # open, and live.js polls the database-backed version instead.
        return
    try:
        # Registered before reading the version, so no change falls between the two.
        last = await _version_now(hub, branch_id)
        if last_event_id is None or last_event_id != last:
            yield f"retry: {RETRY_MS}\n" + _event(last)
        else:
            yield f"retry: {RETRY_MS}\n\n"  # no data: EventSource dispatches nothing
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        last_sent = loop.time()
        while (remaining := deadline - loop.time()) > 0:
            wait = max(0.0, min(remaining, heartbeat - (loop.time() - last_sent)))
            number = await sub.wait(wait)
            if sub.closed:
                return  # Redis went away: the screen reconnects, then polls
            if number is not None and number > last:
                last = number
                yield _event(number)
                last_sent = loop.time()
            elif loop.time() - last_sent >= heartbeat:
                yield ": keep-alive\n\n"  # a comment: keeps proxies from closing an idle stream
                last_sent = loop.time()
    finally:
        # Runs on normal end and when the client goes away (Django cancels the response).
        hub.unsubscribe(sub)


def _is_asgi(request: HttpRequest) -> bool:
    return isinstance(request, ASGIRequest)


@require_GET
async def events(request: HttpRequest, token: str) -> HttpResponse:
    branch_id = _branch_or_404(token)
    if not _is_asgi(request) or not sse_available(request):
        # Under WSGI a stream would hold a worker thread for minutes: never. 204 tells
        # EventSource to stop reconnecting; live.js then polls `version`.
        return HttpResponse(status=204)
    last_event_id = _int_or_none(request.headers.get("Last-Event-ID"))
    response = StreamingHttpResponse(
        event_stream(branch_id, last_event_id=last_event_id), content_type="text/event-stream"
    )
    _csp_exempt(response)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through, do not buffer
    return response


def _csp_exempt(response: HttpResponse) -> HttpResponse:
    # csp.decorators.csp_exempt wraps sync views only; this is what it sets.
    response._csp_exempt = True  # type: ignore[attr-defined]
    return response


def _wait_answer(version_number: int, *, retry_after: int | None = None) -> JsonResponse:
    response = _csp_exempt(JsonResponse({"v": version_number}))
    response["Cache-Control"] = "no-store"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_GET
async def wait(request: HttpRequest, token: str) -> HttpResponse:
    """Long poll for API clients (a teller's call-next that found nobody waiting points here).

    `GET ?after=<n>` answers 200 {"v": m} as soon as the branch's version m differs from n
    (normally m > n: something changed, call again), else 200 {"v": n} after WAIT_SECONDS.
    With `&on=arrival&counter=<id>&serves=<codes>` (what call-next's 204 points at) only a
    ticket joining a queue this counter can serve wakes it, and only one idle counter per such
    ticket (queueing.hub); a change already made since n still answers at once.
    Under WSGI, or while Redis is unavailable, it never holds the request: it answers the
    current version at once with `Retry-After: 2` (poll no faster than that).
    """
    branch_id = _branch_or_404(token)
    after = _int_or_none(request.GET.get("after"))
    if after is None:
        return JsonResponse(
            {"detail": _("Give the version you have: ?after=<number>.")}, status=400
        )
    hub = get_hub() if _is_asgi(request) else None
    arrivals_only = request.GET.get("on") == "arrival"
    serves = frozenset(code for code in request.GET.get("serves", "").split(",")[:50] if code)
    sub = (
        await hub.subscribe(
            branch_id,
            arrivals_only=arrivals_only,
            counter_id=_int_or_none(request.GET.get("counter")),
            serves=serves,
        )
        if hub is not None
        else None
    )
    if sub is None:
        if _is_asgi(request):  # Redis down: the same pooled, briefly reused read as polls
            current = await sync_to_async(_poll_version, thread_sensitive=False)(branch_id)
        else:
            current = await sync_to_async(broadcast.current_version)(branch_id)
        return _wait_answer(current, retry_after=WAIT_RETRY_AFTER_S)
    try:
        current = await _version_now(hub, branch_id)
        # An idle counter waits for an arrival: other changes since `after` (a start, a finish
        # at another counter, several a second in a busy branch) must not send it back to
        # call-next at once, or idle tellers spin. When the hub cannot tell, any change counts.
        arrived = hub.arrival_since(branch_id, after) if arrivals_only else None
        if current != after and arrived is not False:
            return _wait_answer(current)
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            number = await sub.wait(remaining)
            if sub.closed:  # Redis went away: say so, and how soon to ask again
                return _wait_answer(after, retry_after=WAIT_RETRY_AFTER_S)
            if number is not None and number != after:
                return _wait_answer(number)
        return _wait_answer(after)
    finally:
        hub.unsubscribe(sub)
