"""Tables as CSV or Excel downloads, for dashboards and lists (personal data is masked by the caller)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from django.http import HttpResponse

from hotline.errors import InvalidInput

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_format(value: str | None) -> str:
    fmt = (value or "csv").lower()
    if fmt not in FORMATS:
        raise InvalidInput.field("filetype", "导出格式只能是csv或xlsx。")
    return fmt


def _cell(value):
    # Spreadsheet apps run cells that start with these as formulas (CSV injection): quote them.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def table_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence], fmt: str) -> HttpResponse:
    rows = [[_cell(v) for v in row] for row in rows]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=filename[:31])
        sheet.append(list(headers))
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        body: bytes = buffer.getvalue()
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(headers)
        writer.writerows(rows)
        # The BOM makes Excel on Windows read the file as UTF-8 instead of GBK.
        body = ("\ufeff" + text.getvalue()).encode("utf-8")
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}.{fmt}"
    return response
