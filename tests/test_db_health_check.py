"""The PostgreSQL backend's health check (config/db/postgresql/base.py): a socket poll, not a
`SELECT 1`, yet a connection the server closed while idle is still replaced before use."""

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from django.db import close_old_connections, connection, connections, transaction
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoDatabaseWrapper
from django.test import Client
from django.urls import reverse

from config.db.postgresql.base import DatabaseWrapper
from queueing import broadcast

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def other():
    """A second, separate connection to the same database: it watches and kills ours."""
    params = connection.settings_dict
    conn = psycopg2.connect(
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
    )
    conn.autocommit = True  # each look at pg_stat_activity is a fresh snapshot
    yield conn
    conn.close()


def _last_query(other, pid: int) -> str:
    with other.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def _terminate(other, pid: int) -> None:
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True


def _unusable_within(seconds: float) -> bool:
    """The server's FIN (and FATAL) reach our socket a moment after the kill."""
    deadline = time.monotonic() + seconds
    while connection.is_usable():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_it_uses_the_project_backend():
    assert isinstance(connections["default"], DatabaseWrapper)


def test_a_healthy_idle_connection_is_usable_without_a_query(other):
    connection.ensure_connection()
    pid = connection.connection.get_backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'health-check-marker'")

    assert connection.is_usable() is True
    # The server saw nothing after the marker: a SELECT 1 would be the backend's last query.
    assert _last_query(other, pid) == "SELECT 'health-check-marker'"

    # The check above can fail: Django's own is_usable() is seen by the server.
    assert DjangoDatabaseWrapper.is_usable(connection) is True
    assert _last_query(other, pid) == "SELECT 1"


def test_inside_a_transaction_it_asks_the_server(other):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'health-check-marker'")
        pid = connection.connection.get_backend_pid()
        assert connection.is_usable() is True
        assert _last_query(other, pid) == "SELECT 1"


def test_a_closed_or_missing_connection_is_unusable():
    connection.ensure_connection()
    connection.connection.close()
    assert connection.is_usable() is False
    connection.close()
    assert connection.connection is None
    assert connection.is_usable() is False


def test_a_connection_the_server_terminated_is_replaced(other):
    connection.ensure_connection()
    pid = connection.connection.get_backend_pid()
    assert connection.is_usable() is True

    _terminate(other, pid)
    assert _unusable_within(1.0)

    connection.health_check_done = False  # as at the start of a request
    connection.close_if_health_check_failed()
    assert connection.connection is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


@contextlib.contextmanager
def _connection_settings(max_age: int):
    """The connection's CONN_MAX_AGE for the test, health checks on (the dict is shared by
    every thread's connection, so threads the test starts see it too)."""
    saved = {key: connection.settings_dict[key] for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict.update(CONN_MAX_AGE=max_age, CONN_HEALTH_CHECKS=True)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def persistent_connection():
    """Connections kept between requests, as in production (CONN_MAX_AGE 600)."""
    with _connection_settings(600):
        yield


def test_a_request_after_the_server_killed_the_connection_succeeds(other, persistent_connection):
    client = Client()
    assert client.get(reverse("healthz")).status_code == 200
    pid = connection.connection.get_backend_pid()

    # The test client mutes close_old_connections on request_finished/request_started; a real
    # server runs it between requests, and it arms the next request's health check.
    close_old_connections()
    assert connection.connection is not None  # kept: CONN_MAX_AGE
    _terminate(other, pid)
    assert _unusable_within(1.0)

    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.content
    assert connection.connection.get_backend_pid() != pid


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def live_service_connection():
    """As the live service runs (docker-compose, bench): CONN_MAX_AGE 0, health checks on."""
    with _connection_settings(0):
        yield


def test_the_live_services_worker_threads_keep_their_connection(other, live_service_connection):
    """What the live service reads off its event loop (a long poll's or a stream's version, a
    board's payload) runs in the loop's small thread pool through broadcast.in_worker_thread:
    the thread keeps its connection although the service's CONN_MAX_AGE is 0 (its request
    threads live one request each), and one the server killed meanwhile is replaced, not
    failed. Closing it after each read cost a new PostgreSQL backend per read: 17 a second at
    500 branches, one per idle counter's long poll."""
    with ThreadPoolExecutor(max_workers=1) as pool:

        def in_thread(compute, *args):
            return pool.submit(broadcast.in_worker_thread, compute, *args).result()

        first = in_thread(_backend_pid)
        assert in_thread(broadcast.current_version, 987_654) == 0  # a branch with no events
        assert in_thread(_backend_pid) == first  # the version read kept the connection

        _terminate(other, first)
        # The server's FIN reaches the kept socket a moment after: wait for it in that thread.
        assert pool.submit(_unusable_within, 2.0).result()
        replaced = in_thread(_backend_pid)
        assert replaced != first
        assert in_thread(_backend_pid) == replaced
        pool.submit(lambda: connection.close()).result()  # the pool thread's own connection


def test_a_worker_threads_connection_is_renewed_after_its_age(live_service_connection, monkeypatch):
    monkeypatch.setattr(broadcast, "WORKER_THREAD_CONN_MAX_AGE_S", 0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(broadcast.in_worker_thread, _backend_pid).result()
        assert pool.submit(broadcast.in_worker_thread, _backend_pid).result() != first
        pool.submit(lambda: connection.close()).result()
