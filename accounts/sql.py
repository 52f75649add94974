"""Small helpers for the few statements written in SQL on the hot path (queueing.statements).

* `for_update`: the row-lock clause this database has.
* `execute`: on PostgreSQL, each statement is prepared once per connection (`PREPARE`) and then
  run by name (`EXECUTE`), so PostgreSQL parses and plans it once per connection instead of on
  every request. Measured on the 2-core bench machine: the counter lock, the waiting list and a
  claim cost PostgreSQL 0.375 ms of CPU as plain statements and 0.195 ms prepared, most of a
  hot-path statement's server time being its planning (docs/benchmarks.md).
  DB_PREPARED_STATEMENTS = False turns it off: a transaction-pooling PgBouncer hands each
  transaction another server connection, where the statement was never prepared.
* `models_from`: rows to model instances without a RawQuerySet (which maps the columns to the
  model's fields again on every query: ~10 % of a hot request's CPU in the profile).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)

_PLACEHOLDER = re.compile(r"%s")


def for_update(*, skip_locked: bool = False) -> str:
    """The row-lock clause this database has ("" on SQLite, which serialises writers)."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    if skip_locked and features.has_select_for_update_skip_locked:
        return " FOR UPDATE SKIP LOCKED"
    return " FOR UPDATE"


def forget_prepared(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """connection_created: a new connection has no prepared statement yet."""
    if connection is not None:
        connection.prepared_statements = {}


def _statement_name(sql: str) -> str:
    return "bf_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()


def _numbered(sql: str) -> str:
    """%s placeholders as PREPARE's $1, $2 …"""
    if "%%" in sql:
        raise ValueError("a prepared statement's SQL has no literal %")
    numbers = iter(range(1, sql.count("%s") + 1))
    return _PLACEHOLDER.sub(lambda _match: f"${next(numbers)}", sql)


def execute(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """`cursor.execute(sql, params)`, prepared on PostgreSQL (see the module's docstring).

    The first use of a statement on a connection sends PREPARE and EXECUTE together, one round
    trip as before (the query budgets count round trips). PREPARE is not undone by a rollback;
    when that first round trip fails, whether the PREPARE stuck is looked up on the next use.
    Parameter types are inferred from where each placeholder stands, so every placeholder must
    stand where PostgreSQL can tell its type (a column, a cast)."""
    db = cursor.db
    if db.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    name = _statement_name(sql)
    run = f"EXECUTE {name}({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"
    state: dict[str, bool | None] | None = getattr(db, "prepared_statements", None)
    if state is None:  # a connection opened before the receiver was connected
        state = db.prepared_statements = {}
    known = state.get(name, False)  # True: prepared; False: not yet; None: unknown
    if known is None:  # a failed first use: did its PREPARE stick?
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [name])
        known = state[name] = cursor.fetchone() is not None
    if known:
        cursor.execute(run, params)
        return
    state[name] = None  # unknown until this round trip succeeds
    cursor.execute(f"PREPARE {name} AS {_numbered(sql)}; {run}", params)
    state[name] = True


_layouts: dict[tuple[type[Model], tuple[str, ...]], tuple[list[int], list[tuple[int, str]]]] = {}


def _layout(model: type[Model], columns: tuple[str, ...]):
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


def model_rows(model: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """`model.objects.raw(sql, params)` as a list, prepared and mapped once on PostgreSQL."""
    if connection.vendor != "postgresql" or _needs_conversion(model):
        return list(model.objects.raw(sql, params))
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        return models_from(cursor, model)
