"""The Planner sheet: the pre-trade calculator.

Every figure of the plan is a native spreadsheet formula (Excel, LibreOffice, Google Sheets compute
it without the add-in): risk amount, position size rounded down to the lot step, risk at the stop,
notional, margin (both margin models of :mod:`addin.risk.margin_models`), effective leverage,
wipe-out distances, margin-call, stop-out and liquidation prices, reward-to-risk, profit at the
target and at the stop. Each formula is the closed form of the :mod:`addin.risk` function the add-in
would call, with that function's checks in the same order: a bad input shows the function's own
words ("entry must be > 0 (got -1)", "side must be long/buy, short/sell, 1 or -1 (got 'up')"), never
an Excel error code. Numbers inside those words are written as the spreadsheet writes them (General:
up to 15 significant digits; the add-in writes 10). The cached values come from :mod:`addin.risk`
itself (the single definition of every formula); the checks are mirrored in Python here.

One figure keeps an add-in call: the regulator's cap (``MAX_LEVERAGE``: the dated caps and the
regulator's own list of major currencies live in :mod:`addin.risk.caps`); the cell beside it says
so, and without the add-in it shows "needs the add-in". Under the Regulator NONE (no retail cap) it
needs no add-in: it says so in the Trades column's words."""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation

from .. import risk
from ..cells import OUT_OF_RANGE
from ..risk.errors import NoPrice, RiskInputError
from ..risk.inputs import _LONG, _SHORT
from . import columns as C
from .account import planner_context
from .columns import BAD_POINT, _is, isnum
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


# Native argument checks ----------------------------------------------------------------------------
# What addin.cells does with a cell before the risk function sees it, and then the function's own
# rules, as a chain of IF(condition, "the words", ...) around the closed form. Each check has its
# Python mirror, so the cached value is the words the formula shows (and addin.risk's number when
# every check passes).

_ERROR_TEXTS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
_ERROR_LIST = ",".join(f'"{e}"' for e in _ERROR_TEXTS)


def _q(text: str) -> str:
    """A Python string as a spreadsheet string literal."""
    return '"' + text.replace('"', '""') + '"'


