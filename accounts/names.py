"""Names staff type in (a branch, a service) in the reader's language, with a fallback order.

Pure: the models' `local_name` / `display_name` call it with the active language.
"""


def pick_name(language: str, *, zh_hans: str, zh_hant: str = "", en: str = "") -> str:
    """The name for `language`: Traditional readers get the Traditional name, else the
    Simplified one; English readers the English name, else the Chinese; everyone else the
    Simplified name, else whatever there is."""
    language = (language or "").lower()
    if language.startswith("en"):
        order = (en, zh_hans, zh_hant)
    elif language.startswith("zh-hant"):
        order = (zh_hant, zh_hans, en)
    else:
        order = (zh_hans, zh_hant, en)
    return next((name for name in order if name), "")
