from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers (CRM)")

    def ready(self) -> None:
        from .selectors.customers import register_crm_timeline  # the customer's timeline

        register_crm_timeline()
