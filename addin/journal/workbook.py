"""Build the trade journal workbook from a list of trades: ONE function, :func:`build_journal`.

The template (``python -m addin template``) is ``build_journal(path, [])``; the batch fill calls the
same function with the trades it read. Each sheet is one module with a ``build(book)`` function;
:data:`SHEETS` lists them in the order the workbook shows them. To add a sheet, write its module
(``TITLE`` and ``build(book: layout.Book)``; read the Trades figures from ``book.cols``, record
formula cells with ``book.sheet(TITLE).formula(coord, formula, cached)``) and add it to
:data:`SHEETS`.

Data flows one way: trades -> the Trades columns, computed once by the column twins from
:mod:`addin.risk` (:func:`columns.compute`) -> every sheet. The Excel layer (``addin.udfs``) is not
used here: the journal's add-in cells (Dashboard, Planner) get their cached values from
:mod:`addin.risk`, the functions the add-in calls.

How the file is written
-----------------------
openpyxl builds every sheet except the Trades rows (its normal mode holds every cell in memory and
is slow for 100,000 trades). The Trades sheet gets its header and one prototype row of styled empty
cells; after openpyxl has serialised the workbook into memory, the package is copied into the
target zip and the Trades ``<sheetData>`` is streamed in (:func:`trades.write_part`), each cell with
its style, formula and cached value. Cached values of every other formula cell are recorded while
building (:class:`layout.Sheet`) and spliced into the serialised sheet XML.

Every formula cell carries the value the Python twins compute, so readers that do not calculate
(previewers, pandas, openpyxl ``data_only``) show what Excel shows, and an engine that recalculates
(LibreOffice, Google Sheets, Excel) lands on the same numbers.

Calculation properties (``<calcPr>``): ``calcId="191029"``, ``fullCalcOnLoad`` absent
------------------------------------------------------------------------------------------------
openpyxl writes ``calcId=124519`` (Excel 2007's engine) with ``fullCalcOnLoad="1"``: either makes
Excel recalculate every formula on opening and mark the workbook dirty. The cached values written
here are what the formulas compute, so we write the current engine's id, 191029 (Excel 2019, 2021,
Microsoft 365), and no ``fullCalcOnLoad``. A full recalculation (an older Excel, Ctrl+Alt+F9) is
cheap anyway: the Trades rows are native formulas, and the add-in is called by a constant number
of cells (see bench/bench_recalc.py). The journal uses no volatile function (TODAY, OFFSET, INDIRECT).

Text from a statement is never written as a formula: every string cell is an explicit text cell
(inline string), whatever its first character (``=``, ``+``, ``-``, ``@``).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Collection, Sequence
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.properties import CalcProperties
from openpyxl.writer.excel import ExcelWriter

from ..statements.model import BalanceEvent, RejectedRow, Trade
from . import account, caps, cash, dashboard, ledger, planner, plans, rejected, settings as settings_sheet, stats
from . import trades as trades_sheet
from . import columns as C
from . import instruments as instruments_sheet
from . import accounts as accounts_mod
from .cash import CASH_COLUMNS, cash_rows
from .instruments import DEFAULT_INSTRUMENTS, INSTRUMENT_COLUMNS, Instrument
from .layout import (Book, clean_text, column_widths, excel_serial, format_source, plausible_width, text_width,
                     values_width)
from .rejected import REJECTED_COLUMNS
from .settings import SETTINGS_CELLS, STATED, Settings, default_mark

__all__ = ["CALC_ID", "CASH_COLUMNS", "INSTRUMENT_COLUMNS", "REJECTED_COLUMNS", "SHEETS", "build_journal",
           "clean_text", "excel_serial", "format_source"]

CALC_ID = 191029
FIXED_TIME = datetime(2025, 1, 1)
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
CONF = C.schema.CONF_SHEET


def _conf(book: Book) -> None:
    """The hidden sheet that tells xlwings which module holds the add-in's functions."""
    s = book.sheet(CONF)
    s.text("A1", "UDF MODULES")
    s.text("B1", "addin.udfs")
    s.ws.sheet_state = "hidden"


