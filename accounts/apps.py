from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Branches and staff")

    def ready(self) -> None:
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save

        from . import receivers  # noqa: F401  (registers the cache invalidation)
        from .audit import fill_log_entry_from_request

        # Once, here: the middleware (accounts.audit) only sets the request's context.
        pre_save.connect(
            fill_log_entry_from_request, sender=LogEntry, dispatch_uid="accounts.audit_context"
        )
