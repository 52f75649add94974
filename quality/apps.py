from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "quality"
    verbose_name = _("Service quality")

    def ready(self) -> None:
        # reception shows other apps' panels and links by URL name and never imports quality.
        from reception.extensions import register_link, register_panel

        register_panel("counter", "quality:kb_panel", _("Knowledge base"))
        register_panel("lobby", "quality:kb_panel", _("Knowledge base"))
        register_link("clause", "quality:standard_clause")
        # Lobby duty (helper I): "On duty now: <name> (until 12:00)" on the lobby overview.
        register_panel("overview", "quality:duty_now", _("Lobby duty"))
