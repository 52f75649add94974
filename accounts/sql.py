"""Small helpers for the few statements written in SQL on the hot path (queueing.statements).

* `for_update`: the row-lock clause this database has.
* `models_from`: rows to model instances without a RawQuerySet, which maps the columns to the
  model's fields again on every query (profiled: up to a tenth of a hot request's CPU).
* `value_rows`: a few columns of many rows as tuples, no model built.
* `Rider`: another table's write that rides in a change's own statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Rider:
    """Common table expressions that ride in another statement's data-modifying WITH on
    PostgreSQL, reading the row that statement changed (its CTE, which the statement's owner
    names, e.g. queueing's `changed`): a write to another table that belongs to the same
    change, without a round trip of its own; a change with nothing else to write then needs no
    BEGIN and COMMIT. `ctes`: "name AS (…)[, …]", whose parameters are `params`; `returns`:
    attribute name -> a scalar SQL expression over those CTEs, selected beside the changed row
    (e.g. "(SELECT id FROM visit_outcome)", NULL when it changed nothing)."""

    ctes: str
    params: list
    returns: dict[str, str]


def for_update(*, skip_locked: bool = False) -> str:
    """The row-lock clause this database has ("" on SQLite, which serialises writers)."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    if skip_locked and features.has_select_for_update_skip_locked:
        return " FOR UPDATE SKIP LOCKED"
    return " FOR UPDATE"


Layout = tuple[list[int], list[tuple[int, str]]]  # field positions; (position, name) of others
_layouts: dict[tuple[type[Model], tuple[str, ...]], Layout] = {}


def _layout(model: type[Model], columns: tuple[str, ...]) -> Layout:
    """Where each of the model's concrete fields is among `columns`, and the other columns
    (annotations) with their positions. Computed once per model and column list."""
    key = (model, columns)
    layout = _layouts.get(key)
    if layout is None:
        position = {column: index for index, column in enumerate(columns)}
        fields = [position[field.column] for field in model._meta.concrete_fields]
        known = {field.column for field in model._meta.concrete_fields}
        extras = [(index, column) for index, column in enumerate(columns) if column not in known]
        layout = _layouts[key] = (fields, extras)
    return layout


def models_from(cursor: Any, model: type[M]) -> list[M]:
    """The rows the cursor's statement returned, as `model` instances: every concrete field of
    the model must be among the columns; any other column becomes an attribute (an annotation,
    as a RawQuerySet would give it). For PostgreSQL, whose driver returns Python values
    already; other databases go through RawQuerySet's conversions (model_rows)."""
    columns = tuple(column[0] for column in cursor.description)
    fields, extras = _layout(model, columns)
    alias = cursor.db.alias
    instances = []
    for row in cursor.fetchall():
        instance = model(*[row[index] for index in fields])
        instance._state.adding, instance._state.db = False, alias
        for index, column in extras:
            setattr(instance, column, row[index])
        instances.append(instance)
    return instances


_converted: dict[type[Model], bool] = {}


def _needs_conversion(model: type[Model]) -> bool:
    """Whether a field of the model converts what the database returns (from_db_value)."""
    needs = _converted.get(model)
    if needs is None:
        needs = _converted[model] = any(
            field.get_db_converters(connection) for field in model._meta.concrete_fields
        )
    return needs


def driver_values_fit(*models: type[Model]) -> bool:
    """Whether the driver's values are the fields' values as they are, for every one of these
    models (PostgreSQL, and no field converts what the database returns): rows of theirs may
    then be built straight from a cursor's tuples, as models_from does."""
    return connection.vendor == "postgresql" and not any(map(_needs_conversion, models))


def model_rows(model: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """`model.objects.raw(sql, params)` as a list; on PostgreSQL mapped without a RawQuerySet."""
    if connection.vendor != "postgresql" or _needs_conversion(model):
        return list(model.objects.raw(sql, params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return models_from(cursor, model)


def value_rows(
    model: type[Model], sql: str, params: Sequence[Any], attnames: Sequence[str]
) -> list[tuple]:
    """The rows of `sql`, which selects the columns of `model`'s fields `attnames` (attribute
    names: service_id, not service), in that order, the primary key among them: tuples of
    Python values, no model built. For a statement that reads a few columns of many rows
    (call-next reads each waiting ticket's routing columns). On PostgreSQL the driver's
    tuples; elsewhere, or where a field converts what the database returns, each row goes
    through a RawQuerySet's conversions."""
    if connection.vendor != "postgresql" or _needs_conversion(model):
        return [
            tuple(getattr(i, name) for name in attnames) for i in model.objects.raw(sql, params)
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