class Figure:
    """One figure: its checks (spreadsheet condition, spreadsheet words, Python words or None) in
    order, then its value."""

    def __init__(self):
        self.checks: list[tuple[str, str, str | None]] = []

    def check(self, cond: str, words: str, why: str | None) -> "Figure":
        self.checks.append((cond, words, why))
        return self

    def number(self, name: str, ref: str, v: object) -> "Figure":
        """``ref`` read as the add-in reads a numeric argument (addin.cells.number): an Excel error, TRUE/FALSE,
        an empty cell and text are refused in its words."""
        why = None
        if isinstance(v, str) and v in _ERROR_TEXTS:
            why = f"{name} is an Excel error ({v})"
        elif isinstance(v, bool):
            why = f"{name} must be a number (got {'TRUE' if v else 'FALSE'})"
        elif v is None or v == "":
            why = f"{name} is required (the cell is empty)"
        elif not isnum(v):
            why = f"{name} must be a number (got '{v}')"
        self.check(f"ISERROR({ref})", f'"{name} is an Excel error ("&CHOOSE(ERROR.TYPE({ref}),{_ERROR_LIST})&")"',
                   why if isinstance(v, str) and v in _ERROR_TEXTS else None)
        self.check(f"ISLOGICAL({ref})", f'"{name} must be a number (got "&IF({ref},"TRUE","FALSE")&")"',
                   why if isinstance(v, bool) else None)
        self.check(f'{ref}=""', _q(f"{name} is required (the cell is empty)"),
                   why if v is None or v == "" else None)
        self.check(f"NOT(ISNUMBER({ref}))", f'"{name} must be a number (got \'"&{ref}&"\')"',
                   why if why and isinstance(v, str) and v not in _ERROR_TEXTS else None)
        return self

    def rule(self, name: str, ref: str, v: object, ok: str, rule: str, holds: bool) -> "Figure":
        """``name must be <rule> (got <value>)`` unless the spreadsheet condition ``ok`` holds (``holds``:
        whether it does for the Python value)."""
        return self.check(f"NOT({ok})", f'"{name} must be {rule} (got "&{ref}&")"',
                          None if holds else f"{name} must be {rule} (got {_general(v)})")

    def side(self, ref: str, v: object) -> "Figure":
        """The side as addin.cells.side_arg reads it (words of addin.risk.parse_side, 1 or -1)."""
        why = None
        if isinstance(v, str) and v in _ERROR_TEXTS:
            why = f"side is an Excel error ({v})"
        elif v is None or v == "":
            why = "side is required (the cell is empty)"
        elif side_message(v) is not None:
            shown = ("TRUE" if v else "FALSE") if isinstance(v, bool) else _general(v) if isnum(v) else f"'{v}'"
            why = f"{BAD_SIDE} (got {shown})"
        self.check(f"ISERROR({ref})", f'"side is an Excel error ("&CHOOSE(ERROR.TYPE({ref}),{_ERROR_LIST})&")"',
                   why if isinstance(v, str) and v in _ERROR_TEXTS else None)
        self.check(f'AND(NOT(ISLOGICAL({ref})),{ref}="")', _q("side is required (the cell is empty)"),
                   why if v is None or v == "" else None)
        self.check(f"NOT({is_side(ref)})", f'"{BAD_SIDE} (got "&IF(ISLOGICAL({ref}),IF({ref},"TRUE","FALSE"),'
                   f'IF(ISNUMBER({ref}),{ref},"\'"&{ref}&"\'"))&")"', why)
        return self

    def given(self, ref: str, ok: bool, why: object) -> "Figure":
        """A figure read from another figure's cell: that cell's words when it holds no number."""
        return self.check(f"NOT(ISNUMBER({ref}))", ref, None if ok else str(why))

    def formula(self, value: str) -> str:
        out = value
        for cond, words, _ in reversed(self.checks):
            out = f"IF({cond},{words},{out})"
        return out

    def value(self, compute) -> object:
        for _, _, why in self.checks:
            if why is not None:
                return why
        try:
            return compute()
        except (RiskInputError, NoPrice) as err:
            return str(err)
        except OverflowError:  # beyond the float range (more lot steps than a float resolves): the add-in's words
            return OUT_OF_RANGE


def direction(ref: str) -> str:
    """+1 / -1 of a side cell already checked by :meth:`Figure.side`."""
    return f"IF({_is(ref, _LONG)},1,-1)"


def round_down_formula(x: str, step: str) -> str:
    """:func:`addin.risk.leverage.round_down` of the expression ``x`` to the lot step ``step``, natively:
    whole steps (INT), one more when the ratio is within 0.001 of it and that does not exceed x by more
    than float noise (1e-12 relative), rounded to the step's decimals + 6, one step less if above."""
    allowed = f"({x})*(1+1E-12)"
    d = f"(MAX(0,-INT(LOG10({step})))+6)"
    ratio = f"(({x})/{step})"
    s0 = f"INT{ratio}"
    s1 = f"IF(AND({ratio}-{s0}>0.999,ROUND(({s0}+1)*{step},{d})<={allowed}),{s0}+1,{s0})"
    one = f"ROUND(({s1})*{step},{d})"
    less = f"ROUND(({s1}-1)*{step},{d})"
    return f"IF({step}=0,{x},IF({one}<={allowed},{one},IF({less}<={allowed},{less},0)))"


def leverage_formula(ref: str) -> str:
    """The Leverage input as a number, read as :func:`addin.risk.parse_leverage` reads it (30, "1:30",
    "30:1", "30x", "x30"), or its words."""
    t = f'LOWER(SUBSTITUTE(TRIM({ref})," ",""))'
    colon = f'FIND(":",{t})'
    a, b = f"VALUE(LEFT({t},{colon}-1))", f"VALUE(MID({t},{colon}+1,99))"
    x_count = f'(LEN({t})-LEN(SUBSTITUTE({t},"x","")))'
    x_ok = f'OR({x_count}=0,AND({x_count}=1,OR(LEFT({t},1)="x",RIGHT({t},1)="x")))'
    parsed = (f'IF(ISNUMBER({colon}),IF(AND({a}>0,{b}>0),MAX({a},{b})/MIN({a},{b}),-1),'
              f'IF({x_ok},VALUE(SUBSTITUTE({t},"x","")),-1))')
    words = f'"leverage must be a number or text like 1:30, 30:1 or 30x (got \'"&{ref}&"\')"'
    return (f'IF(ISERROR({ref}),"leverage is an Excel error ("&CHOOSE(ERROR.TYPE({ref}),{_ERROR_LIST})&")",'
            f'IF(ISLOGICAL({ref}),"leverage must be a number or text like 1:30 (got "&IF({ref},"TRUE","FALSE")&")",'
            f'IF({ref}="","leverage is required (the cell is empty)",'
            f'IF(ISNUMBER({ref}),IF({ref}>0,{ref},"leverage must be > 0 (got "&{ref}&")"),'
            f'IFERROR(IF({parsed}>0,{parsed},{words}),{words})))))')


