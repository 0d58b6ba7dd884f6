"""The Rejected sheet: the statement rows an import could not read, with file, row, section and reason."""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from . import schema
from .layout import HEAD_FILL, HEAD_FONT, Book, fit_width

TITLE = schema.REJECTED_SHEET
REJECTED_COLUMNS = tuple((f.header, f.width) for f in schema.REJECTED.columns)  # (header, width)


def build(book: Book) -> None:
    s = book.sheet(TITLE)
    ws = s.ws
    for j, (head, width) in enumerate(REJECTED_COLUMNS):
        x = get_column_letter(j + 1)
        s.text(f"{x}1", head, font=HEAD_FONT, fill=HEAD_FILL)
        ws.column_dimensions[x].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, rr in enumerate(book.rejected):
        row = i + 2
        s.text(f"A{row}", rr.source.file)
        if rr.source.row is not None:
            s.value(f"B{row}", rr.source.row)
        s.text(f"C{row}", rr.source.section)
        s.text(f"D{row}", rr.reason, align=wrap)
        s.text(f"E{row}", rr.raw)
    ref = f"A1:E{max(len(book.rejected), 1) + 1}"
    ws.add_table(Table(displayName=schema.REJECTED_TABLE, ref=ref,
                       tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True)))
    ws.freeze_panes = "A2"
    fit_width(ws, "landscape")
    ws.print_title_rows = "1:1"
