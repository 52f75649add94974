"""How live updates reach screens (docs/live-updates.md).

Screens never receive queue data pushed at them; they learn *that* their branch's queue changed
(a version number, bumped by queueing.broadcast) and then fetch their own small state once.

Two transports, one contract ({"v": <int>}):

* `version` — a plain GET answered from the cache with no database query (one indexed query
  when the cache misses or Redis is down). live.js polls it every second when there is no
  stream (the embedded setup, WSGI runserver, a proxy that buffers, Redis down). A poll costs
  one cache read and ~100 bytes on the wire.
* `events` — server-sent events for ASGI deployments with Redis: an async view subscribes to
  `branchflow:queue:<branch>` and relays each new version at once. It ends after
  STREAM_SECONDS so connections recycle across workers and deploys; EventSource reconnects
  by itself after the `retry:` hint.

Both are authorised by a *live token*: the branch id signed by the page that was itself
authorised (display token for the board, the customer's signed ticket link, a staff session),
so neither endpoint needs a database query to check access. A live token reveals nothing but
a branch's change counter.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from csp.decorators import csp_exempt
from django.conf import settings
from django.core import signing
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.resilience import breaker_for

from . import broadcast

log = logging.getLogger(__name__)

LIVE_SALT = "queueing.live"
# A board runs all day; live.js reloads the page (getting a fresh token) when this expires.
LIVE_TOKEN_MAX_AGE_S = 36 * 3600
STREAM_SECONDS = 300  # recycle connections every ~5 minutes
HEARTBEAT_SECONDS = 15  # below common proxy idle timeouts (nginx: 60 s)
RETRY_MS = 2000  # EventSource's reconnect delay after the stream ends or drops
POLL_MS = 1000  # a call shows within 1 s on polling screens too


def live_token(branch_id: int) -> str:
    return signing.dumps(branch_id, salt=LIVE_SALT)


def branch_id_from_live_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=LIVE_SALT, max_age=LIVE_TOKEN_MAX_AGE_S))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def sse_available(request: HttpRequest) -> bool:
    """Offer the stream only where it costs no thread: ASGI, with Redis to subscribe to.

    Under WSGI (runserver, `make run`) an open stream would pin a worker thread per screen,
    so pages tell live.js to poll instead. settings.LIVE_SSE = False turns streams off (e.g.
    behind a proxy that buffers responses).
    """
    return (
        bool(settings.REDIS_URL)
        and getattr(settings, "LIVE_SSE", True)
        and isinstance(request, ASGIRequest)
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


@csp_exempt()  # JSON runs nothing; the policy header would triple the response
@require_GET
def version(request: HttpRequest, token: str) -> HttpResponse:
    """{"v": n} from the cache (no database query, no session read), or the database's."""
    branch_id = _branch_or_404(token)
    response = JsonResponse({"v": broadcast.current_version(branch_id)})
    response["Cache-Control"] = "no-store"
    return response


def _event(version_number: int) -> str:
    return f"id: {version_number}\ndata: {json.dumps({'v': version_number})}\n\n"


async def event_stream(
    branch_id: int,
    *,
    seconds: float = STREAM_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[str]:
    """Server-sent events: the current version first, then each new one as Redis announces it."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT
    )
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        try:
            await pubsub.subscribe(broadcast.channel_name(branch_id))
        except (OSError, aioredis.ConnectionError, aioredis.TimeoutError) as exc:
            # End the stream: EventSource reconnects, gets 204 while the breaker is open, and
            # live.js polls the database-backed version instead.
            breaker_for(settings.REDIS_URL).record_failure(exc)
            return
        # Subscribed before reading the version, so no change falls between the two.
        last = await broadcast.acurrent_version(branch_id)
        yield f"retry: {RETRY_MS}\n" + _event(last)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        last_sent = loop.time()
        while (remaining := deadline - loop.time()) > 0:
            wait = max(0.0, min(remaining, heartbeat - (loop.time() - last_sent)))
            try:
                message = await pubsub.get_message(timeout=wait)
            except (OSError, aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                breaker_for(settings.REDIS_URL).record_failure(exc)
                return  # Redis went away mid-stream: the screen reconnects, then polls
            if message is not None and message.get("type") == "message":
                try:
                    number = int(json.loads(message["data"])["v"])
                except (ValueError, KeyError, TypeError):
                    continue
                if number != last:
                    last = number
                    yield _event(number)
                    last_sent = loop.time()
            elif loop.time() - last_sent >= heartbeat:
                yield ": keep-alive\n\n"  # a comment: keeps proxies from closing an idle stream
                last_sent = loop.time()
    finally:
        # Runs on normal end and when the client goes away (Django cancels the response).
        try:
            await pubsub.aclose()
            await client.aclose()
        except Exception:  # the connection may already be gone; nothing else to release
            log.debug("closing the event stream's Redis connection failed", exc_info=True)


@require_GET
async def events(request: HttpRequest, token: str) -> HttpResponse:
    branch_id = _branch_or_404(token)
    if not sse_available(request):
        # 204 tells EventSource to stop reconnecting; live.js then polls `version`.
        return HttpResponse(status=204)
    response = StreamingHttpResponse(event_stream(branch_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through, do not buffer
    return response