def leverage_value(v: object) -> object:
    if isinstance(v, str) and v in _ERROR_TEXTS:
        return f"leverage is an Excel error ({v})"
    if isinstance(v, bool):
        return f"leverage must be a number or text like 1:30 (got {'TRUE' if v else 'FALSE'})"
    if v is None or v == "":
        return "leverage is required (the cell is empty)"
    if isnum(v):
        return float(v) if v > 0 else f"leverage must be > 0 (got {_general(v)})"
    try:
        return risk.parse_leverage(v)
    except RiskInputError:
        return f"leverage must be a number or text like 1:30, 30:1 or 30x (got '{v}')"


def _price_level(side: int, entry: float, q: float, equity: float, lev: float, level: float, cs: float,
                 fx: float, base: bool) -> object:
    return risk.margin_call_price(side, entry, q, equity, lev, level, cs, fx, 0, base)


def level_price_formula(sd: str, e: str, q: str, eq: str, lev: str, level: str, cs: str, fx: str, base: str) -> str:
    """:func:`addin.risk.margin_models.price_at_margin_level` natively (no other margin): the base kind
    P = entry / (1 + side x (equity - T) / Q), T = level x Q / leverage, Q = |q| x contract size; the
    quote kind P = (equity - side x entry x K) / (K x (level / leverage - side)), K = Q x fx; with its
    no-price words."""
    Q = f"(ABS({q})*{cs})"
    T = f"({level}*({Q}/{lev}))"
    den = f"(1+{sd}*({eq}-{T})/{Q})"
    base_kind = (f'IF({eq}<{T},"margin level is already below "&{level}&" at entry",IF({den}<=0,'
                 f'"no price: the margin is in the account (base) currency and the equity covers the largest loss '
                 f'a short can make, however far the price rises",{e}/{den}))')
    K = f"({Q}*{fx})"
    num = f"({eq}-{sd}*{e}*{K})"
    num0 = f"IF(ABS({num})<=1E-12*(ABS({eq})+{e}*{K}),0,{num})"
    slope = f"({K}*({level}/{lev}-{sd}))"
    quote_kind = (f'IF({eq}<{level}*({K}*{e}/{lev}),"margin level is already below "&{level}&" at entry",'
                  f'IF(AND({sd}=1,{slope}>=0),"margin level never falls to that level as price falls",'
                  f'IF({num0}/{slope}<=0,"no price: equity covers the position all the way to zero",{num0}/{slope})))')
    return f"IF({base},{base_kind},{quote_kind})"


def plan_inputs(book: Book) -> dict[str, object]:
    """The plan's ten inputs: the template's, or what the trader typed (a fill keeps them)."""
    settings = book.settings
    plan = {"Equity": settings.starting_balance, "Risk per trade": settings.risk_per_trade,
            "Leverage": settings.account_leverage, **DEFAULT_PLAN}
    plan.update(book.inputs.get("plan") or {})
    return plan


INPUT_LABELS = ("Equity", "Risk per trade", "Symbol", "Side", "Entry", "Stop", "Target", "Leverage",
                "FX to account", "Lot step")
FIRST_INPUT_ROW = 4
CAP_NOTE = "needs the add-in (MAX_LEVERAGE): the dated caps of addin/risk/caps.py"