# (title, build) in the order the workbook shows the sheets; each build(book) fills its sheet.
SHEETS: list[tuple[str, object]] = [
    (dashboard.TITLE, dashboard.build),
    (trades_sheet.TITLE, trades_sheet.build),
    (stats.TITLE, stats.build),
    (account.TITLE, account.build),  # before the Planner, which shows a plan among the open positions
    (cash.TITLE, cash.build),
    (planner.TITLE, planner.build),
    (plans.TITLE, plans.build),  # the plans recorded from the Planner, each against the trade it became
    (instruments_sheet.TITLE, instruments_sheet.build),
    (caps.TITLE, caps.build),
    (settings_sheet.TITLE, settings_sheet.build),
    (rejected.TITLE, rejected.build),
    (CONF, _conf),
    (ledger.TITLE, ledger.build),  # hidden: the keys of imported trades, so a trade the trader deleted is not imported again
]


def assumed_settings(settings: Settings) -> set[str]:
    """The template's rule: a setting a statement states (settings.STATED) that holds its default is
    marked as assumed (nobody stated it)."""
    return {f for f in STATED if getattr(settings, f) == Settings.model_fields[f].default}


TEXT_CAP = 30   # the widest a Trades text column is made (its value runs into the next cell otherwise)
SHEET_CAP = 40  # the widest a column of another sheet is made for its values


def sheet_widths(ws, cache: dict) -> dict[int, float]:
    """{column (1-based): width} a summary or side sheet needs (:func:`layout.column_widths`); the
    Account sheet's position columns at least the width of their :data:`layout.PLAUSIBLE` value,
    as they are empty until positions are open."""
    need = {c: min(w, SHEET_CAP) for c, w in column_widths(ws, cache).items()}
    if ws.title == account.TITLE:
        for j, (name, width, fmt, _) in enumerate(account.POSITION_COLUMNS):
            need[j + 1] = max(need.get(j + 1, 0), width, plausible_width(fmt),
                              *(text_width(word, bold=True) + 1.2 for word in name.split()))
    return need


def trades_widths(cols: dict[str, list], header: Sequence[str]) -> dict[int, float]:
    """{column (0-based, in ``header`` order): width} the Trades columns need: the widest value of
    each column as it shows (:func:`layout.values_width`), a number column at least its
    :data:`layout.PLAUSIBLE` width, and the longest word of its header (headers wrap between words)."""
    out = {}
    for j, name in enumerate(header):
        col = C.BY_NAME.get(name)
        if col is None:
            continue
        got = values_width(cols.get(name) or (), col.number_format)
        if col.kind == "text":  # ids, names, notes, file names: 30 wide at most, longer ones are cut in print
            got = min(got, TEXT_CAP)
        out[j] = max(got, col.width,
                     plausible_width(col.number_format) if col.kind in ("number", "calc", "figure", "date") else 0,
                     *(text_width(word, bold=True) + 1.2 for word in name.split()))
    return out


def fit_widths(book: Book) -> None:
    """Widen every column to its widest value as the cell shows it, so that no number prints as ###
    and no label is cut by the cell to its right (a fill widens them the same way: see
    addin/fill/trades_part.py and addin/fill/summary.py)."""
    for ws in book.wb.worksheets:
        if ws.title in (trades_sheet.TITLE, CONF, ledger.TITLE):
            continue
        for col, w in sheet_widths(ws, book.cache.get(ws.title, {})).items():
            dim = ws.column_dimensions[C.schema.letter(col - 1)]
            if w > (dim.width or 8.43):
                dim.width = round(min(w, 60), 1)
    ws = book.wb[trades_sheet.TITLE]
    for j, w in trades_widths(book.cols, [c.name for c in C.COLUMNS]).items():
        ws.column_dimensions[C.schema.letter(j)].width = round(min(w, 60), 1)


# Print setup by sheet: (orientation, pages wide, pages tall; 0 = as many as needed, None = a scale),
# then the rows and columns repeated on every page.
#
# * Dashboard and Planner: one page each, portrait.
# * Stats and Account: one page wide, as many pages tall as their rows need (the breakdown has a row
#   per symbol: 100 symbols do not fit a legible page).
# * Trades: every column, at 60 %, over as many pages as its width needs, the pages of the same rows
#   printed one after the other (over, then down); the header row and the Trade ID and No. columns
#   on every page, so each page says which trade a figure belongs to. At 60 % the 11-point text
#   prints 6.6 points (its words' boxes 8.6 points high): legible, where one page wide made it 2.
# * Plans: as Trades (its 25 columns one page wide would print at about 3 points), with its header
#   row and the Recorded and Symbol columns on every page.
# * Every other sheet: one page wide.
# Every page says its sheet (header, left) and its page number (footer, right).
PRINT = {
    dashboard.TITLE: ("portrait", 1, 1, None),
    planner.TITLE: ("portrait", 1, 1, None),
    stats.TITLE: ("landscape", 1, 0, None),
    account.TITLE: ("landscape", 1, 0, None),
    trades_sheet.TITLE: ("landscape", None, None, ("1:1", "A:B")),
    cash.TITLE: ("landscape", 1, 0, None),
    plans.TITLE: ("landscape", None, None, ("1:1", "A:B")),
    instruments_sheet.TITLE: ("portrait", 1, 0, ("1:1", None)),
    caps.TITLE: ("landscape", 1, 0, None),
    settings_sheet.TITLE: ("landscape", 1, 0, None),
    rejected.TITLE: ("landscape", 1, 0, ("1:1", None)),
}
TRADES_SCALE = 60


