"""quality's admin, one module per area (imported here so Django finds them)."""

from . import benchmark, duty, findings, inspections, knowledge, standards, training  # noqa: F401
