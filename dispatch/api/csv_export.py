"""Every CSV the API writes goes through here: UTF-8 with a byte-order mark (so Excel reads
Chinese names right) and no cell that a spreadsheet would run as a formula.

OWASP's CSV injection advice: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with a single quote, which spreadsheets show as text; the csv module
quotes separators and quotes inside cells. Only text is neutralised: numbers the API computed
(a negative delta) stay numbers. The full-width forms of the four signs (what a Chinese input
method types) are treated the same way.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Response

from dispatch.integrations import sheets

MEDIA_TYPE = "text/csv"
BOM = "\ufeff"
FORMULA_LEADS = sheets.FORMULA_LEADS  # one list: the importers read a guarded cell back (sheets.unguard)


def neutralise(value: Any) -> Any:
    """The cell as written: text that could start a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Sequence[Any]], *, chunk: int = 2000) -> Iterator[bytes]:
    """The CSV of ``rows`` (the first is the header), streamed ``chunk`` rows a piece."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    for count, row in enumerate(rows, 1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % chunk == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def csv_body(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The whole CSV at once (a response small enough to hold)."""
    return b"".join(csv_lines(itertools.chain([header], rows)))


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], *, filename: str) -> Response:
    """A CSV download (``Vary: Accept``: the same URL also answers JSON)."""
    return Response(csv_body(header, rows), mimetype=MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"})
