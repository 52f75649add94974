"""Tell live screens (counter screens, the display board, customers' status pages) that a
branch's queue changed. Screens re-read the state; the event only says 'something changed'.

Every change bumps a per-branch version in the cache (cheap polling: the board asks
'anything new since version N?'). With Redis, the event is also published on a pub/sub channel
that the server-sent-events stream relays to open screens at once (docs/architecture.md).
"""

import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver

from .events import ticket_changed

log = logging.getLogger(__name__)


def version_key(branch_id: int) -> str:
    return f"queue-version:{branch_id}"


def channel_name(branch_id: int) -> str:
    return f"branchflow:queue:{branch_id}"


def current_version(branch_id: int) -> int:
    return int(cache.get(version_key(branch_id)) or 0)


async def acurrent_version(branch_id: int) -> int:
    """current_version for async code (the server-sent-events stream)."""
    return int(await cache.aget(version_key(branch_id)) or 0)


def bump_version(branch_id: int) -> int:
    key = version_key(branch_id)
    try:
        return cache.incr(key)
    except ValueError:  # first change since the cache started
        cache.set(key, 1, timeout=None)
        return 1


@receiver(ticket_changed, dispatch_uid="queueing.broadcast")
def on_ticket_changed(sender, *, ticket_id: int, branch_id: int, action, **extra) -> None:
    version = bump_version(branch_id)
    if not settings.REDIS_URL:
        return
    try:
        from .pubsub import publish

        publish(
            channel_name(branch_id),
            json.dumps({"v": version, "action": str(action), "ticket": ticket_id}),
        )
    except Exception:  # a screen missing one push must never fail a teller's call
        log.warning("could not publish queue change for branch %s", branch_id, exc_info=True)
