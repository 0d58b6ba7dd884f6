"""The Plans sheet: the plans the trader recorded from the Planner, each compared with the trade it became.

One row per recorded plan (``python -m addin plan`` or the ``record_plan`` script, :mod:`addin.plans`).
The planned figures -- Entry, Stop, Target, Size, Risk amount, Planned R:R, Equity and Risk % -- are
values written when the plan was recorded: a later change of a setting (risk %, equity, leverage)
never rewrites a past plan. ``Trade ID`` names the trade the plan became: typed by the trader, or
written by a fill into an empty cell when a statement's trade matches the plan
(:mod:`addin.fill.plans_match`). The calculated columns read that trade's row of the Trades table
with native formulas (INDEX/MATCH on Trade ID; no add-in call):

* Row in Trades -- the trade's row in the Trades table (1 = first trade), blank when not found;
* Status -- "matched", "no trade matched yet" (no Trade ID) or "Trade ID not in Trades";
* Entry slippage -- side x (the trade's Entry - planned Entry), price: > 0 the fill was worse;
* Slippage, R -- the slippage over the planned stop distance |planned Entry - planned Stop|;
* Stop moved -- the trade's Stop - planned Stop, price ("no stop on the trade" without one);
* Size ratio -- |the trade's Quantity| / planned Size;
* Actual R -- the trade's Net P/L / the planned Risk amount (1R is the money the plan risked);
* R vs plan -- Actual R - Planned R:R;
* Exit R on plan -- side x (the trade's Exit - planned Entry) / planned stop distance: where the trade
  left, in the plan's own R (entry slippage, size and costs left out);
* R by managing -- Exit R on plan minus what the plan's own exit gave: its target (+Planned R:R) when
  the trade left on the profit side, its stop (-1R) when on the losing side. A winner cut at +1R of a
  2R plan: -1R; a loser cut at -0.5R: +0.5R; a loser run past the stop to -1.5R: -0.5R.

Each formula has its Python twin here, which writes the cached value (the build, the fill, the
``plan`` command)."""

from __future__ import annotations

from datetime import date, datetime

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo

from ..risk.errors import RiskInputError
from ..risk.inputs import _LONG, parse_side
from . import schema
from .columns import _is, blank, isnum
from .layout import HEAD_FILL, HEAD_FONT, CALC_HEAD_FILL, NOTE_FONT, Book, fit_width

TITLE = schema.PLANS_SHEET
TABLE = schema.PLANS_TABLE
INPUTS = tuple(f.header for f in schema.PLANS_INPUTS)
CALCS = tuple(f.header for f in schema.PLANS_CALCS)
HEADERS = INPUTS + CALCS
TRADES = schema.TRADES_TABLE
NOT_MATCHED, NOT_FOUND, MATCHED = "no trade matched yet", "Trade ID not in Trades", "matched"
NO_STOP = "no stop on the trade"


def T(col: str) -> str:
    return f"{TABLE}[[#This Row],[{col}]]"


def _trade(col: str) -> str:
    return f'INDEX({TRADES}[{col}],{T("Row in Trades")})'


_ID = T("Trade ID")
_IDS = f"{TRADES}[Trade ID]"
_SGN = f'IF({_is(T("Side"), _LONG)},1,-1)'
_DIST = f'ABS({T("Entry")}-{T("Stop")})'
_HAS = f'ISNUMBER({T("Row in Trades")})'


def _row(body: str) -> str:
    """Blank on a row without a plan (no Symbol)."""
    return f'IF({T("Symbol")}="","",{body})'


