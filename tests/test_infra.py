"""The environment and the packaging, checked like code.

In CI (CI=true) every test must really run: PostgreSQL, Redis and chromium are required, and the
tests below fail loudly when one is missing instead of letting the tests that need it skip.
Locally they only check what is there.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders

BASE_DIR = Path(settings.BASE_DIR)
IN_CI = bool(os.environ.get("CI"))
CHROMIUM = Path("/usr/bin/chromium")

ci_only = pytest.mark.skipif(not IN_CI, reason="only CI insists on the full infrastructure")


@ci_only
def test_it_runs_ci_on_postgresql():
    from django.db import connection

    assert connection.vendor == "postgresql", (
        "CI must set DATABASE_URL=postgres://... so the concurrency and worker tests run"
    )


@ci_only
def test_it_reaches_redis_in_ci():
    import redis

    assert settings.REDIS_URL, "CI must set REDIS_URL=redis://..."
    assert redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3).ping() is True
    assert settings.CELERY_BROKER_URL.startswith("redis://")


@ci_only
def test_it_has_chromium_for_the_browser_tests():
    assert CHROMIUM.exists(), "apt-get install chromium: the browser tests must run in CI"


@pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI, reason="no /usr/bin/chromium")
def test_it_launches_chromium_through_playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.set_content("<p id='x'>你好 BranchFlow</p>")
            assert page.inner_text("#x") == "你好 BranchFlow"
        finally:
            browser.close()


def test_it_finds_every_static_file_the_templates_reference():
    # Production uses the manifest storage: a missing file is a 500 on every page, not a 404.
    pattern = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]""")
    referenced = {
        (path.relative_to(BASE_DIR), name)
        for root in [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
        if ".venv" not in root.parts
        for path in root.rglob("*.html")
        for name in pattern.findall(path.read_text(encoding="utf-8"))
    }
    missing = sorted(f"{name} (in {path})" for path, name in referenced if not finders.find(name))
    assert referenced, "expected templates that use {% static %}"
    assert missing == []


# --- Packaging: the files `docker compose up` and `make run` depend on.


def _compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8"))


def test_it_composes_database_cache_web_worker_and_beat_with_healthchecks():
    services = _compose()["services"]

    apps = ("web", "live", "worker", "beat")
    assert {"postgres", "redis", "migrate", "proxy", *apps} <= set(services)
    for name in ("postgres", "redis", "proxy", *apps):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in apps:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_it_keeps_secrets_out_of_the_compose_file():
    text = (BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8")

    # Required variables come from the environment or .env, and compose refuses to start
    # without them rather than falling back to a default.
    assert "${DJANGO_SECRET_KEY:?" in text
    assert "${POSTGRES_PASSWORD:?" in text
    assert not re.search(r"DJANGO_SECRET_KEY:\s*['\"]?[A-Za-z0-9]", text)


def test_it_serves_wsgi_with_granian_as_a_non_root_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)

    assert users and users[-1] not in {"root", "0"}
    assert 'CMD ["python", "-m", "config.serve"]' in dockerfile
    assert "collectstatic" in dockerfile


def _gunicorn_settings(name: str) -> dict:
    namespace: dict = {}
    exec(compile((BASE_DIR / "config" / name).read_text(), name, "exec"), namespace)  # noqa: S102
    return namespace


def test_it_serves_pages_with_threads_and_live_updates_with_an_event_loop(monkeypatch):
    from config import serve

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.delenv("WEB_THREADS", raising=False)
    monkeypatch.delenv("WEB_BIND", raising=False)
    web = serve.server(serve.parse_args([]))
    live = _gunicorn_settings("gunicorn_live.py")
    gthread = _gunicorn_settings("gunicorn.py")  # the earlier set-up, kept to compare

    assert (web.interface, web.workers, web.blocking_threads) == ("wsgi", 3, 2)
    assert (web.bind_addr, web.bind_port) == ("0.0.0.0", 8000)  # noqa: S104 (inside the container)
    assert web.target == "config.wsgi:application"
    assert web.respawn_failed_workers and web.workers_rss
    # The access log names the path, never the query string (staff search by phone number).
    assert "%(path)s" in web.log_access_format and "query_string" not in web.log_access_format
    assert (gthread["worker_class"], gthread["threads"]) == ("gthread", 2)
    assert live["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert live["max_requests"] == 0  # a recycled worker would drop every stream it holds
    # Nobody is believed about client addresses unless named (config/wsgi.py).
    assert "*" not in (live["forwarded_allow_ips"], gthread["forwarded_allow_ips"])


def test_compose_routes_live_updates_to_the_live_service_and_keeps_connections():
    compose = (BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8")
    nginx = (BASE_DIR / "config" / "nginx.conf").read_text(encoding="utf-8")

    assert '["python", "-m", "config.serve"]' in compose and "config.asgi:application" in compose
    assert 'DB_CONN_MAX_AGE: "600"' in compose
    # The web service believes X-Forwarded-For from nginx's pinned address only.
    proxy_address = re.search(r"ipv4_address: \$\{PROXY_ADDRESS:-([0-9.]+)\}", compose).group(1)
    trusted = re.search(r"FORWARDED_ALLOW_IPS: \$\{FORWARDED_ALLOW_IPS:-([0-9.,]+)\}", compose)
    assert proxy_address in trusted.group(1).split(",")
    assert "$proxy_add_x_forwarded_for" in nginx
    assert "nofile" in compose
    assert "location /queue/live/" in nginx and "proxy_buffering off" in nginx
    assert "$request " not in nginx and "$args" not in nginx  # no query strings in its log


def test_it_starts_web_worker_and_beat_in_development():
    procfile = (BASE_DIR / "Procfile.dev").read_text(encoding="utf-8")
    processes = dict(line.split(":", 1) for line in procfile.splitlines() if ":" in line)

    assert set(processes) == {"web", "worker", "beat"}
    # The same server as production (config/serve.py), reloading on code changes.
    assert "-m config.serve" in processes["web"] and "--reload" in processes["web"]
    assert "celery -A config worker" in processes["worker"]
    assert "celery -A config beat" in processes["beat"]


@pytest.mark.skipif(not shutil.which("make"), reason="no make")
def test_it_keeps_the_make_targets_the_readme_promises():
    result = subprocess.run(
        ["make", "-pRrq", "-f", "Makefile"],  # noqa: S607 (make from PATH)
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    targets = set(re.findall(r"^([a-z][a-z-]*):", result.stdout, flags=re.MULTILINE))

    expected = {"run", "test", "install", "migrate", "seed", "lint", "format", "check", "messages"}
    assert expected <= targets
