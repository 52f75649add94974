"""/api/feedback/… by area: core (invitations, the survey answer).

Each area is a module; this package re-exports them, so callers import `feedback.api`."""

from .core import *  # noqa: F403
from .loop import *  # noqa: F403
from .pad import *  # noqa: F403