def print_setup(wb) -> None:
    """The print setup of every visible sheet (:data:`PRINT`); a fill keeps it (the summary sheets'
    page setup is copied as it was, the other sheets are edited cell by cell)."""
    for title, (orientation, wide, tall, titles) in PRINT.items():
        ws = wb[title]
        ws.page_setup.orientation = orientation
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        if wide is None:
            ws.sheet_properties.pageSetUpPr.fitToPage = False
            ws.page_setup.scale = TRADES_SCALE
            ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = None
            ws.page_setup.pageOrder = "overThenDown"
        else:
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = wide, tall
        if title == cash.TITLE:  # its rows grow with every fill: the used area, not a fixed print area
            ws.print_area = None
        if titles:
            ws.print_title_rows, cols = titles
            if cols:
                ws.print_title_cols = cols
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.page_margins.header = ws.page_margins.footer = 0.3
        ws.oddHeader.left.text = "&A"
        ws.oddFooter.right.text = "Page &P of &N"


def trade_columns(trades: Sequence[Trade], settings: Settings, instruments: Sequence[Instrument],
                  cash_events: Sequence[BalanceEvent], assumed: Collection[str] | None = None,
                  account_starts: dict[str, tuple[float | None, float | None]] | None = None,
                  account_leverages: dict[str, float] | None = None) -> tuple[dict[str, list], float]:
    """The Trades table column by column (inputs and every calculated column, via the twins) and
    CashFrom, for ``trades`` in row order and the Cash rows ``cash_events`` (table order);
    ``assumed``: the settings still the template's default (default :func:`assumed_settings`);
    ``account_starts``: {account key: (starting balance, Counted from serial)} stated for accounts
    other than the first, ``account_leverages`` {account key: leverage} likewise (see
    :func:`addin.journal.accounts.resolve`)."""
    cols = trades_sheet.input_columns(trades, instruments)
    inst_rows: dict[str, dict] = {}
    for i in reversed(instruments):  # MATCH finds the first row of a symbol
        inst_rows[i.symbol.upper()] = {"Asset class": i.asset_class, "Contract size": i.contract_size,
                                       "Pip size": i.pip_size, "Margin rate": i.margin_rate,
                                       "Quote currency": i.quote_currency}
    serials = {k: [excel_serial(v) if isinstance(v, (datetime, date)) else v for v in cols[k]]
               for k in ("Open time", "Close time")}
    cash_from = C.first_trade_time(C.first_account_opens(
        [{"Entry": e, "Broker": b, "Account": a, "Open time": t}
         for e, b, a, t in zip(cols["Entry"], cols["Broker"], cols["Account"], serials["Open time"])]))
    assumed = assumed_settings(settings) if assumed is None else set(assumed)
    work = dict(cols)
    work.update(serials)
    accounts, home = accounts_mod.block_env(work, settings, {"stated": account_starts or {},
                                                             "lev_stated": account_leverages or {}}, cash_from)
    env = C.Env(settings=settings, instruments=inst_rows,
                cash_upto=C.cash_by_account(accounts_mod.keyed_cash(cash_events, excel_serial), accounts, cash_from),
                cash_from=cash_from, leverage_assumed="account_leverage" in assumed,
                start_assumed="starting_balance" in assumed, accounts=accounts, home=home)
    C.compute(work, env)
    for col in C.CALCS:
        cols[col.name] = work[col.name]
    return cols, cash_from


