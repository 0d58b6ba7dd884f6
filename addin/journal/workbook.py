"""Build the trade journal workbook from a list of trades: ONE function, :func:`build_journal`.

The template (``python -m addin template``) is ``build_journal(path, [])``; the batch fill calls the
same function with the trades it read. Sheets: Dashboard (a trade's risk card, account summary,
charts), Trades (an Excel table whose calculated columns call the add-in's functions), Cash (the
deposits, withdrawals and other cash movements the Balance column adds in), Planner
(the pre-trade calculator), Instruments, Settings (named cells), Rejected (rows the import could not
read) and a hidden ``xlwings.conf`` (``UDF MODULES`` = ``addin.udfs``).

How the file is written
-----------------------
openpyxl builds every sheet except the Trades rows (its normal mode holds every cell in memory and
is slow for 10,000 trades). The Trades sheet gets its header and one prototype row of styled empty
cells; after openpyxl has serialised the workbook into memory, the package is copied into the
target zip and the Trades ``<sheetData>`` is streamed in from :func:`_trade_rows`, which writes each
cell with its style, its formula and its cached value. Cached values of every other formula cell
are recorded while building (:class:`_Sheet`) and spliced into the serialised sheet XML.

Every formula cell carries the value the Python implementations compute (:mod:`.columns` and the
builders below mirror each formula), so readers that do not calculate (LibreOffice, previewers,
pandas, openpyxl ``data_only``) show what Excel shows.

Calculation properties (``<calcPr>``): ``calcId="191029"``, ``fullCalcOnLoad`` absent
------------------------------------------------------------------------------------------------
openpyxl writes ``calcId=124519`` (Excel 2007's engine) with ``fullCalcOnLoad="1"``. Either one
makes Excel recalculate every formula on opening: ``fullCalcOnLoad`` says so outright, and Excel
compares ``calcId`` with its own engine id -- when the file's id is *lower*, the file was "last
calculated by an older engine" and Excel recalculates all formulas right after loading ([MS-XLS]
2.4.215 RecalcId; ECMA-376 calcPr/@calcId), then marks the workbook dirty ("save changes?" on a
file nobody touched). For this journal a full recalculation is not free: every calculated cell is a
classic xlwings UDF, one cross-process COM call of ~4-13 ms, so 10,000 trades x 12 function columns
would keep Excel busy for minutes. The cached values written here are the numbers those calls would
return, so there is nothing to recalculate. We therefore write no ``fullCalcOnLoad`` and the
``calcId`` of the current Excel engine, 191029 (what Excel 2019, 2021 and Microsoft 365 write;
Excel 2016 writes 171027, 2013 152511, 2010 145621). An Excel with an engine id <= 191029 sees a
file calculated by an engine no older than its own and recalculates only dirty cells (none on
opening, since the journal uses no volatile functions: no TODAY, OFFSET or INDIRECT). A future Excel
with a newer engine id will recalculate once on opening, which is exactly the case ``calcId``
exists for; a fake huge id (999999, as some writers use) would suppress that too, so we do not.
``calcMode`` stays automatic so a row a user edits recalculates at once.

Text from a statement is never written as a formula: every string cell is an explicit text cell
(inline string), whatever its first character (``=``, ``+``, ``-``, ``@``).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.properties import CalcProperties
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo
from openpyxl.writer.excel import ExcelWriter

from .. import udfs
from ..risk.limits import REGIMES
from ..statements.model import BalanceEvent, RejectedRow, Trade
from . import columns as C
from .columns import COLUMNS, blank, isnum, letter
from .instruments import DEFAULT_INSTRUMENTS, Instrument, lookup
from .settings import SETTINGS_CELLS, Settings

CALC_ID = 191029
FIXED_TIME = datetime(2025, 1, 1)
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
_EPOCH = datetime(1899, 12, 30)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

TITLE_FONT = Font(bold=True, size=16, color="1F3864")
HEAD_FONT = Font(bold=True, color="FFFFFF")
HEAD_FILL = PatternFill("solid", fgColor="1F3864")
SECTION_FONT = Font(bold=True, size=12, color="1F3864")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
LABEL_FONT = Font(color="404040")
NOTE_FONT = Font(italic=True, color="808080", size=9)
VALUE_FONT = Font(bold=True)
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(bottom=THIN)
RED = (PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE"), Font(color="9C0006", bold=True))
AMBER = (PatternFill("solid", fgColor="FFEB9C", bgColor="FFEB9C"), Font(color="9C5700", bold=True))
GREEN = (PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE"), Font(color="006100", bold=True))

FUTURE_CAP = "exchange margin, no retail cap"


def clean_text(s: str) -> str:
    """A string as it can be stored in XML (control characters dropped)."""
    return _ILLEGAL.sub("", s)


def excel_serial(d: datetime | date) -> float:
    if isinstance(d, datetime):
        if d.tzinfo is not None:
            d = d.replace(tzinfo=None)
        return (d - _EPOCH).total_seconds() / 86400
    return float((d - _EPOCH.date()).days)


def format_source(src) -> str:
    """``SourceRef`` as the Source column shows it (``str(SourceRef)``: file, section, row)."""
    return str(src)


class _Sheet:
    """A worksheet plus the cached values of its formula cells."""

    def __init__(self, ws, cache: dict):
        self.ws = ws
        self.cache = cache.setdefault(ws.title, {})

    def text(self, coord: str, value: str | None, **style):
        cell = self.ws[coord]
        if value is not None and value != "":
            cell.value = clean_text(str(value))
            cell.data_type = "s"  # never a formula, whatever it starts with
        _style(cell, **style)
        return cell

    def value(self, coord: str, value, **style):
        cell = self.ws[coord]
        cell.value = value
        _style(cell, **style)
        return cell

    def formula(self, coord: str, formula: str, cached, **style):
        cell = self.ws[coord]
        cell.value = "=" + formula
        self.cache[coord] = cached
        _style(cell, **style)
        return cell


def _style(cell, fmt=None, font=None, fill=None, align=None, border=None):
    if fmt:
        cell.number_format = fmt
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    if align:
        cell.alignment = align
    if border:
        cell.border = border


def _call(fn, *args):
    """A UDF on single values (what the cell's formula computes)."""
    return fn(*args)


# Trades -------------------------------------------------------------------------------------------

def _input_columns(trades: Sequence[Trade], instruments: Sequence[Instrument]) -> dict[str, list]:
    cols: dict[str, list] = {c.name: [] for c in C.INPUTS + C.TRAILING}
    found: dict[str, str | None] = {}
    for t in trades:
        for col in C.INPUTS + C.TRAILING:
            if not col.field:
                if col.name != "Instrument":  # the trader's columns start empty
                    cols[col.name].append(None)
                continue
            v = getattr(t, col.field)
            if col.field == "source":
                v = format_source(v)
            elif col.field == "flags":
                v = "; ".join(v)
            if v == "":
                v = None
            cols[col.name].append(v)
        if t.symbol not in found:
            inst = lookup(t.symbol, instruments)
            found[t.symbol] = inst.symbol if inst else None
        cols["Instrument"].append(found[t.symbol])
    return cols


def _cell_xml(ref: str, style: str, v) -> str:
    if v is None:
        return f'<c r="{ref}"{style}/>'
    if isinstance(v, str):
        return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{escape(clean_text(v))}</t></is></c>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (datetime, date)):
        return f'<c r="{ref}"{style}><v>{excel_serial(v)!r}</v></c>'
    return f'<c r="{ref}"{style}><v>{float(v)!r}</v></c>'


