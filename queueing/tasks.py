"""Queueing has no periodic work yet; nightly clean-up of stale tickets comes with issue 3."""
