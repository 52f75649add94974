"""kpi's reads, one module per area, re-exported here so callers write `kpi.selectors.x`.

live: today's figures straight from the tickets; rollups: any slice of KpiRollup (the
dashboards, exports, region ranking, staffing, quality's benchmarking); errors: errors per
category (not a rollup dimension)."""

from .dashboard import *  # noqa: F403
from .errors import *  # noqa: F403
from .live import *  # noqa: F403
from .region import *  # noqa: F403
from .report import *  # noqa: F403
from .rollups import *  # noqa: F403
from .series import *  # noqa: F403
from .staffing import *  # noqa: F403
