"""kpi's state changes, one module per area, re-exported here so callers write
`kpi.services.rollup_recompute_day`.

rollups: rebuilding a branch's local day of KpiRollup rows from the source tables, and marking
days to rebuild (KpiDay); targets: a branch's KPI targets."""

from .rollups import *  # noqa: F403
from .targets import *  # noqa: F403
