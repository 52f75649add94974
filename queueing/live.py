"""How live updates reach screens (docs/live-updates.md).

Screens learn *that* their branch's queue changed (a version number, bumped by
queueing.broadcast). Staff screens then fetch their own small state; the two public screens
get it in the event itself, rendered once per version for all of them (queueing/fragments.py),
so a call costs no burst of fetches from every open screen:

* the lobby board's stream (a *board* live token, minted by the board page) carries the
  board's #state fragment: {"v": n, "html": "..."};
* a customer's status page's stream (a *ticket* live token, minted by the page that the
  ticket's signed link opened) carries that ticket's place and wait, and nothing of any other
  ticket: {"v": n, "outlook": "...", "status": "waiting"} while it is queued and that part
  changed, {"v": n, "refetch": 1} when the ticket itself changed or left the queue (the page
  then fetches its card), nothing when the change moved nothing for it.

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
so no endpoint needs a database query to check access. A plain live token reveals nothing but a
branch's change counter; the board and ticket tokens (own salts, so neither is accepted for the
other) open the stream with the board's state, or with one ticket's place.
"""

import asyncio
import json
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.resilience import breaker_for

from . import broadcast
from .hub import Hub, get_hub

log = logging.getLogger(__name__)

LIVE_SALT = "queueing.live"
BOARD_LIVE_SALT = "queueing.live.board"  # the board's stream: its state in each event
TICKET_LIVE_SALT = "queueing.live.ticket"  # a customer's stream: one ticket's place in each
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


def _language(code: str | None) -> str:
    """One of settings.LANGUAGES (what a payload is rendered in), else the default language."""
    code = (code or "").lower()
    known = {lang.lower() for lang, _name in settings.LANGUAGES}
    return code if code in known else settings.LANGUAGE_CODE.lower()


def board_live_token(branch_id: int, language: str) -> str:
    """Minted only by the board page (which the branch's display token authorised): opens the
    stream whose events carry the board's state, rendered in `language`."""
    return signing.dumps([branch_id, _language(language)], salt=BOARD_LIVE_SALT)


def ticket_live_token(branch_id: int, ticket_id: int, language: str) -> str:
    """Minted only by a ticket's status page (which the ticket's signed link authorised): opens
    the stream whose events carry that ticket's place and wait, and no other ticket's."""
    return signing.dumps([branch_id, ticket_id, _language(language)], salt=TICKET_LIVE_SALT)


@dataclass(frozen=True)
class Follow:
    """What a stream's live token lets it carry besides the version."""

    branch_id: int
    board: bool = False  # the board's #state
    ticket_id: int | None = None  # this ticket's #outlook
    language: str = ""


def follow_from_token(token: str) -> Follow | None:
    branch_id = branch_id_from_live_token(token)
    if branch_id is not None:
        return Follow(branch_id)
    for salt in (BOARD_LIVE_SALT, TICKET_LIVE_SALT):
        try:
            value = signing.loads(token, salt=salt, max_age=LIVE_TOKEN_MAX_AGE_S)
        except (signing.BadSignature, TypeError, ValueError):
            continue
        try:
            if salt == BOARD_LIVE_SALT:
                branch, language = value
                return Follow(int(branch), board=True, language=_language(language))
            branch, ticket, language = value
            return Follow(int(branch), ticket_id=int(ticket), language=_language(language))
        except (TypeError, ValueError):
            return None
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


def live_context(
    request: HttpRequest, branch_id: int, *, board: bool = False, ticket_id: int | None = None
) -> dict:
    """What a page puts in data-live-* attributes for static/js/live.js.

    `board` (the board page) and `ticket_id` (a ticket's status page): the stream carries that
    screen's state in its events, in the page's language. Polling (no stream) always uses the
    plain branch token and fetches, as before."""
    token = live_token(branch_id)
    language = translation.get_language() or ""
    if board:
        events_token = board_live_token(branch_id, language)
    elif ticket_id is not None:
        events_token = ticket_live_token(branch_id, ticket_id, language)
    else:
        events_token = token
    return {
        "version": broadcast.current_version(branch_id),
        "version_url": reverse("queueing:version", args=[token]),
        "events_url": reverse("queueing:events", args=[events_token]),
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
    number = broadcast.in_worker_thread(broadcast.current_version, branch_id)
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


def _event(version_number: int, data: dict | str | None = None) -> str:
    """One event; `data` as a dict, or already encoded (the board's, once for all streams)."""
    if not isinstance(data, str):
        data = _json(data or {"v": version_number})
    return f"id: {version_number}\ndata: {data}\n\n"


def _json(data: dict) -> str:
    # UTF-8 as it is (the stream is UTF-8): Chinese text is not sent as 6-byte \u escapes.
    # json still escapes CR and LF, so an event stays on one `data:` line.
    return json.dumps(data, ensure_ascii=False)


# payload key -> (html, its event data): encoded once for all the board streams of a version
_encoded_boards: dict[str, tuple[str, str]] = {}
ENCODED_BOARDS_MAX = 64


# --- What a stream carries besides the version ---------------------------------------------------

# Per event loop: the computations in flight, so that the streams of a process waiting for the
# same (branch, version, language) share ONE thread hop, not one each.
_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Future]] = (
    weakref.WeakKeyDictionary()
)