def _formula_xml(ref: str, style: str, f: str, v) -> str:
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><f>{f}</f><v>{int(v)}</v></c>'
    if isinstance(v, str):
        return f'<c r="{ref}"{style} t="str"><f>{f}</f><v>{escape(clean_text(v))}</v></c>'
    return f'<c r="{ref}"{style}><f>{f}</f><v>{float(v)!r}</v></c>'


def _trade_rows(cols: dict[str, list], n: int, styles: list[str]) -> Iterable[str]:
    """The Trades sheet's data rows as XML, row 2 onwards; at least one (blank) row."""
    letters = [letter(i) for i in range(len(COLUMNS))]
    fixed = {c.name: escape(C.formula(c)) for c in C.CALCS}
    running = set(C.RUNNING)
    data = [cols[c.name] for c in COLUMNS]
    kinds = [c.kind for c in COLUMNS]
    names = [c.name for c in COLUMNS]
    for r in range(max(n, 1)):
        row = r + 2
        parts = [f'<row r="{row}">']
        for j, kind in enumerate(kinds):
            ref = f"{letters[j]}{row}"
            if kind == "calc":
                f = escape(C.row_formula(COLUMNS[j], row)) if names[j] in running else fixed[names[j]]
                v = data[j][r] if n else ""
                parts.append(_formula_xml(ref, styles[j], f, v))
            else:
                parts.append(_cell_xml(ref, styles[j], data[j][r] if n else None))
        parts.append("</row>")
        yield "".join(parts)


def _trades_sheet(wb: Workbook, n: int, cache: dict):
    ws = wb.create_sheet("Trades")
    last = letter(len(COLUMNS) - 1)
    nrows = max(n, 1) + 1
    for j, col in enumerate(COLUMNS):
        cell = ws.cell(row=1, column=j + 1, value=col.name)
        cell.data_type = "s"
        cell.font = HEAD_FONT
        cell.fill = HEAD_FILL if col.kind != "calc" else PatternFill("solid", fgColor="2E75B6")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        proto = ws.cell(row=2, column=j + 1)
        proto.number_format = col.number_format
        if col.kind == "calc":
            proto.fill = PatternFill("solid", fgColor="F2F2F2")
        ws.column_dimensions[letter(j)].width = col.width
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "B2"
    ref = f"A1:{last}{nrows}"
    table = Table(displayName=C.TABLE, ref=ref,
                  tableStyleInfo=TableStyleInfo(name="TableStyleLight9", showRowStripes=True))
    table.tableColumns = [
        TableColumn(id=j + 1, name=col.name,
                    calculatedColumnFormula=TableFormula(attr_text=C.formula(col)) if col.kind == "calc" else None)
        for j, col in enumerate(COLUMNS)]
    from openpyxl.worksheet.filters import AutoFilter
    table.autoFilter = AutoFilter(ref=ref)
    ws.add_table(table)

    def rng(name: str) -> str:
        x = letter(C.INDEX[name])
        return f"{x}2:{x}{nrows}", f"${x}2"
    r, a = rng("Stop beyond stop-out")
    ws.conditional_formatting.add(r, FormulaRule(formula=[f"{a}=TRUE"], fill=RED[0], font=RED[1]))
    r, a = rng("Over cap")
    ws.conditional_formatting.add(r, FormulaRule(formula=[f"{a}=TRUE"], fill=RED[0], font=RED[1]))
    r, a = rng("Risk %")
    ws.conditional_formatting.add(r, FormulaRule(formula=[f"AND(ISNUMBER({a}),{a}>2*RiskPerTrade)"], fill=RED[0], font=RED[1]))
    ws.conditional_formatting.add(r, FormulaRule(formula=[f"AND(ISNUMBER({a}),{a}>RiskPerTrade)"], fill=AMBER[0], font=AMBER[1]))
    return ws


# Settings, Instruments, Rejected, xlwings.conf -----------------------------------------------------

def _settings_sheet(wb: Workbook, settings: Settings, cache: dict):
    s = _Sheet(wb.create_sheet("Settings"), cache)
    ws = s.ws
    s.text("A1", "Settings", font=TITLE_FONT)
    for i, (field, name, label, fmt, note) in enumerate(SETTINGS_CELLS):
        row = i + 3
        s.text(f"A{row}", label, font=LABEL_FONT)
        v = getattr(settings, field)
        if isinstance(v, str):
            s.text(f"B{row}", v, fill=INPUT_FILL, font=VALUE_FONT)
        else:
            s.value(f"B{row}", v, fmt=fmt, fill=INPUT_FILL, font=VALUE_FONT)
        s.text(f"C{row}", note, font=NOTE_FONT)
        wb.defined_names[name] = DefinedName(name, attr_text=f"Settings!$B${row}")
        if field == "regulator":
            dv = DataValidation(type="list", formula1='"' + ",".join(REGIMES) + '"', allow_blank=False)
            ws.add_data_validation(dv)
            dv.add(f"B{row}")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 64


INSTRUMENT_COLUMNS = (("Symbol", "symbol", 10, "@"), ("Asset class", "asset_class", 13, "@"),
                      ("Contract size", "contract_size", 12, "#,##0.##"), ("Pip size", "pip_size", 9, "0.#####"),
                      ("Quote currency", "quote_currency", 9, "@"), ("Margin rate", "margin_rate", 9, "0.00%"),
                      ("Description", "description", 36, "@"))