def plan_rows(plan: dict[str, object], settings, instruments) -> tuple[list[tuple], dict[str, str], dict[str, object]]:
    """The Planner's figures for the inputs ``plan``: rows (row, label, formula, cached value, number
    format, note; label None for a section title in ``note``), and the cell and value of each label
    (inputs included)."""
    P = {label: f"$B${FIRST_INPUT_ROW + k}" for k, label in enumerate(INPUT_LABELS)}
    V = {label: plan[label] for label in INPUT_LABELS}
    rows: list[tuple] = []
    at = [15]

    def out(label, formula, value, fmt, note=""):
        rows.append((at[0], label, formula, value, fmt, note))
        P[label], V[label] = f"$B${at[0]}", value
        at[0] += 1

    by_symbol = {i.symbol.upper(): i for i in instruments}
    inst = by_symbol.get(str(V["Symbol"]).upper())

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
    cs, fx = V["Contract size"], V["FX to account"]
    pv = cs * fx if isnum(cs) and isnum(fx) else BAD_POINT
    out("Point value", f'IFERROR({P["Contract size"]}*{P["FX to account"]},"{BAD_POINT}")', pv, C.schema.POINT,
        "account currency per 1.0 price move per lot")
    base = base_account(V["Asset class"], V["Symbol"], settings.account_currency)
    out("Account is base currency", f'AND(LEFT({P["Asset class"]},3)="FX_",'
        f'UPPER(LEFT(TRIM({P["Symbol"]}),3))=UPPER(TRIM(AccountCurrency)))', base, None,
        "TRUE: margin in the base currency, profit at 1/price (USDJPY in a USD account)")
    lev = leverage_value(V["Leverage"])
    out("Leverage used", leverage_formula(P["Leverage"]), lev, C.schema.LEVERAGE, "the Leverage input read as a number")
    at[0] += 1
    rows.append((at[0], None, None, None, None, "The plan"))
    at[0] += 1

    eq, rp, side = V["Equity"], V["Risk per trade"], V["Side"]
    e, st, tg, step, pip = V["Entry"], V["Stop"], V["Target"], V["Lot step"], V["Pip size"]
    E, S, TG, L, PV = P["Entry"], P["Stop"], P["Target"], P["Lot step"], P["Point value"]
    BASE, LEV, CS = P["Account is base currency"], P["Leverage used"], P["Contract size"]
    FXK = f'IF({BASE},1,{P["FX to account"]})'  # the margin model's fx_rate: 1 in the base kind
    kfx = 1.0 if base else fx
    sd = risk.parse_side(side) if side_message(side) is None else None
    SD = direction(P["Side"])
    ok = isnum  # a figure's cell holds a number

    # Risk amount: RISK_AMOUNT(equity, risk_pct)
    f = (Figure().number("equity", P["Equity"], eq).number("risk_pct", P["Risk per trade"], rp)
         .rule("risk_pct", P["Risk per trade"], rp, f'AND({P["Risk per trade"]}>=0,{P["Risk per trade"]}<=1)',
               "between 0 and 1 (1% is 0.01)", ok(rp) and 0 <= rp <= 1))
    amt = f.value(lambda: risk.risk_amount(eq, rp))
    out("Risk amount", f.formula(f'{P["Equity"]}*{P["Risk per trade"]}'), amt, C.MONEY, "equity x risk per trade")
    RA = P["Risk amount"]

    # Position size: POSITION_SIZE(risk amount, entry, stop, point value, lot step)
    f = (Figure().given(RA, ok(amt), amt).number("entry", E, e).number("stop_price", S, st).given(PV, ok(pv), pv)
         .number("lot_step", L, step)
         .rule("risk_amount", RA, amt, f"{RA}>=0", ">= 0", ok(amt) and amt >= 0)
         .rule("entry", E, e, f"{E}>0", "> 0", ok(e) and e > 0)
         .rule("stop_price", S, st, f"{S}>0", "> 0", ok(st) and st > 0)
         .check(f"{E}={S}", f'"stop_price must differ from entry (both "&{E}&")"',
                f"stop_price must differ from entry (both {_general(e)})" if ok(e) and e == st else None)
         .rule("point_value", PV, pv, f"{PV}>0", "> 0", ok(pv) and pv > 0)
         .rule("lot_step", L, step, f"{L}>=0", ">= 0", ok(step) and step >= 0))
    raw = f.value(lambda: amt / (abs(e - st) * pv))
    out("Size before rounding", f.formula(f"{RA}/(ABS({E}-{S})*{PV})"), raw, C.schema.SIZE_FIGURE,
        "risk amount / (stop distance x point value)")
    RAW = P["Size before rounding"]
    size = raw if not ok(raw) else f.value(lambda: risk.position_size(amt, e, st, pv, step))
    first = round_down_formula(RAW, L)
    over = f"AND({first}>0,ABS({E}-{S})*{first}*{PV}>{RA}*(1+1E-12))"
    out("Position size", f"IF(ISNUMBER({RAW}),IF({over},{round_down_formula(f'{RAW}*(1-1E-9)', L)},{first}),{RAW})",
        size, C.QTY, "rounded down to the lot step: loses at most the risk amount at the stop")
    Z = P["Position size"]

    # Risk at the stop: RISK_AT_STOP(size, entry, stop, point value)
    f = Figure().given(Z, ok(size), size).given(PV, ok(pv), pv).rule("point_value", PV, pv, f"{PV}>0", "> 0",
                                                                      ok(pv) and pv > 0)
    ras = f.value(lambda: risk.risk_at_stop(size, e, st, pv))
    out("Risk at the stop", f.formula(f"ABS({E}-{S})*ABS({Z})*{PV}"), ras, C.MONEY, "after rounding down to the lot step")
    f = (Figure().number("entry", E, e).number("stop_price", S, st).number("pip_size", P["Pip size"], pip)
         .rule("pip_size", P["Pip size"], pip, f'{P["Pip size"]}>0', "> 0", ok(pip) and pip > 0))
    out("Stop distance, pips", f.formula(f'ABS({E}-{S})/{P["Pip size"]}'), f.value(lambda: abs(e - st) / pip),
        "#,##0.0")

    # Notional: NOTIONAL(size, entry, point value)
    f = (Figure().given(Z, ok(size), size).given(PV, ok(pv), pv)
         .rule("contract_size", PV, pv, f"{PV}>0", "> 0", ok(pv) and pv > 0))
    notional = f.value(lambda: risk.notional(size, e, pv))
    out("Notional", f.formula(f"ABS({Z})*{PV}*{E}"), notional, C.MONEY)

    # Margin: MARGIN_REQUIRED(size, entry, leverage, contract size, fx or 1, account is base)
    f = (Figure().given(Z, ok(size), size).given(LEV, ok(lev), lev).number("contract_size", CS, cs)
         .rule("contract_size", CS, cs, f"{CS}>0", "> 0", ok(cs) and cs > 0).given(PV, ok(pv), pv)
         .rule("fx_rate", FXK, kfx, f"{FXK}>0", "> 0", ok(kfx) and kfx > 0))
    margin = f.value(lambda: risk.margin_required(size, e, lev, cs, kfx, base))
    out("Margin", f.formula(f"IF({BASE},ABS({Z})*{CS}/{LEV},ABS({Z})*{CS}*{E}*{FXK}/{LEV})"), margin, C.MONEY,
        "in the base currency when the account is (size x contract / leverage)")
    N_, M_ = P["Notional"], P["Margin"]

    # Effective leverage: EFFECTIVE_LEVERAGE(notional, equity)
    f = (Figure().given(N_, ok(notional), notional).number("equity", P["Equity"], eq)
         .rule("equity", P["Equity"], eq, f'{P["Equity"]}>0', "> 0", ok(eq) and eq > 0))
    out("Effective leverage", f.formula(f'{N_}/{P["Equity"]}'), f.value(lambda: risk.effective_leverage(notional, eq)),
        C.LEV, "notional / equity")

    # The regulator's cap: the add-in's MAX_LEVERAGE (dated caps, the regulator's list of majors).
    # Under the Regulator NONE no retail cap applies: the Trades column's words, without the add-in.
    cls = V["Asset class"]
    if settings.regulator == C.NO_CAP_REGIME:
        cap = C.NO_CAP
    elif isinstance(cls, str) and cls.upper() == "FUTURE":
        cap = FUTURE_CAP
    else:
        cap = result(risk.max_leverage, settings.regulator,
                     V["Symbol"] if cls == "" or str(cls)[:3].upper() == "FX_" else cls)
    out("Regulator's cap", f'IF({C.UNCAPPED},"{C.NO_CAP}",IF({P["Asset class"]}="FUTURE","{FUTURE_CAP}",' + guarded(
        f'MAX_LEVERAGE(Regulator,IF(OR({P["Asset class"]}="",LEFT({P["Asset class"]},3)="FX_"),{P["Symbol"]},'
        f'{P["Asset class"]}))') + "))", cap, C.schema.LEVERAGE_X, CAP_NOTE)

    # Wipe-out distance: WIPEOUT_PIPS(margin, size, pip size, point value)
    f = (Figure().given(M_, ok(margin), margin).given(Z, ok(size), size)
         .rule("quantity", Z, size, f"{Z}<>0", "a non-zero number", ok(size) and size != 0)
         .number("pip_size", P["Pip size"], pip)
         .rule("pip_size", P["Pip size"], pip, f'{P["Pip size"]}>0', "> 0", ok(pip) and pip > 0))
    out("Wipe-out distance, pips", f.formula(f'{M_}/(ABS({Z})*{PV}*{P["Pip size"]})'),
        f.value(lambda: risk.wipeout_pips(margin, size, pip, pv)), "#,##0.0", "adverse move that loses the whole margin")

    # WIPEOUT_MOVE(leverage, StopOutLevel, side, account is base): closed form of addin.risk.moves
    so_level = settings.stop_out_level
    f = Figure().side(P["Side"], side).given(LEV, ok(lev), lev)
    cushion = "(1-StopOutLevel)"
    room = f"IF({BASE},{LEV}+{SD}*{cushion},{LEV}-{SD}*StopOutLevel)"
    never = ("no price: an all-in position at this leverage never reaches the stop-out level",
             "margin level never falls to that level")
    move = (f'IF({room}<=0,IF(OR({SD}=1,{BASE}),"{never[0]}","{never[1]}"),IF(AND({SD}=1,{cushion}/{room}>=1),'
            f'"no price: equity covers the position all the way to zero",{cushion}/{room}))')
    out("Wipe-out distance, % of price", f.formula(move),
        f.value(lambda: risk.wipeout_move(lev, so_level, sd, base)), "0.00%",
        "move that takes an all-in position to the StopOutLevel")

    # MARGIN_CALL_PRICE / STOP_OUT_PRICE(side, entry, size, equity, leverage, level, contract, fx, 0, base)
    for label, level, LEVEL, note in (("Margin call price (100%)", 1.0, "1", ""),
                                      ("Stop-out price", so_level, "StopOutLevel", "at the StopOutLevel setting")):
        f = (Figure().side(P["Side"], side).number("entry", E, e).rule("entry", E, e, f"{E}>0", "> 0", ok(e) and e > 0)
             .given(Z, ok(size), size).rule("quantity", Z, size, f"{Z}<>0", "a non-zero number", ok(size) and size != 0)
             .number("equity", P["Equity"], eq).given(LEV, ok(lev), lev).number("contract_size", CS, cs)
             .rule("contract_size", CS, cs, f"{CS}>0", "> 0", ok(cs) and cs > 0).given(PV, ok(pv), pv)
             .rule("fx_rate", FXK, kfx, f"{FXK}>0", "> 0", ok(kfx) and kfx > 0))
        value = f.value(lambda lv=level: _price_level(sd, e, size, eq, lev, lv, cs, kfx, base))
        out(label, f.formula(level_price_formula(SD, E, Z, P["Equity"], LEV, LEVEL, CS, FXK, BASE)), value,
            C.PRICE, note)

    # LIQUIDATION_PRICE(side, entry, leverage): linear, 0.5% maintenance
    mmr = 0.005
    f = (Figure().side(P["Side"], side).number("entry", E, e).rule("entry", E, e, f"{E}>0", "> 0", ok(e) and e > 0)
         .given(LEV, ok(lev), lev))
    inv = f"(1/{LEV})"
    factor = f"IF({SD}=1,1-{inv}+{mmr},1+{inv}-{mmr})"
    liq = (f'IF({inv}<={mmr},"no liquidation price: the initial margin (1/leverage = "&ROUND({inv},3-INT(LOG10({inv})))&") is not above '
           f'the maintenance rate ({mmr}), so the position is liquidated at entry",IF({factor}<=0,'
           f'"no liquidation price: the margin covers a fall to zero",{E}*{factor}))')
    out("Liquidation price (isolated)", f.formula(liq), f.value(lambda: risk.liquidation_price(sd, e, lev)), C.PRICE,
        "crypto-exchange style, 0.5% maintenance")

    # REWARD_RISK(side, entry, stop, target)
    f = (Figure().side(P["Side"], side).number("entry", E, e).number("stop_price", S, st).number("target", TG, tg)
         .rule("entry", E, e, f"{E}>0", "> 0", ok(e) and e > 0)
         .rule("stop_price", S, st, f"{S}>0", "> 0", ok(st) and st > 0)
         .check(f"{E}={S}", f'"stop_price must differ from entry (both "&{E}&")"',
                f"stop_price must differ from entry (both {_general(e)})" if ok(e) and e == st else None))
    wrong_stop = sd is not None and ok(e) and ok(st) and sd * (e - st) < 0
    f.check(f"{SD}*({E}-{S})<0", f'"stop_price must be "&IF({SD}=1,"below","above")&" entry for a "&IF({SD}=1,"long",'
            f'"short")&" (got "&{S}&" against entry "&{E}&"): a stop on the profit side risks nothing"',
            (f"stop_price must be {'below' if sd == 1 else 'above'} entry for a {'long' if sd == 1 else 'short'} "
             f"(got {_general(st)} against entry {_general(e)}): a stop on the profit side risks nothing")
            if wrong_stop else None)
    f.rule("target", TG, tg, f"{TG}>0", "> 0", ok(tg) and tg > 0)
    no_reward = sd is not None and ok(e) and ok(tg) and sd * (tg - e) <= 0
    f.check(f"{SD}*({TG}-{E})<=0", f'"target must be "&IF({SD}=1,"above","below")&" entry for a "&IF({SD}=1,"long",'
            f'"short")&" (got "&{TG}&" against entry "&{E}&"): no reward"',
            (f"target must be {'above' if sd == 1 else 'below'} entry for a {'long' if sd == 1 else 'short'} "
             f"(got {_general(tg)} against entry {_general(e)}): no reward") if no_reward else None)
    out("Reward-to-risk", f.formula(f"{SD}*({TG}-{E})/ABS({E}-{S})"), f.value(lambda: risk.reward_risk(sd, e, st, tg)),
        "0.00")

    # PROFIT_AT_PRICE(side, entry, price, size, contract size, fx or 1, 0, base): at the target, at the stop
    for label, price_name, PR, pr, note in (
            ("Profit at the target", "target", TG, tg, "signed, account currency: < 0 when the target loses"),
            ("Profit at the stop", "stop", S, st, "signed: the loss at the stop (converted at the stop price "
                                                   "when the account is the base currency)")):
        f = (Figure().side(P["Side"], side).number("entry", E, e).rule("entry", E, e, f"{E}>0", "> 0", ok(e) and e > 0)
             .number("price", PR, pr).rule("price", PR, pr, f"{PR}>0", "> 0", ok(pr) and pr > 0)
             .number("contract_size", CS, cs).rule("contract_size", CS, cs, f"{CS}>0", "> 0", ok(cs) and cs > 0)
             .given(PV, ok(pv), pv).rule("fx_rate", FXK, kfx, f"{FXK}>0", "> 0", ok(kfx) and kfx > 0)
             .given(Z, ok(size), size))
        quote = f"{SD}*({PR}-{E})*ABS({Z})*{CS}"
        out(label, f.formula(f"IF({BASE},{quote}/{PR},{quote}*{FXK})"),
            f.value(lambda pr=pr: risk.profit_at_price(sd, e, pr, size, cs, kfx, 0, base)), C.MONEY, note)

    known = inst is not None
    unknown = f'ISNA(MATCH({P["Symbol"]},Instruments[Symbol],0))'
    zero = f'AND(ISNUMBER({Z}),{Z}=0)'
    out("Check", f'IF(AND(NOT({unknown}),NOT({zero}),{is_side(P["Side"])}),"OK",MID('
        f'IF({unknown},"; "&{P["Symbol"]}&" is not in the Instruments sheet: contract size 1 and pip 0.0001 '
        f'assumed","")&IF({zero},"; the risk budget does not cover one lot step ("&{L}&")","")&'
        f'IF({is_side(P["Side"])},"","; {BAD_SIDE}"),3,1000))', check(V["Symbol"], known, size, step, side), None)
    return rows, P, V


