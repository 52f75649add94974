"""/api/reception/… by area: desk (lobby registration and the counter).

Each area is a module; this package re-exports them, so callers import `reception.api`."""

from .appointments import *  # noqa: F403
from .desk import *  # noqa: F403
from .forms import *  # noqa: F403
from .handling import *  # noqa: F403
from .overview import *  # noqa: F403
from .remote import *  # noqa: F403
