"""MetaTrader 5 "Trade History Report" (HTML or native XLSX, written by the MT5 terminal).

The terminal translates section titles, column headings and summary labels into its own language
and writes HTML as UTF-16LE with a BOM. So this reader finds everything by STRUCTURE, never by
English words:

* the header rows (label, value) before the first section; the account is the value shaped
  ``login (CCY, Server, demo|real, Hedge|Netting)`` and the company is the row after it;
* a section title is a row with a single text cell followed by a column-heading row of 8 or more
  cells; the sections come in a fixed order: Positions, Orders, Deals, Open Positions (and, in some
  builds, Working Orders);
* columns are taken by position, counted from the start (Time, Ticket, Symbol, Type, ...) and from
  the end (..., Commission, Swap, Profit), which survives the optional hidden columns (the
  position's comment in Positions, "Cost" in the newer Deals layout);
* data rows start with a ``yyyy.MM.dd HH:mm[:ss]`` date; total rows have an empty first cell;
* the trade tables end at the first row of another shape: the account summary (balance is the
  first figure, equity the last one-figure row), then the Results block (the row whose first three
  figures satisfy net = gross profit + gross loss gives "Total Net Profit"; the row ``N, a (x%),
  b (y%)`` with a + b = N gives "Total Trades").

Positions become closed trades (with S/L, T/P), Open Positions open trades; Orders rows are
NonTradeRow "order" (never trades), Deals rows NonTradeRow "deal" except balance-type deals
(BalanceEvent plus NonTradeRow "deposit"/"withdrawal"/"credit"/...). The ``[sl ...]``, ``[tp ...]``
and ``[so ...]`` (stop-out) comments of closing deals are appended to the comment of the position
they closed (matched by symbol, price and time, or by time for a position closed by several deals);
an unmatched stop-out stays a NonTradeRow "stop out".

``SourceRef.row`` is the 1-based ``<tr>`` index in the HTML document, or the worksheet row.

Partial closes, scale-ins and flips: a journal row is a row of the Positions table, as MetaTrader
prints it. MetaQuotes documents that row (terminal build 1525, "trading history as positions") as
combining a position's deals: open and close time of the first and last deal, the volume-weighted
average open price (a netting account's scale-ins) and close price (partial closes), the deals'
money summed, and, when part of the position was closed, the volume as ``closed / initial``. The
reader takes the closed volume and flags the row. If the same ticket is also in Open Positions
(the rest still open), the two become one open trade whose flags name the closed volume, price and
realised P/L: the journal keys on the ticket, and replaces the open row when a later report shows
the position closed. Reconciled: the Positions' net P/L (plus such realised parts) against Results
"Total Net Profit", and the Positions' profit against the profit of the closing (out) deals, which
shows a partial close missing from Positions. The real reports checked hold no partial close,
scale-in or flip; the tests' reports with them are written in the real reports' layout.
"""

from __future__ import annotations

import bisect
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl.utils import get_column_letter

from .model import (
    BalanceEvent,
    NonTradeRow,
    RejectedRow,
    SourceRef,
    Statement,
    StatementError,
    StatementTotals,
    Trade,
)
from .mt4_html import collector_paused, decode_html, parse_html_rows, short_reason
from defusedxml import DefusedXmlException

from .ledger import Ledger, check_total, settle
from .safety import check_zip
from .parsing import parse_datetime, parse_number, parse_optional_number

FORMAT = "mt5_report"
DESCRIPTION = "MetaTrader 5 Trade History Report, HTML or XLSX saved from the MT5 terminal (any language)"

DATE_FORMATS = ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M")
POSITIONS, ORDERS, DEALS, OPEN_POSITIONS, WORKING_ORDERS = (
    "Positions", "Orders", "Deals", "Open Positions", "Working Orders")
# The fixed order of the report's tables, and the fewest columns each must have.
_SECTION_ORDER = (POSITIONS, ORDERS, DEALS, OPEN_POSITIONS, WORKING_ORDERS)
_MIN_COLUMNS = {POSITIONS: 13, ORDERS: 10, DEALS: 13, OPEN_POSITIONS: 11, WORKING_ORDERS: 8}

