"""The Planner sheet: the pre-trade calculator. One plan, so its figures call the add-in's functions
(a constant number of calls, whatever the number of trades); each call is guarded so that without
the add-in the cell says "needs the add-in" instead of #NAME?. Cached values come from
:mod:`addin.risk`, the functions the add-in calls."""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation

from .. import risk
from ..risk.errors import NoPrice, RiskInputError
from . import columns as C
from .account import planner_context
from .columns import isnum
from .layout import BOX, INPUT_FILL, LABEL_FONT, NOTE_FONT, SECTION_FONT, TITLE_FONT, VALUE_FONT, Book, fit_width, guarded

TITLE = "Planner"
FUTURE_CAP = C.FUTURE_CAP


def result(fn, *args) -> object:
    """What the add-in's cell shows for ``fn(*args)``: the number, or the risk error's message."""
    try:
        return fn(*args)
    except (RiskInputError, NoPrice) as err:
        return str(err)
    except TypeError:  # an argument is another cell's message: the add-in says so in its own words
        return ""


def build(book: Book) -> None:
    settings, instruments = book.settings, book.instruments
    s = book.sheet(TITLE)
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

    def out(label, formula, value, fmt, note="", addin=False):
        r = row[0]
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"B{r}", guarded(formula) if addin else formula, value, fmt=fmt, font=VALUE_FONT, border=BOX,
                  align=Alignment(horizontal="right"))
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
    sd = risk.parse_side(side)
    amt = result(risk.risk_amount, eq, rp)
    out("Risk amount", f'RISK_AMOUNT({P["Equity"]},{P["Risk per trade"]})', amt, C.MONEY, "equity x risk per trade",
        addin=True)
    size = result(risk.position_size, amt, e, st, pv, step)
    out("Position size", f'POSITION_SIZE({P["Risk amount"]},{P["Entry"]},{P["Stop"]},{P["Point value"]},'
        f'{P["Lot step"]})', size, C.QTY, "lots (or units) that lose the risk amount at the stop", addin=True)
    ras = result(risk.risk_at_stop, size, e, st, pv)
    out("Risk at the stop", f'RISK_AT_STOP({P["Position size"]},{P["Entry"]},{P["Stop"]},{P["Point value"]})',
        ras, C.MONEY, "after rounding down to the lot step", addin=True)
    out("Stop distance, pips", f'ABS({P["Entry"]}-{P["Stop"]})/{P["Pip size"]}', abs(e - st) / pip, "#,##0.0")
    notional = result(risk.notional, size, e, pv)
    out("Notional", f'NOTIONAL({P["Position size"]},{P["Entry"]},{P["Point value"]})', notional, C.MONEY, addin=True)
    margin = result(risk.margin_required, size, e, lev, pv)
    out("Margin", f'MARGIN_REQUIRED({P["Position size"]},{P["Entry"]},{P["Leverage"]},{P["Point value"]})',
        margin, C.MONEY, addin=True)
    eff = result(risk.effective_leverage, notional, eq)
    out("Effective leverage", f'EFFECTIVE_LEVERAGE({P["Notional"]},{P["Equity"]})', eff, C.LEV, "notional / equity",
        addin=True)
    cls = V["Asset class"]
    if isinstance(cls, str) and cls.upper() == "FUTURE":
        cap = FUTURE_CAP
    else:
        cap = result(risk.max_leverage, settings.regulator, sym if cls == "" or str(cls)[:3].upper() == "FX_" else cls)
    out("Regulator's cap", f'IF({P["Asset class"]}="FUTURE","{FUTURE_CAP}",' + guarded(
        f'MAX_LEVERAGE(Regulator,IF(OR({P["Asset class"]}="",LEFT({P["Asset class"]},3)="FX_"),{P["Symbol"]},'
        f'{P["Asset class"]}))') + ")", cap, '0.##"x"', "retail cap today under the Regulator setting")
    wp = result(risk.wipeout_pips, margin, size, pip, pv)
    out("Wipe-out distance, pips", f'WIPEOUT_PIPS({P["Margin"]},{P["Position size"]},{P["Pip size"]},'
        f'{P["Point value"]})', wp, "#,##0.0", "adverse move that loses the whole margin", addin=True)
    out("Wipe-out distance, % of price", f'WIPEOUT_MOVE({P["Leverage"]})', result(risk.wipeout_move, lev), "0.00%",
        addin=True)
    mc = result(risk.margin_call_price, sd, e, size, eq, lev, 1, pv)
    out("Margin call price (100%)", f'MARGIN_CALL_PRICE({P["Side"]},{P["Entry"]},{P["Position size"]},'
        f'{P["Equity"]},{P["Leverage"]},1,{P["Point value"]})', mc, C.PRICE, addin=True)
    so = result(risk.stop_out_price, sd, e, size, eq, lev, settings.stop_out_level, pv)
    out("Stop-out price", f'STOP_OUT_PRICE({P["Side"]},{P["Entry"]},{P["Position size"]},{P["Equity"]},'
        f'{P["Leverage"]},StopOutLevel,{P["Point value"]})', so, C.PRICE, "at the StopOutLevel setting", addin=True)
    liq = result(risk.liquidation_price, sd, e, lev)
    out("Liquidation price (isolated)", f'LIQUIDATION_PRICE({P["Side"]},{P["Entry"]},{P["Leverage"]})', liq,
        C.PRICE, "crypto-exchange style, 0.5% maintenance", addin=True)
    rr = result(risk.reward_risk, sd, e, st, tg)
    out("Reward-to-risk", f'REWARD_RISK({P["Side"]},{P["Entry"]},{P["Stop"]},{P["Target"]})', rr, "0.00", addin=True)
    profit = size * abs(tg - e) * pv if isnum(size) else ""
    out("Profit at the target", f'IF(ISNUMBER({P["Position size"]}),{P["Position size"]}*ABS({P["Target"]}-'
        f'{P["Entry"]})*{P["Point value"]},"")', profit, C.MONEY)
    if book.account is not None:  # the planned trade among the open positions (addin/journal/account.py)
        row[0] = planner_context(s, P, V, row[0] + 1, book.account, settings)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 52
    ws.sheet_view.showGridLines = False
    fit_width(ws, "portrait", f"A1:C{row[0] - 1}", fit_height=1)
