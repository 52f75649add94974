from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from . import receivers  # noqa: F401

        # surveys and their follow-ups (issue 8) on the customer's CRM timeline
        from .timeline import register_loop_timeline, register_timeline

        register_timeline()
        register_loop_timeline()
        from . import simulation  # noqa: F401  (its part of manage.py simulate_day)
