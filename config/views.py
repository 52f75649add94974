"""Project-level pages: the role landing page, branch switch, and the health check."""

import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache, caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from accounts import outbox
from accounts.access import SESSION_BRANCH_KEY, active_branch, branches_readable_by
from accounts.models import RegionRole
from accounts.resilience import broker_breaker
from accounts.selectors import branches_for_user, region_roles_of, roles_at_branch
from accounts.tasks import HEARTBEAT_KEY

from .screens import screens_for

# Where someone who works over a region starts (heading a region wins over inspecting it).
REGION_STARTS = ((RegionRole.HEAD, "kpi:region"), (RegionRole.INSPECTOR, "quality:inspections"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    branch = active_branch(request)
    region_roles = region_roles_of(user=request.user)
    if branch is None:
        # A regional head or an inspector with no branch of their own: their region's work.
        for role, start in REGION_STARTS:
            if role in region_roles:
                return redirect(start)
        if branches_readable_by(request.user).exists():
            return redirect("crm:customers")
        return render(request, "no_branch.html", status=403)
    screens = screens_for(
        roles=roles_at_branch(user=request.user, branch=branch),
        is_staff=request.user.is_staff,
        region_roles=region_roles,
    )
    workplaces = [screen for screen in screens if screen.workplace]
    if len(workplaces) == 1:  # one job here: straight to it; the rest is in the menu
        return redirect(workplaces[0].url_name)
    return render(request, "home.html", {"screens": screens, "branch": branch})


@login_required
@require_POST
def switch_branch(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("branch")
    if any(str(b.pk) == wanted for b in branches_for_user(user=request.user)):
        request.session[SESSION_BRANCH_KEY] = int(wanted)
    return redirect("home")


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn() or {}
    except Exception as exc:  # a health check reports failures, it does not raise them
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **detail}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


class Unreachable(Exception):
    """The circuit breaker has this server marked down: not tried again for a few seconds."""


def _cache() -> None:
    backend = caches["default"]
    if hasattr(backend, "ping"):  # accounts.cache.ResilientRedisCache: ask Redis itself
        if backend.degraded:
            raise Unreachable
        try:
            backend.ping()
        except Exception as exc:
            backend.breaker.record_failure(exc)
            raise
        return
    backend.set("healthz", "1", timeout=10)
    if backend.get("healthz") != "1":
        raise RuntimeError("cache read-back failed")


def _broker() -> dict:
    from config.celery import app

    breaker = broker_breaker()
    if breaker.is_open:
        raise Unreachable
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
    except Exception as exc:
        breaker.record_failure(exc)
        raise
    return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str) else "ok"}


def _celery() -> dict:
    raw = cache.get(HEARTBEAT_KEY)
    seen = parse_datetime(raw) if raw else None
    if seen is None:
        raise RuntimeError("no worker heartbeat yet")
    age = (timezone.now() - seen).total_seconds()
    if age > 120:
        raise RuntimeError("worker heartbeat is stale")
    return {"heartbeat_age_s": round(age)}


def _outbox() -> dict:
    """Not ok while deliveries are overdue (relay behind or stopped) or gave up (admin list)."""
    backlog = outbox.backlog()
    return {
        "ok": backlog.ok,
        "overdue": backlog.overdue,
        "retrying": backlog.retrying,
        "dead": backlog.dead,
    }


def _may_see_health_details(request: HttpRequest) -> bool:
    """The operator's monitoring (a bearer token, HEALTHZ_TOKEN) or a signed-in superuser."""
    token = settings.HEALTHZ_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and offered and constant_time_compare(offered, token):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_superuser)


def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness for load balancers: 503 only when this node cannot serve (the database is
    down). Redis (cache, broker), the worker and the outbox relay are reported as degraded
    parts with a 200, so a Redis blip does not pull every web node (docs/operations.md).

    Anyone sees the status word; which part failed, and how, is for the operator's monitoring
    (HEALTHZ_TOKEN) or a signed-in superuser: it tells an attacker what to aim at."""
    checks = {"database": _check(_database)}
    ready = checks["database"]["ok"]
    checks |= {
        "cache": _check(_cache),
        "broker": _check(_broker),
        "celery": _check(_celery),
        "outbox": _check(_outbox) if ready else {"ok": False, "error": "NoDatabase"},
    }
    status = "error" if not ready else "ok" if all(c["ok"] for c in checks.values()) else "degraded"
    body: dict = {"status": status}
    if _may_see_health_details(request):
        body["checks"] = checks
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response