def figures(plan: dict[str, object], settings, instruments) -> dict[str, object]:
    """The Planner's figures (cached values) for the inputs ``plan``, by label, inputs included."""
    return plan_rows(plan, settings, instruments)[2]


def build(book: Book) -> None:
    settings = book.settings
    plan = plan_inputs(book)
    unread = [label for label in INPUT_LABELS if plan[label] is None]
    if unread:  # a blank input, or a formula of the trader's without a cached value: the program cannot
        # tell which, so the sheet is left to the spreadsheet's recalculation (addin/fill/summary.py)
        raise ValueError(f"the Planner's {', '.join(unread)} has no value the program can read")
    s = book.sheet(TITLE)
    ws = s.ws
    s.text("A1", "Pre-trade planner", font=TITLE_FONT)
    s.text("A2", "Yellow cells are inputs; every figure is a spreadsheet formula (no add-in needed) unless the "
                 "note beside it says otherwise.", font=NOTE_FONT)
    s.text("A3", "Inputs", font=SECTION_FONT)
    notes = {"Equity": (C.MONEY, "account currency"), "Risk per trade": ("0.00%", "fraction of equity"),
             "Symbol": (None, "a symbol of the Instruments sheet"), "Side": (None, "long or short (buy/sell, 1/-1)"),
             "Entry": (C.PRICE, ""), "Stop": (C.PRICE, ""), "Target": (C.PRICE, ""),
             "Leverage": (C.schema.LEVERAGE, "the account's leverage, e.g. 30 for 1:30"),
             "FX to account": (C.schema.FX, "quote currency -> account currency; 1 when the same"),
             "Lot step": (C.schema.SIZE, "smallest size increment")}
    for k, label in enumerate(INPUT_LABELS):
        r = FIRST_INPUT_ROW + k
        v = plan[label]
        fmt, note = notes[label]
        s.text(f"A{r}", label, font=LABEL_FONT)
        if isinstance(v, str):
            s.text(f"B{r}", v, fill=INPUT_FILL, font=VALUE_FONT, align=Alignment(horizontal="right"))
        else:
            s.value(f"B{r}", v, fmt=fmt, fill=INPUT_FILL, font=VALUE_FONT)
        s.text(f"C{r}", note, font=NOTE_FONT)
    # a dropdown of the words; any side the functions read (1, -1, BUY...) may be typed (the Check line
    # says when they cannot read it)
    side_dv = DataValidation(type="list", formula1='"long,short,buy,sell"', allow_blank=False,
                             showErrorMessage=False)
    ws.add_data_validation(side_dv)
    side_dv.add(f"B{FIRST_INPUT_ROW + INPUT_LABELS.index('Side')}")

    s.text("A14", "From the Instruments sheet", font=SECTION_FONT)
    rows, P, V = plan_rows(plan, settings, book.instruments)
    for r, label, formula, value, fmt, note in rows:
        if label is None:
            s.text(f"A{r}", note, font=SECTION_FONT)
            continue
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"B{r}", formula, value, fmt=fmt, font=VALUE_FONT, border=BOX,
                  align=Alignment(horizontal="left" if label == "Check" else "right"))
        if note:  # (none on the Check line: its words run on into column C)
            s.text(f"C{r}", note, font=NOTE_FONT)
    last = rows[-1][0] + 1
    if book.account is not None:  # the planned trade among the open positions (addin/journal/account.py)
        last = planner_context(s, P, V, last + 1, book.account, settings)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 52
    ws.sheet_view.showGridLines = False
    fit_width(ws, "portrait", f"A1:C{last - 1}", fit_height=1)
