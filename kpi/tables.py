"""A KPI table as data: rendered as HTML by `kpi/_table.html`, exported as CSV or XLSX.

Every dashboard table is built once as a `Table` (columns with their unit, rows of values) and
shown or downloaded from that same object, so the download always says what the page says.
Values stay numbers (shares as fractions, times in seconds) until formatted for a reader:
a spreadsheet gets numbers it can sum, with a number format; the page gets "12:30" and "85 %".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.http import HttpResponse
from django.utils.text import slugify

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # already translated (the caller passes gettext's result)
    # "text", "count", "share" (0..1), "seconds", "hours", "minutes", "score", "rate", "date"
    unit: str = "text"


@dataclass(slots=True)
class Table:
    title: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    slug: str = ""  # file name stem; from the title when empty
    # Key of a row that is highlighted (e.g. the teller's own), and the total row if any.
    total: dict[str, Any] | None = None

    def filename(self, fmt: str, *, suffix: str = "") -> str:
        stem = self.slug or slugify(self.title, allow_unicode=False) or "kpi"
        return f"{stem}{('-' + suffix) if suffix else ''}.{fmt}"

    def cells(self, row: dict[str, Any]) -> list[str]:
        """The row as the page shows it."""
        return [format_value(row.get(column.key), column.unit) for column in self.columns]


def table_context(table: Table, *, export_query: str = "") -> dict[str, Any]:
    """What `{% include "kpi/_table.html" with ... %}` needs: rows as formatted cells.
    A row with a truthy "_highlight" key is marked (the teller's own row)."""
    return {
        "table": table,
        "rows": [
            {"cells": table.cells(row), "highlight": bool(row.get("_highlight"))}
            for row in table.rows
        ],
        "total": table.cells(table.total) if table.total else None,
        "export_query": export_query,
    }


def format_value(value: Any, unit: str) -> str:
    """Presentation of one value; an em dash for "no data" (None), which is not 0."""
    if value is None:
        return "—"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "seconds":
        total = round(value)
        hours, rest = divmod(total, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"
    if unit in {"hours", "minutes", "rate"}:
        return f"{value:.1f}"
    if unit == "score":
        return f"{value:.1f}" if isinstance(value, float) else str(value)
    if unit == "count":
        return f"{value:,.0f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def export_response(table: Table, fmt: str, *, suffix: str = "") -> HttpResponse:
    """The table as a download. `fmt` must be one of EXPORT_FORMATS (callers validate)."""
    if fmt == "csv":
        return _csv(table, suffix)
    if fmt == "xlsx":
        return _xlsx(table, suffix)
    raise ValueError(f"unknown export format {fmt!r}")


def _raw(value: Any, unit: str) -> Any:
    if value is None:
        return ""
    if unit == "count" and isinstance(value, float) and value.is_integer():
        return int(value)  # sums come back as floats; a count reads "10", not "10.0"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _csv(table: Table, suffix: str) -> HttpResponse:
    buffer = io.StringIO()
    # A byte-order mark, so Excel opens Chinese text as UTF-8 instead of the local code page.
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in table.columns])
    for row in [*table.rows, *([table.total] if table.total else [])]:
        writer.writerow([_raw(row.get(column.key), column.unit) for column in table.columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{table.filename("csv", suffix=suffix)}"'
    )
    return response


_XLSX_FORMATS = {
    "share": "0.0%",
    "seconds": "[h]:mm:ss",
    "hours": "0.0",
    "minutes": "0.0",
    "rate": "0.0",
    "score": "0.0",
    "count": "#,##0",
}


def _xlsx(table: Table, suffix: str) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = (table.title or "KPI")[:31]
    sheet.append([column.label for column in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in [*table.rows, *([table.total] if table.total else [])]:
        values = []
        for column in table.columns:
            value = row.get(column.key)
            if column.unit == "seconds" and value is not None:
                value = value / 86400.0  # a spreadsheet time is a fraction of a day
            values.append(_raw(value, column.unit) if value is not None else None)
        sheet.append(values)
    for index, column in enumerate(table.columns, start=1):
        number_format = _XLSX_FORMATS.get(column.unit)
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.label) * 2 + 2))
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    workbook.save(output)
    response = HttpResponse(output.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{table.filename("xlsx", suffix=suffix)}"'
    )
    return response
