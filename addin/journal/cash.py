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
    heads = [h for h, _, _ in CASH_COLUMNS]
    for i, e in enumerate(cash):
        row = i + 2
        for j, head in enumerate(heads):
            x = get_column_letter(j + 1)
            if head == "Time":
                if e.time is not None:
                    s.value(f"{x}{row}", excel_serial(e.time), fmt=C.DATE)  # the serial the formulas compare
            elif head == "Amount":
                s.value(f"{x}{row}", e.amount, fmt=C.MONEY)
            elif head == "Source":
                s.text(f"{x}{row}", format_source(e.source))
            else:  # Kind, Broker, Account
                s.text(f"{x}{row}", getattr(e, C.schema.CASH.field_of(head).attr) or None)
    last = get_column_letter(len(heads))
    ref = f"A1:{last}{max(len(cash), 1) + 1}"
    ws.add_table(Table(displayName=C.CASH_TABLE, ref=ref,
                       tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True)))
    ws.freeze_panes = "A2"
    gap, label, value = (get_column_letter(len(heads) + k) for k in (1, 2, 3))
    s.text(f"{label}1", "Counted from", font=LABEL_FONT, border=BOX)
    s.value(f"{value}1", book.cash_from if book.cash_from else None, fmt='[=0]"every movement";' + C.DATE,
            font=VALUE_FONT, border=BOX, fill=INPUT_FILL, align=Alignment(horizontal="right"))
    book.wb.defined_names[C.CASH_FROM] = DefinedName(C.CASH_FROM, attr_text=f"{TITLE}!${value}$1")
    notes = ("Cash movements in each account's currency, one row each: deposits, withdrawals, credits,",
             "fees and interest a statement books outside trades, with the Broker and Account they moved",
             "in (a row with neither belongs to the journal's first account). Those dated on or after the",
             "account's Counted from (the Accounts block on the Account sheet; the first account's is this",
             "one: its first trade's open time) go into its trades' Balance (column Cash in/out) up to each",
             "trade's close (open, for a trade still open); earlier ones make up its starting balance.",
             "Undated rows are listed, not counted. Drawdown leaves cash movements out.")
    for k, note in enumerate(notes):
        s.text(f"{label}{k + 3}", note, font=NOTE_FONT)
    ws.column_dimensions[gap].width = 3
    ws.column_dimensions[label].width = 20
    ws.column_dimensions[value].width = 17
    fit_width(ws, "landscape", f"A1:{get_column_letter(len(heads) + 8)}{max(len(cash) + 1, len(notes) + 2)}")
