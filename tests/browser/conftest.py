"""Browser tests: Playwright (sync API) drives Debian's chromium against pytest-django's live server.

Every page a test opens comes from `open_page`, which records JavaScript errors, console errors
(failed static files show up there) and Content-Security-Policy violations, and fails the test if
any occurred.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import Browser, BrowserContext, Page, expect

# Playwright's sync API drives an asyncio event loop in the main thread (under greenlets), so
# during browser tests Django sees "a running event loop" and refuses ORM calls in our fixtures and
# test bodies (SynchronousOnlyOperation). Nothing here is really async: ORM calls run between
# browser calls, never inside the loop, and the live server has its own thread and connection.
# Set at import, not per test: the browser and its loop are session-scoped, so session-level
# database setup and teardown may also run while the loop exists.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
PASSWORD = "pw"  # tests/factories.py UserFactory
STAFF_VIEWPORT = {"width": 1280, "height": 800}
PHONE_VIEWPORT = {"width": 390, "height": 844}
# Chinese first, like a branch PC in mainland China: LocaleMiddleware then picks zh-hans.
CHINESE_LOCALE = "zh-CN"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """Debian's chromium, never a downloaded one; quiet (no network besides the live server)."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium)")
    return {
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


# The shared fixtures, with the names a real branch shows: these pages end up in the README.
@pytest.fixture
def branch(branch):
    branch.name_en = "Main Street Branch"
    branch.save(update_fields=["name_en"])
    return branch


@pytest.fixture
def cash(cash):
    cash.name_zh = "现金存取"
    cash.save(update_fields=["name_zh"])
    return cash


@pytest.fixture
def loans(loans):
    loans.name_zh = "个人贷款"
    loans.save(update_fields=["name_zh"])
    return loans


# Chromium also logs a violation to the console, but the event says which directive and which
# script (htmx, ours), and does not depend on how the browser words its log.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => window.__reportCspViolation(
  `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber}:${e.columnNumber})`
));
"""


class PageErrors:
    """JavaScript exceptions, console errors and CSP violations of every page of a test."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("weberror", lambda error: self.messages.append(f"page error: {error.error}"))
        context.on("console", self._console)
        context.expose_binding(
            "__reportCspViolation",
            lambda source, text: self.messages.append(f"CSP violation: {text}"),
        )
        context.add_init_script(CSP_LISTENER)

    def _console(self, message) -> None:
        # Chromium asks for /favicon.ico by itself; staff pages (base.html) name no icon.
        # Reported to the lead; a missing favicon is not what these tests are about.
        if message.type == "error" and "/favicon.ico" not in str(message.location):
            where = message.location.get("url", "") if message.location else ""
            self.messages.append(f"console error: {message.text} ({where})")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def open_page(
    browser: Browser, live_server, page_errors: PageErrors
) -> Iterator[Callable[..., Page]]:
    """open_page(path="/", viewport=STAFF_VIEWPORT) -> a page in a fresh context (own cookies,
    so a teller and a customer do not share a session), already at live_server.url + path.

    Fails the test afterwards if any page logged a JavaScript or console error. Depends on
    live_server so pages close before the server stops and the database is flushed.
    """
    contexts: list[BrowserContext] = []

    def _open(
        path: str = "/", *, viewport: dict | None = None, locale: str = CHINESE_LOCALE
    ) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or STAFF_VIEWPORT, locale=locale
        )
        context.set_default_timeout(5000)
        page_errors.watch(context)
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        return page

    yield _open
    for context in contexts:
        context.close()
    if page_errors.messages:
        pytest.fail("errors in the browser:\n" + "\n".join(page_errors.messages), pytrace=False)


def login(page: Page, username: str, password: str = PASSWORD, *, next_path: str = "") -> None:
    """Fill the login form (the page is sent there first) and wait to leave it: for the role's
    start page, or for next_path."""
    page.goto(f"/login/?next={next_path}" if next_path else "/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def assert_htmx_loaded(page: Page) -> None:
    """Staff pages depend on htmx from static files (served by the live server's static handler)."""
    page.wait_for_function("() => typeof window.htmx === 'object'", timeout=3000)


def expect_language(page: Page, code: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", code)


def in_language(code: str, message: str) -> str:
    """A source string as the app shows it in that language (the source itself until translated)."""
    with translation.override(code):
        return translation.gettext(message)


def screenshot(page: Page, name: str) -> Path:
    """docs/screenshots/journey-<name>.png, the visible viewport (the size a user sees)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"journey-{name}.png"
    page.screenshot(path=str(path))
    return path
