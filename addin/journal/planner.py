"""The Planner sheet: the pre-trade calculator. One plan, so its figures call the add-in's functions
(a constant number of calls, whatever the number of trades); each call is guarded so that without
the add-in the cell says "needs the add-in" instead of #NAME?. Cached values come from
:mod:`addin.risk`, the functions the add-in calls."""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation

from .. import risk
from ..risk.errors import NoPrice, RiskInputError
from ..risk.inputs import _LONG, _SHORT
from . import columns as C
from .account import planner_context
from .columns import _is, isnum
from .layout import BOX, INPUT_FILL, LABEL_FONT, NOTE_FONT, SECTION_FONT, TITLE_FONT, VALUE_FONT, Book, fit_width, guarded

TITLE = C.schema.PLANNER_SHEET
FUTURE_CAP = C.FUTURE_CAP
# The plan the template opens with (the yellow input cells); Equity, Risk per trade and Leverage come
# from Settings unless given here.
DEFAULT_PLAN = {"Symbol": "EURUSD", "Side": "long", "Entry": 1.085, "Stop": 1.08, "Target": 1.095,
                "FX to account": 1.0, "Lot step": 0.01}


def result(fn, *args) -> object:
    """What the add-in's cell shows for ``fn(*args)``: the number, or the risk error's message."""
    try:
        return fn(*args)
    except (RiskInputError, NoPrice) as err:
        return str(err)
    except TypeError:  # an argument is another cell's message: the add-in says so in its own words
        return ""


BAD_SIDE = "side must be long/buy, short/sell, 1 or -1"


def side_message(side) -> str | None:
    """Why the add-in's functions refuse ``side`` (None when they read it: 1/-1, long/short, buy/sell,
    any case), in their words."""
    try:
        risk.parse_side(side)
    except RiskInputError as err:
        return str(err)
    return None


def is_side(ref: str) -> str:
    """Native test that the side cell ``ref`` is one the add-in's functions read (the words of
    :func:`addin.risk.parse_side`, trimmed, any case, or the numbers 1 / -1)."""
    return f"OR({_is(ref, _LONG)},{_is(ref, _SHORT)})"


def base_account(asset_class, symbol, account_currency) -> bool:
    """TRUE when the account currency is the pair's base currency (USDJPY in a USD account): a Forex
    class (FX_...) and the symbol's first three letters equal to the account currency."""
    return (str(asset_class).upper().startswith("FX_")
            and str(symbol).strip()[:3].upper() == str(account_currency).strip().upper())


def check(symbol, known: bool, size, lot_step, side) -> str:
    """The Check line: why the plan's figures are blank, 0 or assumed, or "OK"."""
    why = []
    if not known:
        why.append(f"{symbol} is not in the Instruments sheet: contract size 1 and pip 0.0001 assumed")
    if isnum(size) and size == 0:
        why.append(f"the risk budget does not cover one lot step ({_general(lot_step)})")
    if side_message(side) is not None:
        why.append(BAD_SIDE)
    return "; ".join(why) or "OK"


