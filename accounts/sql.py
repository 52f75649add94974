"""Small helpers for the few statements written in SQL on the hot path (queueing.statements)."""

from django.db import connection


def for_update(*, skip_locked: bool = False) -> str:
    """The row-lock clause this database has ("" on SQLite, which serialises writers)."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    if skip_locked and features.has_select_for_update_skip_locked:
        return " FOR UPDATE SKIP LOCKED"
    return " FOR UPDATE"
