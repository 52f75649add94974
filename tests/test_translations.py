"""zh-Hans is complete for every screen; zh-Hant follows it; the compiled catalogues load."""

from pathlib import Path

import polib
import pytest
from django.utils import translation
from django.utils.translation import gettext

LOCALE = Path(__file__).resolve().parent.parent / "locale"
APPS = ("accounts", "queueing", "crm", "reception", "feedback", "kpi", "quality")


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_it_has_every_string_translated(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in catalogue.untranslated_entries() + catalogue.fuzzy_entries()]
    assert not missing, f"{len(missing)} untranslated in {language}: {missing[:10]}"


def test_traditional_follows_simplified():
    simplified = {e.msgid for e in polib.pofile(str(LOCALE / "zh_Hans/LC_MESSAGES/django.po"))}
    traditional = {e.msgid for e in polib.pofile(str(LOCALE / "zh_Hant/LC_MESSAGES/django.po"))}
    assert simplified == traditional


@pytest.mark.parametrize(
    ("language", "expected"), [("zh-hans", "叫号"), ("zh-hant", "叫號"), ("en", "Call next")]
)
def test_the_compiled_catalogue_is_used(language, expected):
    with translation.override(language):
        assert gettext("Call next") == expected


def test_every_message_in_the_code_is_in_the_catalogues(tmp_path):
    """What `make messages` would extract today is already translated: a new gettext string
    without a zh-Hans (and so zh-Hant) translation fails here, not on a customer's screen.

    makemessages writes into the locale folder above the sources, so it runs on a scratch copy
    of the project."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext is missing (apt-get install gettext); CI runs every test")
        pytest.skip("needs xgettext (apt-get install gettext)")
    root = LOCALE.parent
    copy = tmp_path / "project"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "var", "screenshots")
    for name in ("manage.py", "config", "templates", "locale", *APPS):
        source = root / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=skip)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(source, copy / name)
    completed = subprocess.run(
        # The same command as `make messages`, in the copy.
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--ignore=.venv"],
        cwd=copy,
        env={**os.environ, "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    catalogue = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in catalogue.untranslated_entries() + catalogue.fuzzy_entries()]
    assert not missing, f"run `make messages` and translate: {missing[:10]}"


def test_every_gettext_alias_is_one_makemessages_extracts():
    """xgettext finds gettext(), _() and the other standard names only: a string wrapped in an
    alias (`gettext as _t`) is never extracted, so it is never translated, and the test above
    cannot see it (the survey and complaint SMS were English for every customer that way)."""
    import ast

    known = {
        "_",
        "gettext",
        "gettext_lazy",
        "ngettext",
        "ngettext_lazy",
        "pgettext",
        "pgettext_lazy",
        "npgettext",
        "npgettext_lazy",
        "gettext_noop",
    }
    aliased = []
    for app in (*APPS, "config"):
        for path in (LOCALE.parent / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                    aliased += [
                        f"{path.relative_to(LOCALE.parent)}: {alias.name} as {alias.asname}"
                        for alias in node.names
                        if alias.asname and alias.asname not in known
                    ]
    assert not aliased
