"""kpi's reads, one module per area, re-exported here so callers write `kpi.selectors.x`.

live: today's figures straight from the tickets; rollups: any slice of KpiRollup (the
dashboards, exports, region ranking, staffing, quality's benchmarking)."""

from .live import *  # noqa: F403
from .rollups import *  # noqa: F403