FORMULAS = {
    # the Trade ID as typed (text or number) or as the other kind: a number typed for a text id
    "Row in Trades": _row(f'IF({_ID}="","",IFERROR(MATCH({_ID},{_IDS},0),IFERROR(MATCH({_ID}&"",{_IDS},0),'
                          f'IFERROR(MATCH(VALUE({_ID}),{_IDS},0),""))))'),
    "Status": _row(f'IF({_ID}="","{NOT_MATCHED}",IF({_HAS},"{MATCHED}","{NOT_FOUND}"))'),
    "Entry slippage": _row(f'IF(AND({_HAS},ISNUMBER({T("Entry")})),IF(ISNUMBER({_trade("Entry")}),'
                           f'{_SGN}*({_trade("Entry")}-{T("Entry")}),""),"")'),
    "Slippage, R": _row(f'IF(AND(ISNUMBER({T("Entry slippage")}),ISNUMBER({T("Stop")})),'
                        f'IF({_DIST}>0,{T("Entry slippage")}/{_DIST},""),"")'),
    "Stop moved": _row(f'IF(AND({_HAS},ISNUMBER({T("Stop")})),IF(ISNUMBER({_trade("Stop")}),'
                       f'{_trade("Stop")}-{T("Stop")},"{NO_STOP}"),"")'),
    "Size ratio": _row(f'IF(AND({_HAS},ISNUMBER({T("Size")})),IF(AND(ISNUMBER({_trade("Quantity")}),'
                       f'{T("Size")}>0),ABS({_trade("Quantity")})/{T("Size")},""),"")'),
    "Actual R": _row(f'IF(AND({_HAS},ISNUMBER({T("Risk amount")})),IF(AND(ISNUMBER({_trade("Net P/L")}),'
                     f'{T("Risk amount")}>0),{_trade("Net P/L")}/{T("Risk amount")},""),"")'),
    "R vs plan": _row(f'IF(AND(ISNUMBER({T("Actual R")}),ISNUMBER({T("Planned R:R")})),'
                      f'{T("Actual R")}-{T("Planned R:R")},"")'),
    "Exit R on plan": _row(f'IF(AND({_HAS},ISNUMBER({T("Entry")}),ISNUMBER({T("Stop")})),'
                           f'IF(AND(ISNUMBER({_trade("Exit")}),{_DIST}>0),'
                           f'{_SGN}*({_trade("Exit")}-{T("Entry")})/{_DIST},""),"")'),
    "R by managing": _row(f'IF(ISNUMBER({T("Exit R on plan")}),IF({T("Exit R on plan")}>=0,'
                          f'IF(ISNUMBER({T("Planned R:R")}),{T("Exit R on plan")}-{T("Planned R:R")},""),'
                          f'{T("Exit R on plan")}+1),"")'),
}


def _sign(side: object) -> int:
    try:
        return 1 if parse_side(side) == 1 else -1
    except RiskInputError:
        return -1  # the formula's IF(long words, 1, -1)


def _same_id(typed: object, tid: object) -> bool:
    if blank(typed) or blank(tid):
        return False
    if isinstance(typed, str) and isinstance(tid, str):
        return typed.upper() == tid.upper()  # MATCH compares text without case
    if isnum(typed) and isnum(tid):
        return typed == tid
    return False


def trade_row(typed: object, ids: list) -> int | str:
    """The 1-based row of the Trade ID ``typed`` among ``ids`` (the Trades table's Trade ID column), as
    the Row in Trades formula finds it; "" when none."""
    if blank(typed):
        return ""
    tries = [typed]
    tries.append(typed if isinstance(typed, str) else _general(typed))
    if isinstance(typed, str):
        try:
            tries.append(float(typed.strip()))
        except ValueError:
            pass
    else:
        tries.append(typed)
    for t in tries:
        for k, tid in enumerate(ids):
            if _same_id(t, tid):
                return k + 1
    return ""


def _general(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:.15g}" if isinstance(v, float) else str(v)


