"""The hidden Imported sheet: the key (Broker, Account, Trade ID) of every trade a fill imported.

A trade the trader deleted from the Trades table stays listed here, so the next fill of a statement
that still holds it does not bring it back (``fill --restore-deleted`` does). Written as plain
text cells; :mod:`addin.fill.inplace` appends to it at the XML level.
"""

from __future__ import annotations

from . import columns as C
from .layout import Book, clean_text

TITLE = C.LEDGER_SHEET


def build(book: Book) -> None:
    ws = book.wb[TITLE]
    ws.append(list(C.LEDGER_COLUMNS))
    for t in book.trades:
        ws.append([clean_text(t.broker), clean_text(t.account), clean_text(t.trade_id)])
    for row in ws.iter_rows():
        for cell in row:
            cell.data_type = "s"  # an ID such as "=1+1" stays text
    ws.sheet_state = "hidden"
