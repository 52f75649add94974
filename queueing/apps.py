from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    name = "queueing"
    verbose_name = _("Queueing")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (keeps the cached branch set-up current)