def _instruments_sheet(wb: Workbook, instruments: Sequence[Instrument], cache: dict):
    s = _Sheet(wb.create_sheet("Instruments"), cache)
    ws = s.ws
    for j, (head, _, width, _) in enumerate(INSTRUMENT_COLUMNS):
        x = get_column_letter(j + 1)
        s.text(f"{x}1", head, font=HEAD_FONT, fill=HEAD_FILL)
        ws.column_dimensions[x].width = width
    for i, inst in enumerate(instruments):
        for j, (_, field, _, fmt) in enumerate(INSTRUMENT_COLUMNS):
            coord = f"{get_column_letter(j + 1)}{i + 2}"
            v = getattr(inst, field)
            if isinstance(v, str):
                s.text(coord, v)
            else:
                s.value(coord, v, fmt=fmt)
    ref = f"A1:{get_column_letter(len(INSTRUMENT_COLUMNS))}{max(len(instruments), 1) + 1}"
    t = Table(displayName="Instruments", ref=ref,
              tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True))
    ws.add_table(t)
    ws.freeze_panes = "A2"


REJECTED_COLUMNS = (("File", 28), ("Row", 6), ("Section", 14), ("Reason", 48), ("Raw text", 80))


def _rejected_sheet(wb: Workbook, rejected: Sequence[RejectedRow], cache: dict):
    s = _Sheet(wb.create_sheet("Rejected"), cache)
    ws = s.ws
    for j, (head, width) in enumerate(REJECTED_COLUMNS):
        x = get_column_letter(j + 1)
        s.text(f"{x}1", head, font=HEAD_FONT, fill=HEAD_FILL)
        ws.column_dimensions[x].width = width
    for i, rr in enumerate(rejected):
        row = i + 2
        s.text(f"A{row}", rr.source.file)
        if rr.source.row is not None:
            s.value(f"B{row}", rr.source.row)
        s.text(f"C{row}", rr.source.section)
        s.text(f"D{row}", rr.reason)
        s.text(f"E{row}", rr.raw)
    ref = f"A1:E{max(len(rejected), 1) + 1}"
    t = Table(displayName="RejectedRows", ref=ref,
              tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True))
    ws.add_table(t)
    ws.freeze_panes = "A2"


CASH_COLUMNS = (("Time", 17, C.DATE), ("Amount", 13, C.MONEY), ("Kind", 12, "@"), ("Source", 60, "@"))


def _cash_rows(cash: Sequence[BalanceEvent]) -> list[BalanceEvent]:
    """The Cash table's rows: dated movements by time (stable), then the undated ones."""
    return sorted(cash, key=lambda e: (e.time is None, excel_serial(e.time) if e.time is not None else 0.0))


def _cash_sheet(wb: Workbook, cash: Sequence[BalanceEvent], first_trade: float, cache: dict):
    s = _Sheet(wb.create_sheet("Cash"), cache)
    ws = s.ws
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
    t = Table(displayName=C.CASH_TABLE, ref=ref,
              tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True))
    ws.add_table(t)
    ws.freeze_panes = "A2"
    s.text("F1", "First trade opened", font=LABEL_FONT, border=BOX)
    s.formula("G1", f"MIN({C.TABLE}[Open time])", first_trade, fmt='[=0]"no trades yet";' + C.DATE,
              font=VALUE_FONT, border=BOX, align=Alignment(horizontal="right"))
    wb.defined_names[C.FIRST_TRADE] = DefinedName(C.FIRST_TRADE, attr_text="Cash!$G$1")
    notes = ("Cash movements in the account currency, one row each: deposits, withdrawals, credits,",
             "fees and interest a statement books outside trades. Those dated on or after the first",
             "trade's open time go into the Trades Balance (column Cash in/out) up to each trade's",
             "close (open, for a trade still open); earlier ones make up StartingBalance (Settings).",
             "Undated rows are listed, not counted. Drawdown leaves cash movements out.")
    for k, note in enumerate(notes):
        s.text(f"F{k + 3}", note, font=NOTE_FONT)
    ws.column_dimensions["E"].width = 3
    ws.column_dimensions["F"].width = 20
    ws.column_dimensions["G"].width = 17
    ws.print_area = f"A1:L{max(len(cash) + 1, len(notes) + 2)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _ledger_sheet(wb: Workbook, trades: Sequence[Trade]):
    """Hidden list of the imported trades' keys: a trade deleted from Trades is not imported again."""
    ws = wb.create_sheet(C.LEDGER_SHEET)
    ws.append(list(C.LEDGER_COLUMNS))
    for t in trades:
        ws.append([clean_text(t.broker), clean_text(t.account), clean_text(t.trade_id)])
    for row in ws.iter_rows():
        for cell in row:
            cell.data_type = "s"
    ws.sheet_state = "hidden"


def _conf_sheet(wb: Workbook, cache: dict):
    s = _Sheet(wb.create_sheet("xlwings.conf"), cache)
    s.text("A1", "UDF MODULES")
    s.text("B1", "addin.udfs")
    s.ws.sheet_state = "hidden"


# Dashboard ----------------------------------------------------------------------------------------

def _traffic(ws, coord: str, rules: list[tuple[str, tuple]]):
    for formula, (fill, font) in rules:
        ws.conditional_formatting.add(coord, FormulaRule(formula=[formula], fill=fill, font=font, stopIfTrue=True))


