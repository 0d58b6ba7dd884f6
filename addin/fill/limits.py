"""Excel's limits, checked before the fill writes anything.

Excel holds at most **1,048,576 rows** per worksheet and **32,767 characters** in a cell
(Microsoft, "Excel specifications and limits", Worksheet and workbook specifications:
"Total number of rows and columns on a worksheet: 1,048,576 rows by 16,384 columns" and "Total
number of characters that a cell can contain: 32,767 characters";
https://support.microsoft.com/en-us/office/excel-specifications-and-limits-1672b34d-7043-467e-8e27-269d656771c3).
A table written past the last row is cut by LibreOffice (trades silently lost) and repaired by
Excel; a longer text cell is cut. So the fill refuses, with one line naming the place, the figure
and the limit, and the journal unchanged:

* **a statement with more trades than the Trades sheet can ever take** (the rows below the Trades
  table's header), as early as possible: a CSV reader counts its records before it parses one
  (:func:`reading_limits` gives the reader the room, see ``safety.Limits.max_trades``); for every
  format the number of trades read is checked right after reading (:func:`check_statement`),
  before any trade is completed;
* **a merged Trades table that would end past row 1,048,576**: the merge knows the table's last row
  once it has matched the statement's trades with the journal's (updates take no new row) and calls
  :func:`check_table_rows` before it writes; a new journal is checked the same way;
* **a text longer than 32,767 characters** in a cell the fill would write (a trade's comment,
  symbol, ids, Source, Flags; a rejected row's reason or raw text): :func:`check_statement` after
  reading (naming the statement's file, row and column), :func:`check_trades` after the trades
  are completed (the Flags the fill adds).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..journal import columns as C
from ..statements.model import RejectedRow, Statement, Trade
from ..statements.safety import Limits, current_limits

EXCEL_ROWS = 1_048_576        # rows of a worksheet (Excel 2007 and later; LibreOffice 7.4 and later)
EXCEL_CELL_CHARS = 32_767     # characters a cell can contain
SPEC = ("Excel specifications and limits: https://support.microsoft.com/en-us/office/"
        "excel-specifications-and-limits-1672b34d-7043-467e-8e27-269d656771c3")
NEW_JOURNAL_HEADER_ROW = 1    # the template's Trades table starts at A1


class ExcelLimitError(Exception):
    """What the fill would write does not fit in Excel: refused (exit 2), nothing written."""


def header_row(pkg) -> int:
    """The worksheet row of the Trades table's header in the journal ``pkg`` (a new journal is the
    template, opened like any other)."""
    if C.TABLE not in pkg.tables:
        return NEW_JOURNAL_HEADER_ROW
    from .xlsx_edit import range_bounds
    return range_bounds(pkg.tables[C.TABLE].ref)[1]


def trade_room(pkg) -> int:
    """The most trades the Trades table can ever hold: the rows below its header."""
    return EXCEL_ROWS - header_row(pkg)


def reading_limits(pkg) -> Limits:
    """The statement readers' limits (size, zip) with ``max_trades`` set to the Trades sheet's room,
    for ``read_statement(..., limits=...)``."""
    from dataclasses import replace
    return replace(current_limits(), max_trades=trade_room(pkg))


def check_table_rows(sheet: str, table: str, header: int, last_row: int) -> None:
    """ExcelLimitError when the table ``table`` on ``sheet`` (header on row ``header``) would end on
    ``last_row``, past the worksheet's last row. Called by the merge once it knows the last row."""
    if last_row > EXCEL_ROWS:
        raise ExcelLimitError(
            f"sheet {sheet!r}, table {table}: the merged table would need {last_row:,} rows (header on row "
            f"{header:,}, {last_row - header:,} trades), more than Excel's {EXCEL_ROWS:,} rows per worksheet; "
            "split the statements by date and fill the rest into a new journal")


def check_statement(st: Statement, pkg) -> None:
    """Right after reading ``st``: its trades fit below the Trades header, and no text it would
    write is longer than a cell holds."""
    room = trade_room(pkg)
    if len(st.trades) > room:
        raise ExcelLimitError(
            f"{st.file}: {len(st.trades):,} trades cannot fit in the journal: sheet 'Trades', table Trades "
            f"(header on row {header_row(pkg):,}) takes at most {room:,} trades, Excel's worksheet ending at row "
            f"{EXCEL_ROWS:,}; split the statement by date and fill each part into its own journal")
    check_trades(st.trades)
    check_rejected(st.rejected)


def _too_long(value: object) -> int:
    return len(value) if isinstance(value, str) and len(value) > EXCEL_CELL_CHARS else 0


def check_trades(trades: Iterable[Trade]) -> None:
    """ExcelLimitError naming the statement file, row and journal column of the first text cell
    (as the fill writes it) longer than 32,767 characters."""
    fields = [(c.name, c.field) for c in C.INPUTS + C.TRAILING if c.field]
    for t in trades:
        for name, fld in fields:
            v = getattr(t, fld)
            if fld == "source":
                v = str(v)
            elif fld == "flags":
                v = "; ".join(v)
            n = _too_long(v)
            if n:
                raise ExcelLimitError(f"{_where(t.source)}: the trade's {fld.replace('_', ' ')} is {n:,} characters "
                                      f"long, more than the {EXCEL_CELL_CHARS:,} an Excel cell holds (the journal's "
                                      f"{name!r} column); shorten it in the statement and run the fill again")


def check_rejected(rows: Iterable[RejectedRow]) -> None:
    """The same for the Rejected sheet's Reason and Raw text cells of rejected rows."""
    for r in rows:
        for name, v in (("Reason", r.reason), ("Raw text", r.raw)):
            n = _too_long(v)
            if n:
                raise ExcelLimitError(f"{_where(r.source)} (a rejected row), Rejected sheet column {name!r}: the "
                                      f"text is {n:,} characters long, more than the {EXCEL_CELL_CHARS:,} an Excel "
                                      "cell holds; repair or remove that row of the statement and run the fill again")


def _where(source) -> str:
    return str(source)  # file, section, row


__all__ = ["EXCEL_CELL_CHARS", "EXCEL_ROWS", "ExcelLimitError", "SPEC", "check_rejected", "check_statement",
           "check_table_rows", "check_trades", "header_row", "reading_limits", "trade_room"]
