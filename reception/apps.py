from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceptionConfig(AppConfig):
    name = "reception"
    verbose_name = _("Reception")

    def ready(self) -> None:
        from . import receivers  # noqa: F401
        from .timeline import register_timeline  # visits on the customer's CRM timeline
        from .views.forms import register_ticket_links  # pre-filled form link on ticket pages

        register_ticket_links()
        register_timeline()