def _general(v) -> str:
    """A number as Excel's ``&`` writes it (General format)."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:.15g}" if isinstance(v, (int, float)) else str(v)


def build(book: Book) -> None:
    settings, instruments = book.settings, book.instruments
    plan = {"Equity": settings.starting_balance, "Risk per trade": settings.risk_per_trade,
            "Leverage": settings.account_leverage, **DEFAULT_PLAN}
    plan.update(book.inputs.get("plan") or {})  # what the trader typed there (a fill keeps it)
    s = book.sheet(TITLE)
    ws = s.ws
    s.text("A1", "Pre-trade planner", font=TITLE_FONT)
    s.text("A2", "Yellow cells are inputs; everything else is computed by the add-in's functions.", font=NOTE_FONT)
    s.text("A3", "Inputs", font=SECTION_FONT)
    inputs = (("Equity", plan["Equity"], C.MONEY, "account currency"),
              ("Risk per trade", plan["Risk per trade"], "0.00%", "fraction of equity"),
              ("Symbol", plan["Symbol"], None, "a symbol of the Instruments sheet"),
              ("Side", plan["Side"], None, "long or short (buy/sell, 1/-1)"),
              ("Entry", plan["Entry"], C.PRICE, ""), ("Stop", plan["Stop"], C.PRICE, ""),
              ("Target", plan["Target"], C.PRICE, ""),
              ("Leverage", plan["Leverage"], C.schema.LEVERAGE, "the account's leverage, e.g. 30 for 1:30"),
              ("FX to account", plan["FX to account"], C.schema.FX,
               "quote currency -> account currency; 1 when the same"),
              ("Lot step", plan["Lot step"], C.schema.SIZE, "smallest size increment"))
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
    # a dropdown of the words; any side the functions read (1, -1, BUY...) may be typed (the Check line
    # says when they cannot read it)
    side_dv = DataValidation(type="list", formula1='"long,short,buy,sell"', allow_blank=False,
                             showErrorMessage=False)
    ws.add_data_validation(side_dv)
    side_dv.add(P["Side"].replace("$", ""))

    by_symbol = {i.symbol.upper(): i for i in instruments}
    inst = by_symbol.get(str(V["Symbol"]).upper())
    row = [15]
    s.text("A14", "From the Instruments sheet", font=SECTION_FONT)

    def out(label, formula, value, fmt, note="", addin=False, align="right"):
        r = row[0]
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"B{r}", guarded(formula) if addin else formula, value, fmt=fmt, font=VALUE_FONT, border=BOX,
                  align=Alignment(horizontal=align))
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
    out("Contract size", look("Contract size", "1"), ival("contract_size", 1.0), C.schema.SIZE)
    out("Pip size", look("Pip size", "0.0001"), ival("pip_size", 0.0001), C.schema.SIZE)
    out("Quote currency", look("Quote currency", '""'), ival("quote_currency", ""), None)
    pv = V["Contract size"] * V["FX to account"]
    out("Point value", f'{P["Contract size"]}*{P["FX to account"]}', pv, C.schema.POINT,
        "account currency per 1.0 price move per lot")
    base = base_account(V["Asset class"], V["Symbol"], settings.account_currency)
    out("Account is base currency", f'AND(LEFT({P["Asset class"]},3)="FX_",'
        f'UPPER(LEFT(TRIM({P["Symbol"]}),3))=UPPER(TRIM(AccountCurrency)))', base, None,
        "TRUE: margin in the base currency, profit at 1/price (USDJPY in a USD account)")
    row[0] += 1
    s.text(f"A{row[0]}", "The plan", font=SECTION_FONT)
    row[0] += 1
    eq, rp, sym, side = V["Equity"], V["Risk per trade"], V["Symbol"], V["Side"]
    e, st, tg, lev, step = V["Entry"], V["Stop"], V["Target"], V["Leverage"], V["Lot step"]
    pip, cs, fx = V["Pip size"], V["Contract size"], V["FX to account"]
    bad_side = side_message(side)
    sd = risk.parse_side(side) if bad_side is None else None
    # The margin model's arguments (addin.risk.margin_models): Contract size, FX to account and the flag,
    # or, when the account currency is the base currency, Contract size, 1 and TRUE.
    kind = f'{P["Contract size"]},IF({P["Account is base currency"]},1,{P["FX to account"]})'
    base_arg = P["Account is base currency"]
    kfx = 1.0 if base else fx

    def sided(fn, *args):
        return bad_side if bad_side is not None else result(fn, sd, *args)

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
    margin = result(risk.margin_required, size, e, lev, cs, kfx, base)
    out("Margin", f'MARGIN_REQUIRED({P["Position size"]},{P["Entry"]},{P["Leverage"]},{kind},{base_arg})',
        margin, C.MONEY, "in the base currency when the account is (size x contract / leverage)", addin=True)
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
        f'{P["Asset class"]}))') + ")", cap, C.schema.LEVERAGE_X, "retail cap today under the Regulator setting")
    wp = result(risk.wipeout_pips, margin, size, pip, pv)
    out("Wipe-out distance, pips", f'WIPEOUT_PIPS({P["Margin"]},{P["Position size"]},{P["Pip size"]},'
        f'{P["Point value"]})', wp, "#,##0.0", "adverse move that loses the whole margin", addin=True)
    out("Wipe-out distance, % of price", f'WIPEOUT_MOVE({P["Leverage"]},StopOutLevel,{P["Side"]},{base_arg})',
        bad_side if bad_side is not None else result(risk.wipeout_move, lev, settings.stop_out_level, sd, base),
        "0.00%", "move that takes an all-in position to the StopOutLevel", addin=True)
    mc = sided(risk.margin_call_price, e, size, eq, lev, 1, cs, kfx, 0, base)
    out("Margin call price (100%)", f'MARGIN_CALL_PRICE({P["Side"]},{P["Entry"]},{P["Position size"]},'
        f'{P["Equity"]},{P["Leverage"]},1,{kind},0,{base_arg})', mc, C.PRICE, addin=True)
    so = sided(risk.stop_out_price, e, size, eq, lev, settings.stop_out_level, cs, kfx, 0, base)
    out("Stop-out price", f'STOP_OUT_PRICE({P["Side"]},{P["Entry"]},{P["Position size"]},{P["Equity"]},'
        f'{P["Leverage"]},StopOutLevel,{kind},0,{base_arg})', so, C.PRICE, "at the StopOutLevel setting",
        addin=True)
    liq = sided(risk.liquidation_price, e, lev)
    out("Liquidation price (isolated)", f'LIQUIDATION_PRICE({P["Side"]},{P["Entry"]},{P["Leverage"]})', liq,
        C.PRICE, "crypto-exchange style, 0.5% maintenance", addin=True)
    rr = sided(risk.reward_risk, e, st, tg)
    out("Reward-to-risk", f'REWARD_RISK({P["Side"]},{P["Entry"]},{P["Stop"]},{P["Target"]})', rr, "0.00", addin=True)
    profit = sided(risk.profit_at_price, e, tg, size, cs, kfx, 0, base)
    out("Profit at the target", f'PROFIT_AT_PRICE({P["Side"]},{P["Entry"]},{P["Target"]},{P["Position size"]},'
        f'{kind},0,{base_arg})', profit, C.MONEY, "signed, account currency: < 0 when the target loses",
        addin=True)
    known = inst is not None
    unknown = f'ISNA(MATCH({P["Symbol"]},Instruments[Symbol],0))'
    zero = f'AND(ISNUMBER({P["Position size"]}),{P["Position size"]}=0)'
    out("Check", f'IF(AND(NOT({unknown}),NOT({zero}),{is_side(P["Side"])}),"OK",MID('
        f'IF({unknown},"; "&{P["Symbol"]}&" is not in the Instruments sheet: contract size 1 and pip 0.0001 '
        f'assumed","")&IF({zero},"; the risk budget does not cover one lot step ("&{P["Lot step"]}&")","")&'
        f'IF({is_side(P["Side"])},"","; {BAD_SIDE}"),3,1000))', check(sym, known, size, step, side), None,
        align="left")  # no note: the words run on into column C
    if book.account is not None:  # the planned trade among the open positions (addin/journal/account.py)
        row[0] = planner_context(s, P, V, row[0] + 1, book.account, settings)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 52
    ws.sheet_view.showGridLines = False
    fit_width(ws, "portrait", f"A1:C{row[0] - 1}", fit_height=1)
