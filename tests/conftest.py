"""Shared fixtures: a branch with two services and a counter, and personas per role
(member of the branch) plus an outsider from another branch."""

import os
from pathlib import Path

import pytest

from accounts.models import Role
from feedback.sms import LocmemBackend

from .factories import BranchFactory, CounterFactory, MembershipFactory, ServiceFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """Without Debian's chromium, browser tests skip with a reason; in CI they must run
    (tests/test_infra.py fails there if chromium is missing)."""
    # Playwright's sync API leaves an event loop running in this thread; tests that call
    # asyncio.run() must come before it, so browser tests run last.
    items.sort(key=lambda item: "browser" in item.keywords)
    if Path("/usr/bin/chromium").exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(
        reason="browser tests need /usr/bin/chromium (apt-get install chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import caches

    from accounts.resilience import reset_breakers
    from queueing import fragments
    from queueing.selectors import forget_local_setups

    for alias in caches:
        caches[alias].clear()
    fragments.clear_local()
    forget_local_setups()
    reset_breakers()


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


@pytest.fixture
def eager_celery():
    """Run tasks in-process when they are queued (a real worker is tested separately)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


@pytest.fixture
def as_user():
    """as_user(user) -> an API client logged in as that user (None: anonymous)."""
    from rest_framework.test import APIClient

    def client_for(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return client_for


@pytest.fixture
def branch(db):
    return BranchFactory(code="main", name="主支行")


@pytest.fixture
def cash(branch):
    return ServiceFactory(
        branch=branch,
        code="cash",
        prefix="A",
        name_en="Cash",
        divertible=True,
        target_wait_minutes=10,
    )


@pytest.fixture
def loans(branch):
    return ServiceFactory(
        branch=branch, code="loan", prefix="E", name_en="Loans", target_wait_minutes=20
    )


@pytest.fixture
def counter(branch, cash, loans, teller):
    """Counter 1, open, with `teller` seated: only they may act at it."""
    return CounterFactory(branch=branch, number=1, serves=[cash, loans], teller=teller)


def _member(branch, role, username):
    user = UserFactory(username=username)
    MembershipFactory(user=user, branch=branch, role=role)
    return user


@pytest.fixture
def lobby_manager(branch):
    return _member(branch, Role.LOBBY_MANAGER, "lobby")


@pytest.fixture
def teller(branch):
    return _member(branch, Role.TELLER, "teller")


@pytest.fixture
def branch_head(branch):
    return _member(branch, Role.BRANCH_HEAD, "head")


@pytest.fixture
def other_branch(db):
    return BranchFactory(code="other", name="另一支行")


@pytest.fixture
def outsider(other_branch):
    """A teller of another branch: must never see or change this branch's data."""
    return _member(other_branch, Role.TELLER, "outsider")


@pytest.fixture
def frozen_link_time(monkeypatch):
    """Signed links carry the second they were made in: within a test, every link is stamped
    with the first one's second, so a link the test builds matches the one a page rendered
    (otherwise the comparison fails whenever the clock ticks over between the two)."""
    from django.core import signing

    first: dict[str, str] = {}
    original = signing.TimestampSigner.timestamp

    def timestamp(self) -> str:
        return first.setdefault("stamp", original(self))

    monkeypatch.setattr(signing.TimestampSigner, "timestamp", timestamp)


@pytest.fixture
def outbox_listeners():
    """Register outbox listeners for one test: add(name, fn, topics); the registry is left as
    it was."""
    from accounts import outbox

    added: list[tuple[str, tuple[str, ...]]] = []

    def add(name: str, fn, topics: tuple[str, ...]) -> None:
        outbox.listener(*topics, name=name)(fn)
        added.append((name, topics))

    yield add
    for name, topics in added:
        outbox._by_name.pop(name, None)
        for topic in topics:
            outbox._listeners[topic].pop(name, None)
