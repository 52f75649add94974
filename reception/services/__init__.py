"""Reception use cases (state changes, one transaction each), by area: desk (lobby registration and the counter).

Each area is a module; this package re-exports them, so callers import `reception.services`."""

from .appointments import *  # noqa: F403
from .desk import *  # noqa: F403
from .forms import *  # noqa: F403
from .handling import *  # noqa: F403
from .merge import *  # noqa: F403
from .overview import *  # noqa: F403
from .remote import *  # noqa: F403
