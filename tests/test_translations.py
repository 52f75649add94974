"""zh-Hans is complete for every screen; zh-Hant follows it; the compiled catalogues load."""

from pathlib import Path

import polib
import pytest
from django.utils import translation
from django.utils.translation import gettext

LOCALE = Path(__file__).resolve().parent.parent / "locale"


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