def _dashboard(wb: Workbook, ws, cols: dict[str, list], n: int, settings: Settings, cache: dict,
               cash_total: float = 0.0, selected: str | None = None):
    s = _Sheet(ws, cache)
    s.text("A1", "Trade risk card", font=TITLE_FONT)
    ws.row_dimensions[1].height = 26
    s.text("A3", "Trade ID", font=SECTION_FONT)
    ids = cols["Trade ID"]
    if selected is None:  # the trader's pick is kept by a fill; a new journal shows the last trade
        selected = ids[-1] if n else None
    s.text("B3", selected, fill=INPUT_FILL, font=Font(bold=True, size=12),
           border=Border(top=THIN, bottom=THIN, left=THIN, right=THIN))
    s.text("C3", "pick a trade from the list", font=NOTE_FONT)
    wb.defined_names["SelectedTrade"] = DefinedName("SelectedTrade", attr_text="Dashboard!$B$3")
    dv = DataValidation(type="list", formula1="TradeIDs", allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("B3")

    idx = None
    if selected is not None:
        key = str(selected).upper()
        idx = next((i for i, v in enumerate(ids) if v is not None and str(v).upper() == key), None)
    s.text("A4", "Row in Trades", font=NOTE_FONT)
    s.formula("B4", f'IF(B3="","",IFERROR(MATCH(B3,{C.TABLE}[Trade ID],0),""))', "" if idx is None else float(idx + 1),
              font=NOTE_FONT, align=Alignment(horizontal="left"))

    # The trade, as the Trades table has it.
    s.text("A6", "The trade", font=SECTION_FONT)
    facts = (("Symbol", "Symbol", "@"), ("Side", "Side", "@"), ("Open time", "Open time", C.DATE),
             ("Close time", "Close time", C.DATE), ("Quantity", "Quantity", C.QTY), ("Entry", "Entry", C.PRICE),
             ("Stop", "Stop", C.PRICE), ("Target", "Target", C.PRICE), ("Exit", "Exit", C.PRICE),
             ("Net P/L", "Net P/L", C.MONEY), ("Equity used", "Equity used", C.MONEY),
             ("Leverage used", "Leverage used", "0.##"), ("Point value", "Point value", "#,##0.####"),
             ("Pip size", "Pip size", "0.#####"), ("Class", "Class", "@"), ("Leverage cap", "Leverage cap", "0.##"))
    F: dict[str, str] = {}
    V: dict[str, object] = {}
    for k, (label, col, fmt) in enumerate(facts):
        row = 7 + k
        s.text(f"A{row}", label, font=LABEL_FONT)
        v = cols[col][idx] if idx is not None else ""
        if isinstance(v, (datetime, date)):
            v = excel_serial(v)
        v = "" if blank(v) else v
        src = f"INDEX({C.TABLE}[{col}],$B$4)"
        s.formula(f"B{row}", f'IF($B$4="","",IF({src}="","",{src}))', v, fmt=fmt,
                  align=Alignment(horizontal="right"))
        F[col], V[col] = f"$B${row}", v

    q, e, stop, x, side = V["Quantity"], V["Entry"], V["Stop"], V["Exit"], V["Side"]
    pv, lev, eq, pip, net = V["Point value"], V["Leverage used"], V["Equity used"], V["Pip size"], V["Net P/L"]
    Q, E, S, X, SD = F["Quantity"], F["Entry"], F["Stop"], F["Exit"], F["Side"]
    PV, LV, EQ, PIP, NET, CAP = (F["Point value"], F["Leverage used"], F["Equity used"], F["Pip size"],
                                 F["Net P/L"], F["Leverage cap"])
    cap = V["Leverage cap"]

    s.text("D6", "Risk card", font=SECTION_FONT)
    card: dict[str, str] = {}
    cv: dict[str, object] = {}
    row = [7]

    def item(key, label, formula, value, fmt, note=""):
        r = row[0]
        s.text(f"D{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"E{r}", formula, value, fmt=fmt, font=VALUE_FONT, border=BOX,
                  align=Alignment(horizontal="right"))
        if note:
            s.text(f"F{r}", note, font=NOTE_FONT)
        card[key], cv[key] = f"$E${r}", value
        row[0] += 1

    def num(v):
        return isnum(v)

    notional = "" if blank(q) or blank(e) else _call(udfs.NOTIONAL, q, e, pv)
    item("notional", "Notional", f'IF(OR({Q}="",{E}=""),"",NOTIONAL({Q},{E},{PV}))', notional, C.MONEY,
         "position value, account currency")
    eff = _call(udfs.EFFECTIVE_LEVERAGE, notional, eq) if num(notional) else ""
    item("eff", "Effective leverage", f'IF(ISNUMBER({card["notional"]}),EFFECTIVE_LEVERAGE({card["notional"]},{EQ}),"")',
         eff, C.LEV, "notional / equity")
    item("cap", "Regulator's cap", f'IF({CAP}="","",{CAP})', cap, '0.##"x"', "MAX_LEVERAGE for the Regulator setting")
    used = eff / cap if num(eff) and num(cap) else ""
    item("capused", "Share of the cap used", f'IF(AND(ISNUMBER({card["eff"]}),ISNUMBER({card["cap"]})),'
         f'{card["eff"]}/{card["cap"]},"")', used, "0%", "effective leverage / cap")
    margin = "" if blank(q) or blank(e) else _call(udfs.MARGIN_REQUIRED, q, e, lev, pv)
    item("margin", "Margin", f'IF(OR({Q}="",{E}=""),"",MARGIN_REQUIRED({Q},{E},{LV},{PV}))', margin, C.MONEY,
         "notional / leverage used")
    mlevel = _call(udfs.MARGIN_LEVEL, eq, margin) if num(margin) else ""
    item("mlevel", "Margin level", f'IF(ISNUMBER({card["margin"]}),MARGIN_LEVEL({EQ},{card["margin"]}),"")',
         mlevel, "0%", "equity / margin")
    wpips = _call(udfs.WIPEOUT_PIPS, margin, q, pip, pv) if num(margin) and num(pip) else ""
    item("wpips", "Wipe-out distance, pips", f'IF(AND(ISNUMBER({card["margin"]}),ISNUMBER({PIP})),'
         f'WIPEOUT_PIPS({card["margin"]},{Q},{PIP},{PV}),"")', wpips, "#,##0.0", "adverse move that loses the margin")
    wmove = "" if blank(lev) else _call(udfs.WIPEOUT_MOVE, lev)
    item("wmove", "Wipe-out distance, % of price", f'IF({LV}="","",WIPEOUT_MOVE({LV}))', wmove, "0.00%",
         "1 / leverage used")
    so = "" if blank(q) or blank(e) or blank(side) else _call(
        udfs.STOP_OUT_PRICE, side, e, q, eq, lev, settings.stop_out_level, pv)
    item("so", "Stop-out price", f'IF(OR({Q}="",{E}="",{SD}=""),"",STOP_OUT_PRICE({SD},{E},{Q},{EQ},{LV},'
         f'StopOutLevel,{PV}))', so, C.PRICE, "margin level falls to the stop-out level")
    liq = "" if blank(e) or blank(side) else _call(udfs.LIQUIDATION_PRICE, side, e, lev)
    item("liq", "Liquidation price (isolated)", f'IF(OR({E}="",{SD}=""),"",LIQUIDATION_PRICE({SD},{E},{LV}))',
         liq, C.PRICE, "crypto-exchange style, 0.5% maintenance")
    if num(stop) and num(so) and num(pip):
        short = isinstance(side, str) and side.strip().lower() in ("short", "sell")
        gap = ((so - stop) if short else (stop - so)) / pip
    else:
        gap = ""
    item("gap", "Stop to stop-out, pips", f'IF(AND(ISNUMBER({S}),ISNUMBER({card["so"]}),ISNUMBER({PIP})),'
         f'IF(OR({SD}="short",{SD}="sell"),{card["so"]}-{S},{S}-{card["so"]})/{PIP},"")', gap, "#,##0.0",
         "> 0: the stop is hit first")
    ras = "" if blank(q) or blank(e) or blank(stop) else _call(udfs.RISK_AT_STOP, q, e, stop, pv)
    item("risk", "Risk at the stop", f'IF(OR({Q}="",{E}="",{S}=""),"",RISK_AT_STOP({Q},{E},{S},{PV}))', ras,
         C.MONEY, "money lost if the stop is hit")
    if num(ras) and num(eq):
        rpct = ras / eq if eq > 0 else "equity must be > 0"
    else:
        rpct = ""
    item("riskpct", "Risk, % of equity", f'IF(AND(ISNUMBER({card["risk"]}),ISNUMBER({EQ})),IF({EQ}>0,'
         f'{card["risk"]}/{EQ},"equity must be > 0"),"")', rpct, "0.00%", "against RiskPerTrade on Settings")
    allowed = "" if blank(e) or blank(stop) or blank(eq) else _call(
        udfs.POSITION_SIZE, _call(udfs.RISK_AMOUNT, eq, settings.risk_per_trade), e, stop, pv)
    item("allowed", "Size the risk budget allowed", f'IF(OR({E}="",{S}="",{EQ}=""),"",'
         f'POSITION_SIZE(RISK_AMOUNT({EQ},RiskPerTrade),{E},{S},{PV}))', allowed, C.QTY, "POSITION_SIZE")
    item("taken", "Size taken", f'IF({Q}="","",{Q})', "" if blank(q) else q, C.QTY)
    ratio = (q / allowed if allowed > 0 else "") if num(q) and num(allowed) else ""
    item("ratio", "Size taken / allowed", f'IF(AND(ISNUMBER({card["taken"]}),ISNUMBER({card["allowed"]})),'
         f'IF({card["allowed"]}>0,{card["taken"]}/{card["allowed"]},""),"")', ratio, "0%", "above 100%: over budget")
    rmult = "" if blank(e) or blank(stop) or blank(x) else _call(udfs.R_MULTIPLE, side, e, stop, x)
    item("r", "R multiple", f'IF(OR({E}="",{S}="",{X}=""),"",R_MULTIPLE({SD},{E},{S},{X}))', rmult, "0.00",
         "result in units of the initial risk")
    rom = _call(udfs.RETURN_ON_MARGIN, net, margin) if num(net) and num(margin) else ""
    item("rom", "Return on margin", f'IF(AND(ISNUMBER({NET}),ISNUMBER({card["margin"]})),'
         f'RETURN_ON_MARGIN({NET},{card["margin"]}),"")', rom, "0.0%", "net P/L / margin")
    ltd = _call(udfs.LOSSES_TO_DRAWDOWN, rpct, settings.max_drawdown) if num(rpct) else ""
    item("ltd", "Losses in a row to MaxDrawdown", f'IF(ISNUMBER({card["riskpct"]}),'
         f'LOSSES_TO_DRAWDOWN({card["riskpct"]},MaxDrawdown),"")', ltd, "0", "at this trade's risk %")
    rg = _call(udfs.RECOVERY_GAIN, settings.max_drawdown)
    item("rg", "Gain needed to recover MaxDrawdown", "RECOVERY_GAIN(MaxDrawdown)", rg, "0.0%",
         "drawdown / (1 - drawdown)")

    # Traffic lights.
    red, amber, green = RED, AMBER, GREEN
    c = card
    _traffic(ws, c["eff"][1:].replace("$", ""), [
        (f'AND(ISNUMBER({c["eff"]}),ISNUMBER({c["cap"]}),{c["eff"]}>{c["cap"]})', red),
        (f'AND(ISNUMBER({c["eff"]}),ISNUMBER({c["cap"]}),{c["eff"]}>{c["cap"]}/2)', amber),
        (f'ISNUMBER({c["eff"]})', green)])
    _traffic(ws, c["capused"].replace("$", ""), [
        (f'AND(ISNUMBER({c["capused"]}),{c["capused"]}>1)', red),
        (f'AND(ISNUMBER({c["capused"]}),{c["capused"]}>0.5)', amber), (f'ISNUMBER({c["capused"]})', green)])
    _traffic(ws, c["mlevel"].replace("$", ""), [
        (f'AND(ISNUMBER({c["mlevel"]}),{c["mlevel"]}<=1)', red),
        (f'AND(ISNUMBER({c["mlevel"]}),{c["mlevel"]}<=2)', amber), (f'ISNUMBER({c["mlevel"]})', green)])
    for k in ("so", "gap"):
        _traffic(ws, c[k].replace("$", ""), [
            (f'AND(ISNUMBER({c["gap"]}),{c["gap"]}<=0)', red), (f'ISNUMBER({c["gap"]})', green)])
    _traffic(ws, c["riskpct"].replace("$", ""), [
        (f'AND(ISNUMBER({c["riskpct"]}),{c["riskpct"]}>2*RiskPerTrade)', red),
        (f'AND(ISNUMBER({c["riskpct"]}),{c["riskpct"]}>RiskPerTrade)', amber), (f'ISNUMBER({c["riskpct"]})', green)])
    _traffic(ws, c["ratio"].replace("$", ""), [
        (f'AND(ISNUMBER({c["ratio"]}),{c["ratio"]}>1.5)', red),
        (f'AND(ISNUMBER({c["ratio"]}),{c["ratio"]}>1)', amber), (f'ISNUMBER({c["ratio"]})', green)])
    _traffic(ws, c["ltd"].replace("$", ""), [
        (f'AND(ISNUMBER({c["ltd"]}),{c["ltd"]}<10)', red),
        (f'AND(ISNUMBER({c["ltd"]}),{c["ltd"]}<20)', amber), (f'ISNUMBER({c["ltd"]})', green)])
    _traffic(ws, c["r"].replace("$", ""), [
        (f'AND(ISNUMBER({c["r"]}),{c["r"]}<0)', red), (f'ISNUMBER({c["r"]})', green)])

    # Account summary.
    top = row[0] + 2
    s.text(f"A{top}", "The account", font=SECTION_FONT)
    net_all = [v for v in cols["Net P/L"] if isnum(v)]
    entries = [v for v in cols["Entry"] if isnum(v)]
    exits = [v for v in cols["Exit"] if isnum(v)]
    total = sum(net_all)
    flow = cash_total
    dd = [v for v in cols["Drawdown"] if isnum(v)]
    effs = [v for v in cols["Effective leverage"] if isnum(v)]
    summary = (
        ("Trades", f"COUNT({C.TABLE}[Entry])", float(len(entries)), "0"),
        ("Closed trades", f"COUNT({C.TABLE}[Exit])", float(len(exits)), "0"),
        ("Net P/L", f"SUM({C.TABLE}[Net P/L])", total, C.MONEY),
        ("Cash in/out since 1st trade", f"SUMPRODUCT(ISNUMBER({C.CASH_TABLE}[Time])*({C.CASH_TABLE}[Time]>="
         f"{C.FIRST_TRADE}),{C.CASH_TABLE}[Amount])", flow, C.MONEY),
        ("Balance", f"StartingBalance+{{flow}}+SUM({C.TABLE}[Net P/L])", settings.starting_balance + flow + total,
         C.MONEY),
        ("Win rate", f'IF(COUNT({C.TABLE}[Net P/L])=0,"",COUNTIF({C.TABLE}[Net P/L],">0")/COUNT({C.TABLE}[Net P/L]))',
         (sum(1 for v in net_all if v > 0) / len(net_all)) if net_all else "", "0.0%"),
        ("Max drawdown (trading P/L)", f"MAX({C.TABLE}[Drawdown])", max(dd) if dd else 0.0, "0.00%"),
        ("Largest effective leverage", f"MAX({C.TABLE}[Effective leverage])", max(effs) if effs else 0.0, C.LEV),
        ("Losses in a row to MaxDrawdown", "LOSSES_TO_DRAWDOWN(RiskPerTrade,MaxDrawdown)",
         _call(udfs.LOSSES_TO_DRAWDOWN, settings.risk_per_trade, settings.max_drawdown), "0"),
    )
    at = {label: f"B{top + 1 + k}" for k, (label, *_) in enumerate(summary)}
    for k, (label, f, v, fmt) in enumerate(summary):
        r = top + 1 + k
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        f = f.replace("{flow}", at["Cash in/out since 1st trade"])
        s.formula(f"B{r}", f, v, fmt=fmt, font=VALUE_FONT, border=BOX, align=Alignment(horizontal="right"))
    s.text(f"D{top}", "Settings in use", font=SECTION_FONT)
    for k, (field, name, label, fmt, _) in enumerate(SETTINGS_CELLS):
        r = top + 1 + k
        s.text(f"D{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"E{r}", name, getattr(settings, field), fmt=fmt if fmt != "@" else None, border=BOX,
                  align=Alignment(horizontal="right"))

    for x, width in zip("ABCDEF", DASH_WIDTHS):
        ws.column_dimensions[x].width = width
    chart_top = top + len(summary) + 2
    _charts(wb, ws, n, chart_top)
    last_row = chart_top + 2 * CHART_ROWS
    ws.print_area = f"A1:F{last_row}"
    ws.page_setup.orientation = "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.sheet_view.showGridLines = False


DASH_WIDTHS = (27, 17, 3, 32, 17, 38)
CHART_ROWS = 17  # rows of 20 px each chart takes, gap included
_EMU_PX = 9525


def _span(col0: int, off0_px: int, row0: int, col1: int, off1_px: int, row1: int) -> TwoCellAnchor:
    """A drawing anchored to cells at both corners, so it keeps to its columns whatever their pixel
    width in the application that draws it (Excel and LibreOffice measure characters differently)."""
    return TwoCellAnchor(_from=AnchorMarker(col=col0, colOff=off0_px * _EMU_PX, row=row0, rowOff=0),
                         to=AnchorMarker(col=col1, colOff=off1_px * _EMU_PX, row=row1, rowOff=0))


def _charts(wb: Workbook, ws, n: int, top: int):
    """Equity curve, drawdown, risk % and effective leverage per trade: a 2 x 2 grid as wide as the card."""
    trades = wb["Trades"]
    last = max(n, 1) + 1

    def ref(name: str) -> Reference:
        j = C.INDEX[name] + 1
        return Reference(trades, min_col=j, min_row=1, max_row=last)

    # The middle of the card (A..F) falls inside column D, this many pixels in.
    mid = int((sum(DASH_WIDTHS) / 2 - sum(DASH_WIDTHS[:3])) * 7)
    specs = (("Balance, incl. cash in/out", "Balance", LineChart, "#,##0"),
             ("Drawdown of trading P/L only", "Drawdown", LineChart, "0%"),
             ("Risk % of equity per trade", "Risk %", BarChart, "0.0%"),
             ("Effective leverage per trade", "Effective leverage", BarChart, '0"x"'))
    for k, (title, col, kind, fmt) in enumerate(specs):
        ch = kind()
        ch.title = title
        ch.add_data(ref(col), titles_from_data=True)
        ch.legend = None
        ch.y_axis.number_format = fmt
        ch.x_axis.title = "trade"
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        if kind is LineChart:
            for series in ch.series:
                series.smooth = False
                series.graphicalProperties.line.width = 19050
        else:
            ch.gapWidth = 40
        row = top - 1 + (k // 2) * CHART_ROWS
        if k % 2 == 0:
            anchor = _span(0, 0, row, 3, mid - 6, row + CHART_ROWS - 1)
        else:
            anchor = _span(3, mid + 6, row, 6, 0, row + CHART_ROWS - 1)
        ws.add_chart(ch, anchor)


# Planner ------------------------------------------------------------------------------------------

def _planner(wb: Workbook, settings: Settings, instruments: Sequence[Instrument], cache: dict):
    s = _Sheet(wb.create_sheet("Planner"), cache)
    ws = s.ws
    s.text("A1", "Pre-trade planner", font=TITLE_FONT)
    s.text("A2", "Yellow cells are inputs; everything else is computed by the add-in's functions.", font=NOTE_FONT)
    s.text("A3", "Inputs", font=SECTION_FONT)
    inputs = (("Equity", settings.starting_balance, C.MONEY, "account currency"),
              ("Risk per trade", settings.risk_per_trade, "0.00%", "fraction of equity"),
              ("Symbol", "EURUSD", None, "a symbol of the Instruments sheet"),
              ("Side", "long", None, "long or short"),
              ("Entry", 1.085, C.PRICE, ""), ("Stop", 1.08, C.PRICE, ""), ("Target", 1.095, C.PRICE, ""),
              ("Leverage", settings.account_leverage, "0.##", "the account's leverage, e.g. 30 for 1:30"),
              ("FX to account", 1.0, "0.######", "quote currency -> account currency; 1 when the same"),
              ("Lot step", 0.01, "0.####", "smallest size increment"))
    P: dict[str, str] = {}
    V: dict[str, object] = {}
    for k, (label, v, fmt, note) in enumerate(inputs):
        r = 4 + k
        s.text(f"A{r}", label, font=LABEL_FONT)
        if isinstance(v, str):
            s.text(f"B{r}", v, fill=INPUT_FILL, font=VALUE_FONT, align=Alignment(horizontal="right"))
        else:
            s.value(f"B{r}", v, fmt=fmt, fill=INPUT_FILL, font=VALUE_FONT)
        s.text(f"C{r}", note, font=NOTE_FONT)
        P[label], V[label] = f"$B${r}", v
    side_dv = DataValidation(type="list", formula1='"long,short"', allow_blank=False)
    ws.add_data_validation(side_dv)
    side_dv.add(P["Side"].replace("$", ""))

    by_symbol = {i.symbol.upper(): i for i in instruments}
    inst = by_symbol.get(str(V["Symbol"]).upper())
    row = [15]
    s.text("A14", "From the Instruments sheet", font=SECTION_FONT)

    def out(label, formula, value, fmt, note=""):
        r = row[0]
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"B{r}", formula, value, fmt=fmt, font=VALUE_FONT, border=BOX, align=Alignment(horizontal="right"))
        if note:
            s.text(f"C{r}", note, font=NOTE_FONT)
        P[label], V[label] = f"$B${r}", value
        row[0] += 1

    def look(col, fallback):
        return f'IFERROR(INDEX(Instruments[{col}],MATCH({P["Symbol"]},Instruments[Symbol],0)),{fallback})'

    def ival(field, fallback):
        if inst is None:
            return fallback
        v = getattr(inst, field)
        return 0.0 if v is None else v

    out("Asset class", look("Asset class", '""'), ival("asset_class", ""), None)
    out("Contract size", look("Contract size", "1"), ival("contract_size", 1.0), "#,##0.##")
    out("Pip size", look("Pip size", "0.0001"), ival("pip_size", 0.0001), "0.#####")
    out("Quote currency", look("Quote currency", '""'), ival("quote_currency", ""), None)
    pv = V["Contract size"] * V["FX to account"]
    out("Point value", f'{P["Contract size"]}*{P["FX to account"]}', pv, "#,##0.####",
        "account currency per 1.0 price move per lot")
    row[0] += 1
    s.text(f"A{row[0]}", "The plan", font=SECTION_FONT)
    row[0] += 1
    eq, rp, sym, side = V["Equity"], V["Risk per trade"], V["Symbol"], V["Side"]
    e, st, tg, lev, step = V["Entry"], V["Stop"], V["Target"], V["Leverage"], V["Lot step"]
    pip = V["Pip size"]
    amt = udfs.RISK_AMOUNT(eq, rp)
    out("Risk amount", f'RISK_AMOUNT({P["Equity"]},{P["Risk per trade"]})', amt, C.MONEY, "equity x risk per trade")
    size = udfs.POSITION_SIZE(amt, e, st, pv, step)
    out("Position size", f'POSITION_SIZE({P["Risk amount"]},{P["Entry"]},{P["Stop"]},{P["Point value"]},'
        f'{P["Lot step"]})', size, C.QTY, "lots (or units) that lose the risk amount at the stop")
    ras = udfs.RISK_AT_STOP(size, e, st, pv)
    out("Risk at the stop", f'RISK_AT_STOP({P["Position size"]},{P["Entry"]},{P["Stop"]},{P["Point value"]})',
        ras, C.MONEY, "after rounding down to the lot step")
    stop_pips = abs(e - st) / pip
    out("Stop distance, pips", f'ABS({P["Entry"]}-{P["Stop"]})/{P["Pip size"]}', stop_pips, "#,##0.0")
    notional = udfs.NOTIONAL(size, e, pv)
    out("Notional", f'NOTIONAL({P["Position size"]},{P["Entry"]},{P["Point value"]})', notional, C.MONEY)
    margin = udfs.MARGIN_REQUIRED(size, e, lev, pv)
    out("Margin", f'MARGIN_REQUIRED({P["Position size"]},{P["Entry"]},{P["Leverage"]},{P["Point value"]})',
        margin, C.MONEY)
    eff = udfs.EFFECTIVE_LEVERAGE(notional, eq)
    out("Effective leverage", f'EFFECTIVE_LEVERAGE({P["Notional"]},{P["Equity"]})', eff, C.LEV, "notional / equity")
    cls = V["Asset class"]
    if isinstance(cls, str) and cls.upper() == "FUTURE":
        cap = FUTURE_CAP
    else:
        cap = udfs.MAX_LEVERAGE(settings.regulator, sym if cls == "" or str(cls)[:3].upper() == "FX_" else cls)
    out("Regulator's cap", f'IF({P["Asset class"]}="FUTURE","{FUTURE_CAP}",MAX_LEVERAGE(Regulator,'
        f'IF(OR({P["Asset class"]}="",LEFT({P["Asset class"]},3)="FX_"),{P["Symbol"]},{P["Asset class"]})))',
        cap, '0.##"x"', "retail cap today under the Regulator setting")
    wp = udfs.WIPEOUT_PIPS(margin, size, pip, pv)
    out("Wipe-out distance, pips", f'WIPEOUT_PIPS({P["Margin"]},{P["Position size"]},{P["Pip size"]},'
        f'{P["Point value"]})', wp, "#,##0.0", "adverse move that loses the whole margin")
    wm = udfs.WIPEOUT_MOVE(lev)
    out("Wipe-out distance, % of price", f'WIPEOUT_MOVE({P["Leverage"]})', wm, "0.00%")
    mc = udfs.MARGIN_CALL_PRICE(side, e, size, eq, lev, 1, pv)
    out("Margin call price (100%)", f'MARGIN_CALL_PRICE({P["Side"]},{P["Entry"]},{P["Position size"]},'
        f'{P["Equity"]},{P["Leverage"]},1,{P["Point value"]})', mc, C.PRICE)
    so = udfs.STOP_OUT_PRICE(side, e, size, eq, lev, settings.stop_out_level, pv)
    out("Stop-out price", f'STOP_OUT_PRICE({P["Side"]},{P["Entry"]},{P["Position size"]},{P["Equity"]},'
        f'{P["Leverage"]},StopOutLevel,{P["Point value"]})', so, C.PRICE, "at the StopOutLevel setting")
    liq = udfs.LIQUIDATION_PRICE(side, e, lev)
    out("Liquidation price (isolated)", f'LIQUIDATION_PRICE({P["Side"]},{P["Entry"]},{P["Leverage"]})', liq,
        C.PRICE, "crypto-exchange style, 0.5% maintenance")
    rr = udfs.REWARD_RISK(side, e, st, tg)
    out("Reward-to-risk", f'REWARD_RISK({P["Side"]},{P["Entry"]},{P["Stop"]},{P["Target"]})', rr, "0.00")
    profit = size * abs(tg - e) * pv if isnum(size) else ""
    out("Profit at the target", f'IF(ISNUMBER({P["Position size"]}),{P["Position size"]}*ABS({P["Target"]}-'
        f'{P["Entry"]})*{P["Point value"]},"")', profit, C.MONEY)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 52
    ws.sheet_view.showGridLines = False
    ws.print_area = f"A1:C{row[0] - 1}"
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


# The build ----------------------------------------------------------------------------------------

def build_journal(path: str | Path, trades: list[Trade], settings: Settings | None = None,
                  instruments: list[Instrument] | None = None, rejected: Sequence[RejectedRow] = (),
                  cash: Sequence[BalanceEvent] = ()) -> None:
    """Write the journal for ``trades`` to ``path`` (overwritten). The template is ``build_journal(path, [])``.

    ``settings`` default :class:`Settings`; ``instruments`` default :data:`DEFAULT_INSTRUMENTS`;
    ``rejected`` the rows an import could not read; ``cash`` the account's cash movements (deposits,
    withdrawals, credits...; all of them: those before the first trade are listed but only the
    later ones count in Balance, see :data:`columns.CASH_DOC`), written to the Cash sheet sorted by
    time. The output is deterministic: the same inputs give the same XML parts (fixed document
    timestamps, stable ordering).
    """
    settings = settings or Settings()
    instruments = list(DEFAULT_INSTRUMENTS if instruments is None else instruments)
    trades = list(trades)
    n = len(trades)
    cols = _input_columns(trades, instruments)
    inst_rows: dict[str, dict] = {}
    # MATCH finds the first row of a symbol.
    for i in reversed(instruments):
        inst_rows[i.symbol.upper()] = {"Asset class": i.asset_class, "Contract size": i.contract_size,
                                       "Pip size": i.pip_size, "Margin rate": i.margin_rate}
    cash = _cash_rows(cash)
    cash_cells = [(excel_serial(e.time) if e.time is not None else None, e.amount) for e in cash]
    times = {k: [excel_serial(v) if isinstance(v, (datetime, date)) else None for v in cols[k]]
             for k in ("Open time", "Close time")}
    C.compute(cols, settings, inst_rows, cash_cells, times)
    first_trade = C.first_trade_time(times["Open time"])
    cash_total = C.cash_windows(cash_cells, first_trade)(float("inf"))

    cache: dict[str, dict[str, object]] = {}
    wb = Workbook()
    dash = wb.active
    dash.title = "Dashboard"
    trades_ws = _trades_sheet(wb, n, cache)
    _cash_sheet(wb, cash, first_trade, cache)
    _planner(wb, settings, instruments, cache)
    _instruments_sheet(wb, instruments, cache)
    _settings_sheet(wb, settings, cache)
    _rejected_sheet(wb, list(rejected), cache)
    _conf_sheet(wb, cache)
    _ledger_sheet(wb, trades)
    wb.defined_names["TradeIDs"] = DefinedName("TradeIDs", attr_text=f"{C.TABLE}[Trade ID]")
    _dashboard(wb, dash, cols, n, settings, cache, cash_total)
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
    trades_part = sheet_parts[trades_ws.title]
    by_part = {sheet_parts[title]: values for title, values in cache.items() if values}
    _write_package(Path(path), buf, trades_part, cols, n, by_part)


_PROTO = re.compile(r'<c r="([A-Z]+)2"( s="\d+")?')
_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)?</c>', re.S)


