"""Small helpers for the few statements written in SQL on the hot path (queueing.statements).

* `for_update`: the row-lock clause this database has.
* `models_from`: rows to model instances without a RawQuerySet, which maps the columns to the
  model's fields again on every query (profiled: up to a tenth of a hot request's CPU).
* `LazyRows`: rows kept as tuples, one made a model instance only when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


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
    layout, alias = _layout(model, columns), cursor.db.alias
    return [_instance(model, layout, row, alias) for row in cursor.fetchall()]


def _instance(model: type[M], layout: Layout, row: Sequence[Any], alias: str) -> M:
    """One row as a model instance loaded from the database `alias`."""
    fields, extras = layout
    instance = model(*[row[index] for index in fields])
    instance._state.adding, instance._state.db = False, alias
    for index, column in extras:
        setattr(instance, column, row[index])
    return instance


_converted: dict[type[Model], bool] = {}


def _needs_conversion(model: type[Model]) -> bool:
    """Whether a field of the model converts what the database returns (from_db_value)."""
    needs = _converted.get(model)
    if needs is None:
        needs = _converted[model] = any(
            field.get_db_converters(connection) for field in model._meta.concrete_fields
        )
    return needs


def model_rows(model: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """`model.objects.raw(sql, params)` as a list; on PostgreSQL mapped without a RawQuerySet."""
    if connection.vendor != "postgresql" or _needs_conversion(model):
        return list(model.objects.raw(sql, params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return models_from(cursor, model)


class LazyRows(Generic[M]):
    """A statement's rows as tuples; a row becomes a model instance only when asked for.

    For a statement that reads many rows to pick one: routing reads a few columns of every
    waiting ticket and calls one of them; building a model for each row cost more than the
    query. Where the database's values need converting (model_rows' rule), every row is built
    as a RawQuerySet would, once, and read back the same way.
    """

    def __init__(self, model: type[M], sql: str, params: Sequence[Any]) -> None:
        self._model = model
        if connection.vendor != "postgresql" or _needs_conversion(model):
            self._instances: list[M] | None = list(model.objects.raw(sql, params))
            self._rows: list[tuple] = [() for _ in self._instances]
            self._alias = ""
            return
        self._instances = None
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            self._columns = tuple(column[0] for column in cursor.description)
            self._rows = cursor.fetchall()
            self._alias = cursor.db.alias

    def __len__(self) -> int:
        return len(self._rows)

    def values(self, *attnames: str) -> list[tuple]:
        """These fields' values (attribute names: service_id, not service) of every row."""
        if self._instances is not None:
            return [tuple(getattr(i, name) for name in attnames) for i in self._instances]
        columns = {f.attname: f.column for f in self._model._meta.concrete_fields}
        position = {column: index for index, column in enumerate(self._columns)}
        wanted = [position[columns[name]] for name in attnames]
        return [tuple(row[index] for index in wanted) for row in self._rows]

    def instance(self, index: int) -> M:
        """Row `index` as a model instance (as models_from builds it)."""
        if self._instances is not None:
            return self._instances[index]
        layout = _layout(self._model, self._columns)
        return _instance(self._model, layout, self._rows[index], self._alias)