_ACCOUNT = re.compile(
    r"(\d+)\s*\(\s*([A-Za-z]{3})\s*,\s*([^,()]*?)\s*,\s*([^,()]*?)\s*(?:,\s*([^,()]*?)\s*)?\)")
_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}(:\d{2})?$")
_TICKET = re.compile(r"^\d+$")
_COUNT_PCT = re.compile(r"^(\d+)\s*\(\s*-?[\d.,]+\s*%\s*\)$")
_SIDES = {"buy": "long", "sell": "short"}
_CLOSING = {"out", "in/out", "out by", "inout", "in out"}

EXPECTED = ("a MetaTrader 5 Trade History Report (HTML or XLSX: header with the account "
            "'login (CCY, server, ...)', then the Positions, Orders and Deals tables and the "
            "account summary)")


# --------------------------------------------------------------------------- rows


@dataclass
class _Row:
    """One row of the report, as the cells it shows (HTML) or the worksheet values (XLSX)."""

    number: int  # 1-based <tr> index / worksheet row
    cells: list  # visible cells, text (HTML) or value (XLSX); XLSX: one per column
    hidden: list[str] = field(default_factory=list)  # HTML cells of class "hidden"
    xlsx: bool = False

    @property
    def texts(self) -> list[str]:
        return [_text(v) for v in self.cells]

    @property
    def nonempty(self) -> list:
        return [v for v in self.cells if _text(v)]

    def raw(self) -> str:
        return " | ".join(t for t in self.texts if t) if self.xlsx else " | ".join(self.texts)

    def is_title(self) -> bool:
        """A single text cell (section or block title)."""
        ne = self.nonempty
        if len(ne) != 1 or not isinstance(ne[0], str) or _is_number(ne[0]) or _DATE.match(_text(ne[0])):
            return False
        if self.xlsx:
            return _text(self.cells[0]) != ""
        return len(self.cells) == 1

    def is_heading(self) -> bool:
        """A column-heading row: 8 or more text cells, at most one of them (a damaged one) a figure
        or a date; a table's rows have four figures or more (ticket, volume, price, profit)."""
        ne = self.nonempty
        return len(ne) >= 8 and sum(1 for v in ne if not isinstance(v, str) or _DATE.match(_text(v))
                                    or _is_number(v)) <= 1

    def is_title_slot(self) -> bool:
        """The row above a column-heading row is the table's title: a title, or one damaged (a
        single cell of any text, or emptied)."""
        return self.is_title() or len(self.nonempty) <= 1

    def starts_with_date(self) -> bool:
        return bool(self.cells) and (isinstance(self.cells[0], datetime)
                                     or bool(_DATE.match(_text(self.cells[0]))))


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, datetime):
        return v.strftime("%Y.%m.%d %H:%M:%S")
    return " ".join(str(v).replace("\u00a0", " ").split())


def _is_number(v) -> bool:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True
    if not isinstance(v, str) or not v.strip() or v.strip().startswith("="):
        return False
    try:
        parse_number(v)
    except ValueError:
        return False
    return True


def _html_rows(path: Path) -> list[_Row]:
    html_rows, _ = parse_html_rows(path, EXPECTED, classes=True)
    rows = []
    for i, hr in enumerate(html_rows, 1):
        if hr.hidden:
            visible = [t for k, t in enumerate(hr.texts) if k not in hr.hidden]
            hidden = [hr.texts[k] for k in hr.hidden]
        else:
            visible, hidden = hr.texts, []
        rows.append(_Row(i, visible, hidden))
    return rows


def _xlsx_rows(path: Path) -> list[_Row]:
    import openpyxl

    check_zip(path, EXPECTED)  # sizes from the zip directory, before anything is extracted
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises a variety of errors on damaged files
        cause = exc
        while cause is not None and not isinstance(cause, DefusedXmlException):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:  # openpyxl parses through defusedxml: a DTD or entity was refused
            raise StatementError(str(path), f"cannot open as an Excel workbook: its XML declares a DTD or "
                                            f"entities ({type(cause).__name__}), which a terminal export never "
                                            f"does; refused unread; expected {EXPECTED}") from None
        if isinstance(exc, (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError)):
            raise StatementError(str(path), f"cannot open as an Excel workbook ({exc}); expected {EXPECTED}") from None
        raise StatementError(str(path), f"cannot open as an Excel workbook ({type(exc).__name__}: {exc}); "
                                        f"expected {EXPECTED}") from None
    ws = wb.worksheets[0]
    rows = []
    for n, row in enumerate(ws.iter_rows(values_only=True), 1):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        rows.append(_Row(n, values, xlsx=True))
    return rows