def _splice_cached(xml: str, values: dict[str, object]) -> str:
    def repl(m: re.Match) -> str:
        ref, attrs, f = m.group(1), m.group(2), m.group(3)
        attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
        v = values.get(ref, "")
        if isinstance(v, bool):
            return f'<c r="{ref}"{attrs} t="b"><f>{f}</f><v>{int(v)}</v></c>'
        if isinstance(v, str):
            return f'<c r="{ref}"{attrs} t="str"><f>{f}</f><v>{escape(clean_text(v))}</v></c>'
        return f'<c r="{ref}"{attrs}><f>{f}</f><v>{float(v)!r}</v></c>'
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
                _write_trades_part(out, zi, data.decode("utf-8"), cols, n)
                continue
            if info.filename in cached:
                data = _splice_cached(data.decode("utf-8"), cached[info.filename]).encode("utf-8")
            out.writestr(zi, data)


def _write_trades_part(out: zipfile.ZipFile, zi: zipfile.ZipInfo, xml: str, cols: dict[str, list], n: int) -> None:
    start = xml.index("<sheetData>")
    end = xml.index("</sheetData>") + len("</sheetData>")
    body = xml[start:end]
    styles = [""] * len(COLUMNS)
    for m in _PROTO.finditer(body):
        styles[C.INDEX[COLUMNS[_col_index(m.group(1))].name]] = m.group(2) or ""
    header = body[body.index('<row r="1"'):body.index("</row>") + len("</row>")]
    head = xml[:start]
    last = letter(len(COLUMNS) - 1)
    head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}{max(n, 1) + 1}"/>', head)
    with out.open(zi, "w") as fh:
        fh.write(head.encode("utf-8"))
        fh.write(b"<sheetData>")
        fh.write(header.encode("utf-8"))
        chunk: list[str] = []
        for row in _trade_rows(cols, n, styles):
            chunk.append(row)
            if len(chunk) >= 500:
                fh.write("".join(chunk).encode("utf-8"))
                chunk = []
        if chunk:
            fh.write("".join(chunk).encode("utf-8"))
        fh.write(b"</sheetData>")
        fh.write(xml[end:].encode("utf-8"))


def _col_index(letters: str) -> int:
    k = 0
    for ch in letters:
        k = k * 26 + ord(ch) - 64
    return k - 1