def figures(plan: dict, cols: dict[str, list]) -> dict[str, object]:
    """The calculated columns of the plan row ``plan`` (header -> value) against the Trades columns ``cols``."""
    out: dict[str, object] = {h: "" for h in CALCS}
    if blank(plan.get("Symbol")):
        return out
    tid = plan.get("Trade ID")
    row = trade_row(tid, list(cols.get("Trade ID", [])))
    out["Row in Trades"] = row
    out["Status"] = NOT_MATCHED if blank(tid) else MATCHED if row != "" else NOT_FOUND
    if row == "":
        return out

    def trade(col: str) -> object:
        v = cols[col][row - 1] if col in cols else None
        return "" if v is None else v
    e, s, size, amt, rr = (plan.get(k) for k in ("Entry", "Stop", "Size", "Risk amount", "Planned R:R"))
    sgn = _sign(plan.get("Side"))
    dist = abs(e - s) if isnum(e) and isnum(s) else None
    te, ts, tq, tn, tx = (trade(c) for c in ("Entry", "Stop", "Quantity", "Net P/L", "Exit"))
    if isnum(e):
        out["Entry slippage"] = sgn * (te - e) if isnum(te) else ""
    slip = out["Entry slippage"]
    if isnum(slip) and isnum(s):
        out["Slippage, R"] = slip / dist if dist > 0 else ""
    if isnum(s):
        out["Stop moved"] = ts - s if isnum(ts) else NO_STOP
    if isnum(size):
        out["Size ratio"] = abs(tq) / size if isnum(tq) and size > 0 else ""
    if isnum(amt):
        out["Actual R"] = tn / amt if isnum(tn) and amt > 0 else ""
    if isnum(out["Actual R"]) and isnum(rr):
        out["R vs plan"] = out["Actual R"] - rr
    if isnum(e) and isnum(s):
        out["Exit R on plan"] = sgn * (tx - e) / dist if isnum(tx) and dist > 0 else ""
    xr = out["Exit R on plan"]
    if isnum(xr):
        out["R by managing"] = (xr - rr if isnum(rr) else "") if xr >= 0 else xr + 1
    return out


def cell_value(header: str, v: object) -> object:
    """A plan's value as the sheet stores it (Recorded as a date serial)."""
    if header == "Recorded" and isinstance(v, (datetime, date)):
        return schema.serial(v)
    return v


def build(book: Book) -> None:
    """The Plans sheet: the table's header and one empty row (its calculated columns blank), notes."""
    s = book.sheet(TITLE)
    ws = s.ws
    fields = {f.header: f for f in schema.PLANS.columns}
    for j, head in enumerate(HEADERS):
        x = get_column_letter(j + 1)
        s.text(f"{x}1", head, font=HEAD_FONT, fill=CALC_HEAD_FILL if head in CALCS else HEAD_FILL)
        ws.column_dimensions[x].width = fields[head].width
        ws[f"{x}2"].number_format = fields[head].number_format
        if head in CALCS:
            s.formula(f"{x}2", FORMULAS[head], "", fmt=fields[head].number_format)
    last = get_column_letter(len(HEADERS))
    table = Table(displayName=TABLE, ref=f"A1:{last}2",
                  tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True))
    table.tableColumns = [TableColumn(id=j + 1, name=head, calculatedColumnFormula=TableFormula(
        attr_text=FORMULAS[head]) if head in FORMULAS else None) for j, head in enumerate(HEADERS)]
    table.autoFilter = AutoFilter(ref=table.ref)
    ws.add_table(table)
    ws.freeze_panes = "B2"
    note = len(HEADERS) + 2
    notes = ("Record a plan from the Planner: python -m addin plan --journal THIS.xlsx, or the record_plan",
             "script (xlwings). The planned figures are values of that moment; Trade ID is the trade it",
             "became: type it, or a fill writes it when a statement's trade matches (same symbol and side,",
             "the nearest opened within 24 hours after the plan). The blue columns compare the plan with it.")
    for k, text in enumerate(notes):
        s.text(f"{get_column_letter(note)}{k + 1}", text, font=NOTE_FONT)
    fit_width(ws, "landscape")
