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
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql", (
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

    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in ("web", "worker", "beat"):
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


def test_it_serves_asgi_with_gunicorn_as_a_non_root_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)

    assert users and users[-1] not in {"root", "0"}
    assert "config.asgi:application" in dockerfile
    assert "collectstatic" in dockerfile


def test_it_configures_gunicorn_with_uvicorn_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    namespace: dict = {}
    exec(compile((BASE_DIR / "config/gunicorn.py").read_text(), "gunicorn.py", "exec"), namespace)  # noqa: S102

    assert namespace["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert namespace["workers"] == 3
    assert namespace["bind"] == "0.0.0.0:8000"  # inside the container


def test_it_starts_web_worker_and_beat_in_development():
    procfile = (BASE_DIR / "Procfile.dev").read_text(encoding="utf-8")
    processes = dict(line.split(":", 1) for line in procfile.splitlines() if ":" in line)

    assert set(processes) == {"web", "worker", "beat"}
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
