"""CRM reads, by area: core (customers, interactions, notes).

Each area is a module; this package re-exports them, so callers import `crm.selectors`."""

from .complaints import *  # noqa: F403
from .core import *  # noqa: F403
from .customers import *  # noqa: F403
from .reminders import *  # noqa: F403
