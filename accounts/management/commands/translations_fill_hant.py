"""Derive the Traditional Chinese catalogue from the Simplified one (OpenCC, Taiwan phrasing
off: mainland -> Hong Kong/Taiwan characters only), keeping entries a translator has edited."""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand
from opencc import OpenCC


class Command(BaseCommand):
    help = "Fill locale/zh_Hant from locale/zh_Hans (untranslated or machine-made entries only)."

    def handle(self, *args, **options) -> None:
        converter = OpenCC("s2t")
        locale = Path(settings.BASE_DIR) / "locale"
        for domain in ("django", "djangojs"):
            source = locale / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
            target = locale / "zh_Hant" / "LC_MESSAGES" / f"{domain}.po"
            if not source.exists():
                continue
            simplified = polib.pofile(str(source))
            traditional = polib.pofile(str(target)) if target.exists() else polib.POFile()
            filled = 0
            for entry in traditional:
                if "reviewed" in entry.tcomment:
                    continue  # a translator fixed this one by hand
                src = simplified.find(entry.msgid, msgctxt=entry.msgctxt)
                if src is None or not src.translated():
                    continue
                if src.msgid_plural:
                    entry.msgstr_plural = {
                        k: converter.convert(v) for k, v in src.msgstr_plural.items()
                    }
                else:
                    entry.msgstr = converter.convert(src.msgstr)
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
                filled += 1
            traditional.save(str(target))
            traditional.save_as_mofile(str(target.with_suffix(".mo")))
            self.stdout.write(f"{domain}: {filled} entries converted to Traditional Chinese")
