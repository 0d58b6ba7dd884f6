"""The Cash sheet: deposits, withdrawals and other cash movements, and CashFrom (see columns.CASH_DOC)."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..statements.model import BalanceEvent
from . import columns as C
from .layout import BOX, INPUT_FILL, HEAD_FILL, HEAD_FONT, LABEL_FONT, NOTE_FONT, VALUE_FONT, Book, excel_serial, fit_width, format_source

TITLE = C.schema.CASH_SHEET
CASH_COLUMNS = tuple((f.header, f.width, f.number_format) for f in C.schema.CASH.columns)  # (header, width, format)


def cash_rows(cash: Sequence[BalanceEvent]) -> list[BalanceEvent]:
    """The Cash table's rows: dated movements by time (stable), then the undated ones."""
    return sorted(cash, key=lambda e: (e.time is None, excel_serial(e.time) if e.time is not None else 0.0))


def build(book: Book) -> None:
    s = book.sheet(TITLE)
    ws = s.ws
    cash = book.cash
    for j, (head, width, fmt) in enumerate(CASH_COLUMNS):
        x = get_column_letter(j + 1)
        s.text(f"{x}1", head, font=HEAD_FONT, fill=HEAD_FILL)
        ws.column_dimensions[x].width = width
        ws[f"{x}2"].number_format = fmt
    for i, e in enumerate(cash):
        row = i + 2
        if e.time is not None:
            s.value(f"A{row}", excel_serial(e.time), fmt=C.DATE)  # the serial the formulas compare
        s.value(f"B{row}", e.amount, fmt=C.MONEY)
        s.text(f"C{row}", e.kind)
        s.text(f"D{row}", format_source(e.source))
    ref = f"A1:D{max(len(cash), 1) + 1}"
    ws.add_table(Table(displayName=C.CASH_TABLE, ref=ref,
                       tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True)))
    ws.freeze_panes = "A2"
    s.text("F1", "Counted from", font=LABEL_FONT, border=BOX)
    s.value("G1", book.cash_from if book.cash_from else None, fmt='[=0]"every movement";' + C.DATE,
            font=VALUE_FONT, border=BOX, fill=INPUT_FILL, align=Alignment(horizontal="right"))
    book.wb.defined_names[C.CASH_FROM] = DefinedName(C.CASH_FROM, attr_text=f"{TITLE}!$G$1")
    notes = ("Cash movements in the account currency, one row each: deposits, withdrawals, credits,",
             "fees and interest a statement books outside trades. Those dated on or after Counted from",
             "(the first trade's open time, written by the fill) go into the Trades Balance (column",
             "Cash in/out) up to each trade's close (open, for a trade still open); earlier ones make",
             "up StartingBalance (Settings). Undated rows are listed, not counted. Drawdown leaves",
             "cash movements out.")
    for k, note in enumerate(notes):
        s.text(f"F{k + 3}", note, font=NOTE_FONT)
    ws.column_dimensions["E"].width = 3
    ws.column_dimensions["F"].width = 20
    ws.column_dimensions["G"].width = 17
    fit_width(ws, "landscape", f"A1:L{max(len(cash) + 1, len(notes) + 2)}")
