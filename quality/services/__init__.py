"""quality's services, one module per area, re-exported here."""

from .benchmark import *  # noqa: F403
from .duty import *  # noqa: F403
from .findings import *  # noqa: F403
from .inspections import *  # noqa: F403
from .knowledge import *  # noqa: F403
from .standards import *  # noqa: F403
from .training import *  # noqa: F403
