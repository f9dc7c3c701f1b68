"""Reading and writing the files bulk imports take and exports give: CSV and XLSX.

Both readers yield the same thing, ``(line, values, formula)``: the row's number in the file
(the header is line 1; for CSV the physical line a record ends on, for XLSX the sheet's row),
the cells by column name as stripped text, and the first column holding a formula (or None).

* **CSV**: UTF-8 text, a byte-order mark allowed.
* **XLSX** (openpyxl, read-only mode: rows are streamed from the zipped XML, never the whole
  sheet in memory; defusedxml guards the XML parser): the first sheet. Cells keep their type
  (numbers, dates, booleans) and are turned into the same text a CSV would hold; empty rows are
  skipped. A **formula** is never evaluated and its cached value never trusted: the row is
  refused naming the column.

A cell exported with the spreadsheet-injection guard (a leading ``'`` before ``=``, ``+``, ``-``,
``@``...) reads back as the value it guarded, so an export re-imports unchanged.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from dispatch.errors import ValidationFailed
from dispatch.integrations.enums import ImportFormat

#: What a spreadsheet would run as a formula when a cell starts with it (OWASP CSV injection),
#: the full-width forms a Chinese input method types included.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_COLUMNS = 64

Line = tuple[int, dict[str, str], str | None]


def unguard(value: str) -> str:
    """The value an exported cell guarded: ``'=x`` -> ``=x`` (any other text unchanged)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_LEADS):
        return value[1:]
    return value


def _header(names: Sequence[Any], columns: Sequence[str], required: Sequence[str]) -> list[str]:
    header = [str(name).strip() if name is not None else "" for name in names]
    while header and not header[-1]:
        header.pop()
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in columns]
    twice = sorted({name for name in header if header.count(name) > 1})
    if missing or unknown or twice:
        reason = (f"missing columns: {', '.join(missing)}" if missing else
                  f"unknown columns: {', '.join(unknown)}" if unknown else f"columns given twice: {', '.join(twice)}")
        raise ValidationFailed("file", f"line 1: {reason}; the columns are {', '.join(columns)}")
    return header


def read(file_format: ImportFormat, data: str | bytes, columns: Sequence[str],
         required: Sequence[str]) -> Iterator[Line]:
    """The rows of a stored file; an unreadable file or header is ValidationFailed on ``file``."""
    if file_format == ImportFormat.XLSX:
        assert isinstance(data, bytes)
        return _xlsx_rows(data, columns, required)
    assert isinstance(data, str)
    return _csv_rows(data, columns, required)


def _csv_rows(content: str, columns: Sequence[str], required: Sequence[str]) -> Iterator[Line]:
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff")))
    header = _header(next(reader, []), columns, required)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            raise ValidationFailed("file", f"line {reader.line_num}: more values than columns")
        values = {name: unguard(cells[i].strip()) if i < len(cells) else "" for i, name in enumerate(header)}
        yield reader.line_num, values, None


def _text(value: Any) -> str:
    """A typed XLSX cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(timespec="minutes")
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return unguard(str(value).strip())


def _xlsx_rows(data: bytes, columns: Sequence[str], required: Sequence[str]) -> Iterator[Line]:
    from openpyxl import (
        load_workbook,  # the import costs ~0.1 s: only when a workbook comes
    )

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValidationFailed("file", f"not an XLSX workbook ({type(exc).__name__})") from None
    try:
        if not book.worksheets:
            raise ValidationFailed("file", "the workbook has no sheet")
        rows = book.worksheets[0].iter_rows(max_col=MAX_COLUMNS)
        header_cells = next(rows, ())
        if any(cell.data_type == "f" for cell in header_cells):
            raise ValidationFailed("file", "line 1: a formula in the header")
        header = _header([cell.value for cell in header_cells], columns, required)
        for line, cells in enumerate(rows, start=2):
            values: dict[str, str] = {}
            formula = None
            for i, cell in enumerate(cells):
                if cell.value is None:
                    continue
                if i >= len(header):
                    raise ValidationFailed("file", f"line {line}: more values than columns")
                if cell.data_type == "f" and formula is None:
                    formula = header[i]
                values[header[i]] = _text(cell.value) if cell.data_type != "f" else ""
            if not values and formula is None:
                continue
            yield line, {name: values.get(name, "") for name in header}, formula
    finally:
        book.close()


def xlsx_bytes(rows: Iterable[Sequence[Any]], *, sheet: str) -> bytes:
    """An XLSX workbook of ``rows`` (the first is the header), written in openpyxl's write-only
    mode. Every text cell is typed as text, so nothing in it is ever run as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    out = book.create_sheet(sheet)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, Decimal):
                value = str(value)
            cell = WriteOnlyCell(out, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would take "=..." for a formula
            cells.append(cell)
        out.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