def _forget_flight(flights: dict[str, asyncio.Future], key: str, future: asyncio.Future) -> None:
    if flights.get(key) is future:
        del flights[key]
    if not future.cancelled() and future.exception() is not None:
        log.warning("live payload %s failed", key, exc_info=future.exception())


async def _shared_payload(key: str, compute: Callable, *args):
    """compute(*args) once per key: this process's memory first (no thread hop), else one
    computation for every stream of the loop that asks meanwhile (in a worker thread, through
    fragments.shared: once for all workers and nodes). None if it failed: the screen fetches."""
    from . import fragments

    value = fragments.peek_local(key)
    if value is not None:
        return value
    flights = _flights.setdefault(asyncio.get_running_loop(), {})
    future = flights.get(key)
    if future is None:
        future = asyncio.ensure_future(
            sync_to_async(broadcast.in_worker_thread, thread_sensitive=False)(compute, *args)
        )
        flights[key] = future
        future.add_done_callback(lambda done: _forget_flight(flights, key, done))
    try:
        # Shielded: a screen that goes away must not cancel the others' computation.
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        raise
    except Exception:
        return None


def _board_payload(branch_id: int, version: int, language: str) -> str:
    from . import views  # views imports this module

    return views.board_fragment(branch_id, version, language)


def _ticket_payloads(branch_id: int, version: int, language: str) -> dict:
    from . import views

    return views.ticket_outlook_fragments(branch_id, version, language)


class _Screen:
    """What one stream last sent its screen, to send only what changed."""

    def __init__(self, follow: Follow) -> None:
        self.follow = follow
        self.sent: object = None  # board: the html; phone: (status, html) while queued
        self.queued = False  # phone: its ticket was queued at the last event

    async def data(self, version: int, *, first: bool, touched: bool = False) -> dict | str | None:
        """The event for `version`: {"v": n, ...} (the board's encoded once for all its
        streams); None when nothing changed for this screen."""
        follow = self.follow
        if follow.board:
            html = await _shared_payload(
                f"board-state:{follow.branch_id}:{version}:{follow.language}",
                _board_payload,
                follow.branch_id,
                version,
                follow.language,
            )
            if html is None:
                return {"v": version}  # could not render: the board fetches, as before
            if not first and html == self.sent:
                return None
            self.sent = html
            key = f"{follow.branch_id}:{version}:{follow.language}"
            cached = _encoded_boards.get(key)
            if cached is not None and cached[0] is html:  # the same shared render
                return cached[1]
            if len(_encoded_boards) >= ENCODED_BOARDS_MAX:
                _encoded_boards.clear()
            encoded = _json({"v": version, "html": html})
            _encoded_boards[key] = (html, encoded)
            return encoded
        if follow.ticket_id is None:
            return {"v": version}
        outlooks = await _shared_payload(
            f"ticket-outlooks:{follow.branch_id}:{version}:{follow.language}",
            _ticket_payloads,
            follow.branch_id,
            version,
            follow.language,
        )
        if outlooks is None:
            return {"v": version}
        entry = outlooks.get(follow.ticket_id)
        was_queued, self.queued = self.queued, entry is not None
        if entry is None or touched:
            # This ticket itself changed (called, checked in, skipped...) or left the queue:
            # its page fetches its card now. Later changes of others concern it no more.
            self.sent = None
            return {"v": version, "refetch": 1} if first or touched or was_queued else None
        if not first and entry == self.sent:
            return None  # moved nothing for this phone (a start, a finish, a later issue)
        self.sent = entry
        status, html = entry
        return {"v": version, "outlook": html, "status": status}


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
    follow: Follow | None = None,
) -> AsyncIterator[str]:
    """Server-sent events: the current version first, then each new one as the hub relays it,
    with what `follow` allows (the board's state, one ticket's place; see the module's doc).

    `last_event_id` (EventSource's Last-Event-ID on a reconnect, e.g. after a worker restart):
    the current version (and its payload) is sent at once only if it differs, so nothing is
    lost and nothing is fetched twice.
    """
    follow = follow or Follow(branch_id)
    screen = _Screen(follow)
    hub = get_hub()
    sub = await hub.subscribe(branch_id, ticket_id=follow.ticket_id) if hub is not None else None
    if sub is None:
        # No Redis now: end the stream. EventSource reconnects, gets 204 while the breaker is
        # open, and live.js polls the database-backed version instead.
        return
    try:
        # Registered before reading the version, so no change falls between the two.
        last = await _version_now(hub, branch_id)
        if last_event_id is None or last_event_id != last:
            sub.touched = False  # the first event carries the current payload anyway
            yield f"retry: {RETRY_MS}\n" + _event(last, await screen.data(last, first=True))
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
                touched, sub.touched = sub.touched, False
                data = await screen.data(number, first=False, touched=touched)
                if sub.closed:
                    return
                if data is not None:  # None: nothing changed for this screen
                    yield _event(number, data)
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
    follow = follow_from_token(token)
    if follow is None:
        raise Http404
    if not _is_asgi(request) or not sse_available(request):
        # Under WSGI a stream would hold a worker thread for minutes: never. 204 tells
        # EventSource to stop reconnecting; live.js then polls `version`.
        return HttpResponse(status=204)
    last_event_id = _int_or_none(request.headers.get("Last-Event-ID"))
    response = StreamingHttpResponse(
        event_stream(follow.branch_id, last_event_id=last_event_id, follow=follow),
        content_type="text/event-stream",
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