# --------------------------------------------------------------------------- sniff


def sniff(path: Path, head: bytes) -> bool:
    if head.startswith(b"PK\x03\x04"):
        check_zip(Path(path), EXPECTED)  # a zip bomb is refused here, before openpyxl opens it
        try:
            return _sniff_xlsx(Path(path))
        except Exception:
            return False
    text = decode_html(head)
    low = text.lower()
    if not ("<html" in low or "<table" in low) or "closed transactions:" in low:
        return False
    return bool(_ACCOUNT.search(" ".join(re.sub(r"<[^>]+>", " ", text.replace("&nbsp;", " ")).split())))


def _sniff_xlsx(path: Path) -> bool:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(min_row=1, max_row=12, values_only=True):
            for v in row:
                if isinstance(v, str) and _ACCOUNT.fullmatch(_text(v)):
                    return True
        return False
    finally:
        wb.close()


# --------------------------------------------------------------------------- read


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise StatementError(file, f"cannot open: {exc.strerror or exc}") from None
    with collector_paused():
        rows = _xlsx_rows(path) if head.startswith(b"PK") else _html_rows(path)
        return _Reader(file, rows).read()


class _Reader:
    def __init__(self, file: str, rows: list[_Row]):
        self.file = file
        self.rows = rows
        self.trades: list[Trade] = []
        self.balance_events: list[BalanceEvent] = []
        self.non_trades: list[NonTradeRow] = []
        self.rejected: list[RejectedRow] = []
        self.closing_deals: list[tuple[_Row, str, str, float, float, datetime, str]] = []
        self.out_deal_profit: list[float] = []  # Profit of every closing (out) deal read
        self.last_balance: float | None = None
        self.broker = "MetaTrader 5"
        self.account = ""
        self.currency: str | None = None
        self.ledger = Ledger(file)
        self.headings: dict[str, list[str]] = {}  # column headings of each table, by position
        # rejected Deals rows whose Order ticket could be read: ticket -> (row, reason). The position
        # that ticket opened depends on the deal and is rejected with it (see _reject_dependents).
        self.rejected_deals: dict[str, tuple[int, str]] = {}
        # rejected rows that the Results' Total Net Profit counts: (row, net amount or None)
        self.rejected_pnl: list[tuple[int, float | None]] = []

    # ---- helpers
    def ref(self, row: _Row, section: str) -> SourceRef:
        return SourceRef(file=self.file, row=row.number, section=section)

    def non_trade(self, kind: str, row: _Row, section: str, text: str = "") -> None:
        self.non_trades.append(NonTradeRow(kind=kind, source=self.ref(row, section), text=text))

    def reject(self, row: _Row, section: str, reason: str) -> None:
        self.rejected.append(RejectedRow(source=self.ref(row, section), reason=reason, raw=row.raw()))

    def fail(self, message: str) -> StatementError:
        return StatementError(self.file, f"{message}; expected {EXPECTED}")

    # ---- structure
    def read(self) -> Statement:
        rows = self.rows
        starts = [k for k in range(len(rows) - 1) if rows[k + 1].is_heading() and rows[k].is_title_slot()]
        start_set = set(starts)
        if not starts:
            raise self.fail("no report tables found (a title row followed by column headings)")
        self._header(rows[:starts[0]])
        if not self.account:
            raise self.fail("no account line 'login (CCY, server, ...)' above the first table")

        k = starts[0]
        sections_seen: list[str] = []
        end = None
        while k < len(rows):
            row = rows[k]
            if k in start_set:
                if len(sections_seen) == len(_SECTION_ORDER):
                    raise self.fail(f"more tables than expected (row {row.number})")
                section = _SECTION_ORDER[len(sections_seen)]
                sections_seen.append(section)
                heading = rows[k + 1]
                self.ledger.see(section, row.number)
                self.ledger.see(section, heading.number)
                self.non_trade("header", row, section, row.raw())
                self.non_trade("header", heading, section, heading.raw())
                columns = self._columns(section, heading)
                self.headings[section] = [_text(v) for v in self._values(heading, columns)]
                k += 2
                continue
            # Every row up to the next table's title belongs to this table: a row that cannot be
            # read is rejected and the rows after it are still read. Only the last table ends at
            # the first row that is not shaped like its rows (the account summary).
            in_last_table = len(sections_seen) == len(starts)
            blank = not row.nonempty
            dated = not blank and row.starts_with_date()
            # a total row has an empty first cell and a few figures; a row shaped like the table's rows
            # whose time cell is empty is a damaged trade row, rejected below, never a total
            subtotal = (not blank and not dated and _text(row.cells[0]) == ""
                        and any(_is_number(v) or _text(v).startswith("=") for v in row.cells)
                        and not self._data_shaped(row, columns))
            if in_last_table and not (blank or dated or subtotal or self._data_shaped(row, columns)):
                end = k
                break
            self.ledger.see(sections_seen[-1], row.number)
            if blank:
                self.non_trade("blank", row, sections_seen[-1])
            elif dated:
                self._data_row(sections_seen[-1], row, columns)
            elif subtotal:
                self.non_trade("subtotal", row, sections_seen[-1], row.raw())
            else:
                section = sections_seen[-1]
                first = self.headings.get(section, ["Time"])[0] or "Time"
                reason = (f"column 1 ({first}): {row.texts[0]!r} is not a date/time (yyyy.MM.dd HH:mm:ss)"
                          if row.texts and row.texts[0] else
                          f"column 1 ({first}) is empty in a row shaped like the table's rows"
                          if self._data_shaped(row, columns) else
                          "a row of this table that is neither a trade row, a total nor blank")
                self.reject(row, section, reason)
                self._note_rejected(section, row, columns, reason)
            k += 1
        missing = [s for s in (POSITIONS, ORDERS, DEALS) if s not in sections_seen]
        if missing:
            raise self.fail(f"the file ends before the {', '.join(missing)} table(s) (truncated?)")
        if end is None:
            raise self.fail(f"the file ends inside the {sections_seen[-1]} table, before the account "
                            "summary (truncated?)")
        lost = next((r for r in rows[end:] if r.starts_with_date() and self._data_shaped(r, columns)), None)
        if lost is not None:  # the summary holds no dated rows: a table's title and headings are damaged
            raise self.fail(f"row {lost.number}, below the {sections_seen[-1]} table, looks like a trade row but "
                            "belongs to no table (a damaged table title or column headings?); nothing imported")
        self._reject_dependents()
        self._attach_deal_notes()
        listed = sum(1 for t in self.trades if t.source.section == POSITIONS) + sum(
            1 for r in self.rejected if r.source.section == POSITIONS)
        positions_profit = round(sum(t.profit for t in self.trades if t.source.section == POSITIONS), 2)
        partly_rows, partly_net = self._combine_partly_closed()
        totals, stated_count = self._totals(rows[end:])
        statement = Statement(
            file=self.file, format=FORMAT, broker=self.broker, account=self.account,
            account_currency=self.currency, leverage=None, trades=self.trades,
            balance_events=self.balance_events, non_trades=self.non_trades,
            rejected=self.rejected, totals=totals)
        if stated_count is not None and listed < stated_count:
            raise StatementError(
                self.file, f"the Results say Total Trades {stated_count}, but the Positions table lists only "
                           f"{listed} rows (read or rejected): rows are missing, so the file is damaged or cut; "
                           "nothing imported")
        closed = [t for t in self.trades if t.source.section == POSITIONS]
        closed_net = round(sum(t.net_profit for t in closed) + partly_net, 2)
        return settle(statement, self.ledger, extra_trade_rows=partly_rows, checks=[
            check_total("closed trades", stated_count, listed, unit="trades", source="Results: Total Trades"),
            check_total("closed trade P/L", totals.closed_pnl, closed_net, tolerance=0.011,
                        unit=self.currency or "", source="Results: Total Net Profit", rejected=self.rejected_pnl),
            check_total("positions' profit", round(sum(self.out_deal_profit), 2) if self.out_deal_profit else None,
                        positions_profit, tolerance=0.011, unit=self.currency or "",
                        source="Deals: Profit of the closing (out) deals", rejected=self.rejected_pnl),
        ])

    def _header(self, rows: list[_Row]) -> None:
        pairs = [[_text(v) for v in r.nonempty] for r in rows]
        pairs = [p for p in pairs if len(p) == 2]
        for n, (_, value) in enumerate(pairs):
            m = _ACCOUNT.fullmatch(value)
            if m:
                self.account, self.currency = m.group(1), m.group(2).upper()
                if n + 1 < len(pairs) and not _DATE.match(pairs[n + 1][1]):
                    self.broker = pairs[n + 1][1]
                return

    def _columns(self, section: str, heading: _Row) -> list[int]:
        """The section's columns: visible-cell positions (HTML) or worksheet column indexes of the
        non-empty headings (XLSX, where a heading may span merged columns)."""
        if heading.xlsx:
            columns = [i for i, v in enumerate(heading.cells) if _text(v)]
        else:
            columns = list(range(len(heading.cells)))
        if len(columns) < _MIN_COLUMNS[section]:
            raise self.fail(f"table {_SECTION_ORDER.index(section) + 1} ({section}) has "
                            f"{len(columns)} columns, expected at least {_MIN_COLUMNS[section]} "
                            f"(row {heading.number})")
        return columns

    def _values(self, row: _Row, columns: list[int]) -> list:
        if row.xlsx:
            return [row.cells[i] if i < len(row.cells) else None for i in columns]
        return row.cells

    def _data_shaped(self, row: _Row, columns: list[int]) -> bool:
        """Has about as many filled cells as the table's rows (a damaged row, not the summary)."""
        filled = sum(1 for v in self._values(row, columns) if _text(v))
        return filled >= max(4, len(columns) // 2)

    # ---- rows
    def _data_row(self, section: str, row: _Row, columns: list[int]) -> None:
        v = self._values(row, columns)
        if len(v) != len(columns):
            reason = f"expected {len(columns)} cells like the column headings, found {len(v)}"
            self.reject(row, section, reason)
            self._note_rejected(section, row, columns, reason)
            return
        if row.xlsx:
            headed = set(columns)
            stray = next((i for i, x in enumerate(row.cells) if i not in headed and _text(x)), None)
            if stray is not None:  # the heading above it was damaged: its figures cannot be placed
                reason = (f"column {get_column_letter(stray + 1)}: {_text(row.cells[stray])!r} stands under no column heading "
                          f"(is the {section} heading row damaged?)")
                self.reject(row, section, reason)
                self._note_rejected(section, row, columns, reason)
                return
        try:
            if section == POSITIONS:
                self.trades.append(self._position(row, v, closed=True))
            elif section == OPEN_POSITIONS:
                self.trades.append(self._position(row, v, closed=False))
            elif section == ORDERS:
                state, comment = _text(v[-2]), _text(v[-1])
                self.non_trade("order", row, section, " ".join(
                    t for t in (_text(v[3]), _text(v[4]), _text(v[2]), "@", _text(v[5]), state, comment) if t))
            elif section == DEALS:
                self._deal(row, v)
            else:
                self.non_trade("working order", row, section, row.raw())
        except ValueError as exc:  # includes pydantic's ValidationError
            reason = short_reason(exc)
            self.reject(row, section, reason)
            self._note_rejected(section, row, columns, reason)

    def _note_rejected(self, section: str, row: _Row, columns: list[int], reason: str) -> None:
        """What a rejected row takes with it: a Deals row's Order ticket (the position it opened is
        rejected too), a Positions row's net amount (named if the Total Net Profit then differs)."""
        v = self._values(row, columns)
        if len(v) != len(columns):
            if section == POSITIONS:
                self.rejected_pnl.append((row.number, None))
            return
        if section == DEALS:
            order = _text(v[7])
            if _TICKET.match(order):
                self.rejected_deals.setdefault(order, (row.number, reason))
        elif section == POSITIONS:
            try:
                amount = round(sum(parse_number(x) for x in (v[-3], v[-2], v[-1]) if _text(x)), 2)
            except ValueError:
                amount = None
            self.rejected_pnl.append((row.number, amount))

    def _reject_dependents(self) -> None:
        """Reject each position whose opening deal (the Deals row whose Order is the position's ticket)
        was rejected: the position's figures cannot be checked against a deal that could not be read."""
        if not self.rejected_deals:
            return
        kept = []
        for t in self.trades:
            hit = self.rejected_deals.get(t.trade_id)
            if hit is None:
                kept.append(t)
                continue
            deal_row, why = hit
            self.rejected.append(RejectedRow(
                source=t.source, raw=f"{t.trade_id} {t.symbol} {t.side} {t.quantity:g} @ {t.entry:g}",
                reason=f"position {t.trade_id} depends on the Deals row {deal_row}, which was rejected ({why}); "
                       "repair that row and import the file again"))
            if t.source.section == POSITIONS:
                self.rejected_pnl.append((t.source.row, round(t.net_profit, 2) if t.net_profit is not None else None))
        self.trades = kept

    def _cell(self, section: str, v: list, k: int, parse):
        """``parse(v[k])``, its ValueError naming the column (number and heading) and the bad text."""
        try:
            return parse(v[k])
        except ValueError as exc:
            pos = k % len(v)
            heads = self.headings.get(section, [])
            head = f" ({heads[pos]})" if pos < len(heads) and heads[pos] else ""
            raise ValueError(f"column {pos + 1}{head}: {short_reason(exc)}") from None

    def _position(self, row: _Row, v: list, closed: bool) -> Trade:
        section = POSITIONS if closed else OPEN_POSITIONS
        cell = lambda k, parse: self._cell(section, v, k, parse)  # noqa: E731
        kind = _text(v[3]).lower()
        if kind not in _SIDES:
            raise ValueError(f"column 4 (Type): {_text(v[3])!r} is not buy or sell")
        if closed:
            close_time = cell(-5, _when)
            exit_, commission = cell(-4, parse_number), cell(-3, parse_number)
            swap, profit = cell(-2, parse_number), cell(-1, parse_number)
            comment = " ".join(h for h in row.hidden if h)
            flags = _partly_closed_flags(v[4])
        else:
            close_time = exit_ = profit = None
            commission = 0.0
            swap = cell(-3, parse_optional_number) or 0.0
            comment = _text(v[-1])
            flags = ()
        stop, target = cell(6, parse_optional_number), cell(7, parse_optional_number)
        return Trade(
            broker=self.broker, account=self.account, trade_id=_text(v[1]), symbol=_text(v[2]),
            side=_SIDES[kind], quantity=cell(4, _volume), entry=cell(5, parse_number),
            open_time=cell(0, _when), close_time=close_time,
            exit=exit_, stop=stop or None, target=target or None, commission=commission,
            swap=swap, profit=profit, account_currency=self.currency, comment=comment, flags=flags,
            source=self.ref(row, section))

    def _deal(self, row: _Row, v: list) -> None:
        cell = lambda k, parse: self._cell(DEALS, v, k, parse)  # noqa: E731
        when = cell(0, _when)
        kind, direction, comment = _text(v[3]).lower(), _text(v[4]).lower(), _text(v[-1])
        balance = cell(-2, parse_optional_number)
        if kind in _SIDES:
            # every figure of a trade deal is read, so a damaged one is rejected with its column
            cell(5, _volume)
            price = cell(6, parse_number)
            order = _text(v[7])
            if order and not _TICKET.match(order):
                raise ValueError(f"column 8 ({self._heading(DEALS, 7) or 'Order'}): {order!r} is not a ticket number")
            for k in range(8, len(v) - 2):  # Commission, (Fee,) Swap, Profit: a figure or empty
                cell(k, _blank_or_number)
            if balance is not None:
                self.last_balance = balance
            if direction in _CLOSING:
                self.out_deal_profit.append(parse_optional_number(v[-3]) or 0.0)
            if direction in _CLOSING and comment.startswith("["):
                self.closing_deals.append((row, _text(v[2]), kind, price, _volume(v[5]), when, comment))
            self.non_trade("deal", row, DEALS, " ".join(
                t for t in (kind, direction, _text(v[5]), _text(v[2]), "@", _text(v[6]), comment) if t))
            return
        amount = cell(-3, parse_number)
        if balance is not None:
            self.last_balance = balance
        if kind == "balance":
            event = "deposit" if amount >= 0 else "withdrawal"
        else:
            event = kind or "adjustment"
        self.balance_events.append(BalanceEvent(time=when, amount=amount, kind=event, source=self.ref(row, DEALS)))
        self.non_trade(event, row, DEALS, f"{comment} {amount:+.2f}".strip())

    def _heading(self, section: str, pos: int) -> str:
        heads = self.headings.get(section, [])
        return heads[pos] if pos < len(heads) else ""

    def _attach_deal_notes(self) -> None:
        """Append closing-deal comments ([sl ...], [tp ...], [so ...]) to the position they closed:
        same symbol, the side the deal closes, closed within 60 s of the deal, and the deal's price
        equal to the position's close price; failing that (a position closed by several deals,
        whose close price is their volume-weighted average), a position larger than the deal."""
        by_price: dict[tuple[str, float], list[int]] = {}
        by_time: dict[str, list[tuple[datetime, int]]] = {}
        for n, t in enumerate(self.trades):
            if t.exit is not None:
                by_price.setdefault((t.symbol, round(t.exit, 8)), []).append(n)
                by_time.setdefault(t.symbol, []).append((t.close_time, n))
        for times in by_time.values():
            times.sort()
        window = timedelta(seconds=60)
        for row, symbol, kind, price, volume, when, comment in self.closing_deals:
            closes = "short" if kind == "buy" else "long"

            def nearest(candidates, fits) -> int | None:
                best, best_gap = None, None
                for n in candidates:
                    t = self.trades[n]
                    gap = abs((t.close_time - when).total_seconds())
                    if t.side == closes and gap <= 60 and comment not in t.comment and fits(t) \
                            and (best_gap is None or gap < best_gap):
                        best, best_gap = n, gap
                return best

            best = nearest(by_price.get((symbol, round(price, 8)), []), lambda t: True)
            if best is None:
                times = by_time.get(symbol, [])
                lo = bisect.bisect_left(times, (when - window, -1))
                hi = bisect.bisect_right(times, (when + window, len(self.trades)))
                best = nearest((n for _, n in times[lo:hi]), lambda t: volume < t.quantity * (1 - 1e-9))
            if best is not None:
                t = self.trades[best]
                self.trades[best] = t.model_copy(update={"comment": f"{t.comment} {comment}".strip()})
            elif comment.startswith("[so"):
                # not matched to a position: keep the stop-out visible as its own row
                for k, nt in enumerate(self.non_trades):
                    if nt.source.row == row.number and nt.source.section == DEALS:
                        self.non_trades[k] = nt.model_copy(update={"kind": "stop out"})
                        break

    # ---- partial closes
    def _combine_partly_closed(self) -> tuple[list[tuple[str, int]], float]:
        """One journal row per position: a position partly closed and still open (its ticket both
        in Positions, with the closed volume, and in Open Positions, with the rest) becomes the open
        trade of the Open Positions row, the closed part (volume, average close price, time, net
        P/L) named in its flags; returns the Positions rows so merged (trade rows of the ledger
        without being a trade's source) and their net P/L (for the "closed trade P/L" check).

        Why: the journal keys a trade on its ticket, so two rows with one ticket would keep one of
        them; as an open trade, the position is replaced by its closed row (the whole volume and
        P/L, as the Positions table then shows it) when a later report has it closed."""
        open_at = {t.trade_id: k for k, t in enumerate(self.trades) if t.source.section == OPEN_POSITIONS}
        merged_rows: list[tuple[str, int]] = []
        net = 0.0
        keep: list[Trade] = []
        for t in self.trades:
            k = open_at.get(t.trade_id) if t.source.section == POSITIONS else None
            if k is None or (self.trades[k].symbol, self.trades[k].side) != (t.symbol, t.side):
                keep.append(t)
                continue
            o = self.trades[k]
            ccy = f" {self.currency}" if self.currency else ""
            note = (f"partly closed: {t.quantity:g} of {t.quantity + o.quantity:g} lots closed at {t.exit:g} (average) "
                    f"by {t.close_time:%Y.%m.%d %H:%M:%S}, realised {t.net_profit:+.2f}{ccy} after commission and "
                    f"swap (Positions row {t.source.row}; counted when the position closes)")
            self.trades[k] = o.model_copy(update={"flags": tuple(dict.fromkeys((*o.flags, note)))})
            merged_rows.append((POSITIONS, t.source.row))
            net += t.net_profit
        if merged_rows:
            self.trades = [self.trades[open_at[t.trade_id]] if t.source.section == OPEN_POSITIONS else t
                           for t in keep]
        return merged_rows, net

    # ---- totals
    def _totals(self, rows: list[_Row]) -> tuple[StatementTotals, int | None]:
        summary: list[list] = []
        results: list[list] = []
        target = summary
        for row in rows:
            if row.is_title() and summary:
                target = results
                continue
            figures = [v for v in row.cells if _figure(v)]
            if figures:
                target.append(figures)
        if not summary:
            raise self.fail("no account summary (Balance, Equity ...) after the tables (truncated?)")
        balance = _num(summary[0][0])
        equity = next((_num(f[0]) for f in reversed(summary) if len(f) == 1), None)
        if balance is None and self.last_balance is not None:
            balance = self.last_balance
        net, count = None, None
        for figs in results:
            nums = [_num(f) for f in figs]
            if net is None and len(nums) >= 3 and None not in nums[:3] \
                    and abs(nums[0] - (nums[1] + nums[2])) < 0.015:
                net = nums[0]
            texts = [_text(f) for f in figs]
            if count is None and len(texts) >= 3 and _TICKET.match(texts[0]):
                a, b = _COUNT_PCT.match(texts[1]), _COUNT_PCT.match(texts[2])
                if a and b and int(a.group(1)) + int(b.group(1)) == int(texts[0]):
                    count = int(texts[0])
        if net is None and results:
            # an XLSX whose "Total Net Profit" is a formula without a cached value: the first
            # Results row then shows only Gross Profit and Gross Loss, and net is their sum
            first = [_num(f) for f in results[0]]
            if len(first) == 2 and None not in first:
                net = round(first[0] + first[1], 2)
            elif first:
                net = first[0]
        stated_count = count
        if count is None:
            count = sum(1 for t in self.trades if t.source.section == POSITIONS) + sum(
                1 for r in self.rejected if r.source.section == POSITIONS)
        return StatementTotals(closed_trades=count, closed_pnl=net, balance=balance, equity=equity), stated_count


def _figure(v) -> bool:
    """A figure of the summary/results blocks: a number, or 'N (x%)'-like text."""
    if _is_number(v):
        return True
    t = _text(v)
    return bool(t) and bool(re.match(r"^-?[\d\s.,]+(\s*\(.*\))?%?$", t)) and any(ch.isdigit() for ch in t)


def _num(v) -> float | None:
    try:
        return parse_number(v)
    except ValueError:
        return None


def _partly_closed_flags(v) -> tuple[str, ...]:
    """A Positions volume ``closed / initial`` with less closed than opened: MetaTrader prints a
    partly closed position so (the row's prices and money are those of the closed part)."""
    t = _text(v)
    if "/" not in t:
        return ()
    closed, initial = (parse_number(x) for x in t.split("/", 1))
    if closed < initial * (1 - 1e-9):
        return (f"partly closed: {closed:g} of {initial:g} lots closed in this report (the row's prices and "
                "P/L are those of the closed part)",)
    return ()


def _blank_or_number(v) -> float | None:
    """An empty cell is None; anything else must be a number (no "n/a": the terminal prints 0.00)."""
    return None if _text(v) == "" else parse_number(v)


def _when(v) -> datetime:
    """A cell's date/time: a worksheet datetime as it is, text as ``yyyy.MM.dd HH:mm[:ss]``."""
    if isinstance(v, datetime):
        return v
    return parse_datetime(_text(v), DATE_FORMATS)


def _volume(v) -> float:
    """'0.02', 0.1, or '0.02 / 0.02' (filled / requested) -> the first figure."""
    t = _text(v)
    return parse_number(t.split("/")[0]) if isinstance(v, str) else parse_number(v)


__all__ = ["FORMAT", "DESCRIPTION", "sniff", "read"]
