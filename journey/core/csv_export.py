"""The one CSV writer of journey: every CSV it writes (the journey map's numbers, a campaign's codes, reports) goes
through here, so no cell can run as a spreadsheet formula (OWASP "CSV injection").

A *text* cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, which
Excel, LibreOffice and Google Sheets show as text; numbers (``int``, ``float``, ``Decimal``) are written as numbers,
so a negative revenue stays ``-5.00``.  Shopper-controlled text (UTM values, referrers) and staff-edited text reach
these files, so the rule applies to every text cell.

    from journey.core.csv_export import csv_response, writer
    return csv_response(rows, "journey-map.csv")            # HttpResponse (stream=True: StreamingHttpResponse)
    writer(fileobj).writerows(rows)                          # into any file-like object
"""

from __future__ import annotations

import csv
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a CSV cell no spreadsheet runs: None → empty, numbers as numbers, risky text escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """``csv.writer`` whose rows go through :func:`safe_cell`; ``writerow`` returns what the file's write returned."""

    def __init__(self, fileobj, **options):
        self._writer = csv.writer(fileobj, **options)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(fileobj, **options) -> SafeWriter:
    return SafeWriter(fileobj, **options)


class _Echo:
    def write(self, value):
        return value


def csv_response(rows, filename: str, *, stream=False):
    """A ``text/csv`` attachment named ``filename`` with ``rows`` (an iterable of lists); ``stream=True`` writes the
    rows while they are sent (for long lists such as a batch of codes)."""
    if stream:
        echo = SafeWriter(_Echo())
        response = StreamingHttpResponse((echo.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        SafeWriter(response).writerows(rows)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
