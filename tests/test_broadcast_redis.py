"""A queue change on Redis: its version cached and published in one round trip
(queueing.broadcast, queueing.pubsub.set_and_publish), read back by the cache as the int it is."""

import json

import pytest
import redis

from accounts.redis_direct import DirectCommands
from queueing import broadcast, pubsub
from queueing.states import TicketAction

from .test_live_fragments import BRANCH, redis_or_skip

pytestmark = pytest.mark.django_db


def test_a_change_caches_its_version_and_publishes_it_in_one_round_trip(settings, monkeypatch):
    url = redis_or_skip()
    settings.REDIS_URL = url
    settings.CACHES = {
        **settings.CACHES,
        "live": {
            "BACKEND": "accounts.cache.ResilientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "bf-test-broadcast",
        },
    }
    monkeypatch.setattr(pubsub, "_client", None)  # built for this REDIS_URL
    executed: list[tuple[str, ...]] = []  # the command names of each round trip
    real_execute = DirectCommands.execute
    monkeypatch.setattr(
        DirectCommands,
        "execute",
        lambda self, *commands: (
            executed.append(tuple(command[0] for command in commands))
            or real_execute(self, *commands)
        ),
    )
    branch = BRANCH + 40
    listener = redis.Redis.from_url(url).pubsub()
    listener.subscribe(broadcast.channel_name(branch))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    broadcast.live_cache().delete(broadcast.version_key(branch))
    executed.clear()  # the set-up's own DEL

    broadcast.queue_changed(
        branch_id=branch, version=4242, action=TicketAction.CALL, ticket_id=7, service_code="cash"
    )

    assert executed == [("SET", "PUBLISH")]  # one round trip
    assert broadcast.current_version(branch) == 4242  # no query: the cached copy, an int
    message = listener.get_message(timeout=2)
    assert json.loads(message["data"]) == {
        "v": 4242,
        "action": "call",
        "ticket": 7,
        "service": "cash",
        "counter": None,
    }
    listener.close()
