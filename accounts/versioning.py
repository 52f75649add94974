"""Publishing a versioned snapshot: the one way a form, a service's control points and a survey
get their next frozen version.

They all did the same steps (compare the current rows with the latest version, number the
next one, store it, or hand back the latest when nothing changed); one helper keeps the
numbering and the "no new version when nothing changed" rule identical everywhere. It knows
no domain app: the caller says which versions, which field holds the snapshot and what else
to store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import models, router, transaction
from django.db.transaction import TransactionManagementError

__all__ = ["publish_snapshot"]

VersionT = TypeVar("VersionT", bound=models.Model)

_UNSET: Any = object()


def publish_snapshot(
    versions: models.QuerySet[VersionT] | models.Manager[VersionT],
    *,
    snapshot: Any,
    snapshot_field: str,
    extra: Mapping[str, Any],
    number_field: str = "number",
    empty_is_version: bool = False,
    latest: VersionT | None = _UNSET,
) -> VersionT | None:
    """The owner's next version holding `snapshot`, or its latest one when that holds the same
    snapshot already. An empty snapshot publishes nothing (the latest, or None) unless
    `empty_is_version`.

    `versions`: the owner's versions (a queryset or related manager); the new one is created
    through it with `extra` (which names the owner when `versions` is a plain queryset).
    `latest`: pass it when the caller has read it already (saves the query).

    The caller holds the owner row locked (select_for_update) in this transaction, from before
    it read the snapshot: that is what stops two publishers from taking the same number or
    freezing a stale snapshot; the unique (owner, number) constraint is only the backstop.
    """
    if not transaction.get_connection(router.db_for_write(versions.model)).in_atomic_block:
        raise TransactionManagementError("publish_snapshot runs inside the owner's transaction.")
    if latest is _UNSET:
        latest = versions.order_by(f"-{number_field}").first()
    if latest is not None and getattr(latest, snapshot_field) == snapshot:
        return latest
    if not snapshot and not empty_is_version:
        return latest
    number = getattr(latest, number_field) + 1 if latest is not None else 1
    return versions.create(**{number_field: number, snapshot_field: snapshot, **extra})
