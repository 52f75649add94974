"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

Why: connections persist between requests (CONN_MAX_AGE, 600 s in production) and
CONN_HEALTH_CHECKS is on, so a connection the server closed while idle (a restart, an idle
timeout, pg_terminate_backend, a PgBouncer restart) is replaced before a request uses it instead
of failing that request. Django's check is a `SELECT 1` at the first use of the connection in
every request: one extra round trip per request, about 1 in 6 of the hot path's PostgreSQL round
trips (issue, call-next, start and finish are 4-6 statements each, BEGIN and COMMIT included).

What it does instead: an idle connection's socket has nothing to read. If it is readable (or
polls as hung up / in error), the server closed it or said something while we were idle (the
FATAL "terminating connection" it sends before closing): the connection is reported unusable
and Django opens a new one. One poll with timeout 0, no network traffic.

Only an idle connection is judged this way. Inside a transaction (or after a failed one) the
parent's `SELECT 1` still runs, as Django's own check would.

What it does not catch: a peer that vanished without closing (a host powered off, a network
partition): no FIN arrives, the socket looks healthy and the request's first query fails. With
`SELECT 1` the same request could equally have failed a moment after the check succeeded, so
little is lost. A server message while idle that is not a goodbye (an asynchronous NOTICE or
ParameterStatus; this project LISTENs on nothing) costs one needless reconnect, never an error.
"""

import select

from django.db.backends.postgresql.base import Database
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

# Any of these on an idle connection's socket means the server closed it or wrote to it.
# (No poll() on Windows: select() below stands in.)
_POLL_UNUSABLE = (
    select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL
    if hasattr(select, "poll")
    else 0
)


def socket_quiet(fd: int) -> bool:
    """True if the socket `fd` has nothing to read and no error or hang-up, without waiting."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, _POLL_UNUSABLE)
            return not any(events & _POLL_UNUSABLE for _, events in poller.poll(0))
        readable, _, errored = select.select([fd], [], [fd], 0)
        return not readable and not errored
    except (OSError, ValueError):
        return False


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        try:
            idle = connection.info.transaction_status == TRANSACTION_STATUS_IDLE
            fd = connection.fileno()
        except (Database.Error, OSError, ValueError):  # closed under us: no answer is a no
            return False
        if not idle:
            # Inside a transaction the server may owe us nothing and still be gone; and a
            # failed transaction needs the real answer: let the server say.
            return super().is_usable()
        return socket_quiet(fd)