def build_journal(path: str | Path, trades: list[Trade], settings: Settings | None = None,
                  instruments: list[Instrument] | None = None, rejected: Sequence[RejectedRow] = (),
                  cash: Sequence[BalanceEvent] = (), assumed: Collection[str] | None = None,
                  account_starts: dict[str, tuple[float | None, float | None]] | None = None,
                  account_leverages: dict[str, float] | None = None) -> None:
    """Write the journal for ``trades`` to ``path`` (overwritten). The template is ``build_journal(path, [])``.

    ``assumed``: the stated settings (account currency, starting balance, account leverage) nobody
    stated, marked as the template's defaults (default: those holding their default value); a
    setting stated by a statement keeps no mark even when it equals the default.

    ``settings`` default :class:`Settings`; ``instruments`` default :data:`DEFAULT_INSTRUMENTS`;
    ``rejected`` the rows an import could not read; ``cash`` the account's cash movements (deposits,
    withdrawals, credits...; all of them: those before the first trade are listed but only the
    later ones count in Balance, see :data:`columns.CASH_DOC`), written to the Cash sheet sorted by
    time. Trades are written in the order given and numbered 1, 2, 3... in the No. column (the
    order the running figures follow). The output is deterministic: the same inputs give the same
    XML parts (fixed document timestamps, stable ordering).
    """
    settings = settings or Settings()
    instruments = list(DEFAULT_INSTRUMENTS if instruments is None else instruments)
    trades = list(trades)
    cash_events = cash_rows(cash)
    assumed = assumed_settings(settings) if assumed is None else set(assumed) & assumed_settings(settings)
    cols, cash_from = trade_columns(trades, settings, instruments, cash_events, assumed, account_starts,
                                    account_leverages)

    wb = Workbook()
    wb.active.title = SHEETS[0][0]
    for title, _ in SHEETS[1:]:
        wb.create_sheet(title)
    book = Book(wb=wb, settings=settings, instruments=instruments, cols=cols, n=len(trades), cash=cash_events,
                cash_from=cash_from, rejected=list(rejected), trades=trades,
                inputs={"stated": account_starts or {}, "lev_stated": account_leverages or {}})
    wb.defined_names[C.schema.TRADE_IDS] = DefinedName(C.schema.TRADE_IDS, attr_text=f"{C.TABLE}[Trade ID]")
    for _, build in SHEETS:
        build(book)
    for fld, name, *_ in SETTINGS_CELLS:  # settings.build marks every default: keep the assumed ones
        if fld in STATED and fld not in assumed:
            wb.defined_names.pop(default_mark(name), None)
    fit_widths(book)
    print_setup(wb)
    wb.active = 0
    wb.calculation = CalcProperties(calcId=CALC_ID, fullCalcOnLoad=None)
    wb.properties.creator = "leverage-addin"
    wb.properties.lastModifiedBy = "leverage-addin"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        ExcelWriter(wb, zf).save()
    sheet_parts = {ws.title: f"xl/worksheets/sheet{k + 1}.xml" for k, ws in enumerate(wb.worksheets)}
    trades_part = sheet_parts[trades_sheet.TITLE]
    by_part = {sheet_parts[title]: values for title, values in book.cache.items() if values}
    _write_package(Path(path), buf, trades_part, cols, len(trades), by_part)


# <f> may carry attributes: the Stats sheet's array formulas are <f t="array" ref="M5">.
_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f((?: [^>]*)?)>(.*?)</f>(?:<v\s*/>|<v></v>)?</c>', re.S)


def _splice_cached(xml: str, values: dict[str, object]) -> str:
    def repl(m: re.Match) -> str:
        ref, attrs, fa, f = m.group(1), m.group(2), m.group(3), m.group(4)
        attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
        v = values.get(ref, "")
        if isinstance(v, bool):
            return f'<c r="{ref}"{attrs} t="b"><f{fa}>{f}</f><v>{int(v)}</v></c>'
        if isinstance(v, str):
            return f'<c r="{ref}"{attrs} t="str"><f{fa}>{f}</f><v>{escape(clean_text(v))}</v></c>'
        return f'<c r="{ref}"{attrs}><f{fa}>{f}</f><v>{float(v)!r}</v></c>'
    return _FORMULA_CELL.sub(repl, xml)


def _write_package(path: Path, buf: io.BytesIO, trades_part: str, cols: dict[str, list], n: int,
                   cached: dict[str, dict[str, object]]) -> None:
    src = zipfile.ZipFile(buf)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            if info.filename == trades_part:
                trades_sheet.write_part(out, zi, data.decode("utf-8"), cols, n)
                continue
            if info.filename in cached:
                data = _splice_cached(data.decode("utf-8"), cached[info.filename]).encode("utf-8")
            out.writestr(zi, data)



