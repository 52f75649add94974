"""Redis commands written straight to a connection the calling thread keeps.

redis-py's own path for one command (client, pool checkout with a "has the connection unread
data?" poll, retry wrapper, response callbacks, pool release) costs a hot request about as
much CPU as the round trip itself: measured on 2 vCPUs, a GET through `redis.Redis` 165–177 µs
of CPU (user + system), the same GET written here 106–116; an MGET 160–222 against 55–82
(docs/decisions.md). A teller's request makes two or three such round trips (the session with
its user and memberships, the queue version's SET and PUBLISH).

What redis-py's pool did and this keeps:
* every thread its own connection (a connection is never shared by two requests at once);
  after a fork the child opens its own;
* any error drops the connection, so a half-read answer can never be read by the next
  command; the caller (accounts.cache's breaker) decides about fallbacks;
* a kept connection the server closed meanwhile (a Redis restart) is reopened once, at once,
  instead of failing the request: only on a connection error, never after a timeout, and the
  hot commands sent here (GET, MGET, SET, DEL, PUBLISH) are safe to send twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class DirectCommands:
    """Send commands (tuples of arguments, as redis-py packs them) and read their answers, in
    one round trip, on a connection made with `pool`'s settings and kept by the thread."""

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self.pool = pool
        self._local = threading.local()

    def _connection(self) -> redis.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.pid != os.getpid():
            connection = self.pool.connection_class(**self.pool.connection_kwargs)
            self._local.connection = connection
        return connection

    def execute(self, *commands: Sequence) -> list:
        """The answers of `commands`, in order. Raises redis-py's errors (ConnectionError,
        TimeoutError, ResponseError) as its client would."""
        for attempt in (1, 2):
            connection = self._connection()
            reopened = not connection.is_connected
            try:
                connection.send_packed_command(connection.pack_commands(commands), False)
                return [connection.read_response() for _ in commands]
            except RedisConnectionError:
                connection.disconnect()
                if reopened or attempt == 2:
                    raise
            except BaseException:
                connection.disconnect()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close this thread's connection (tests; a worker's threads end with theirs)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.disconnect()
            self._local.connection = None
