"""The Trades table: its columns, their formulas, and the same arithmetic in Python for cached values.

Input columns hold what a statement says (one per :class:`~addin.statements.model.Trade` field,
plus ``Instrument``, the Instruments-table key the build fills from :func:`instruments.lookup`).
Calculated columns call the add-in's functions through ``Trades[[#This Row],[Column]]`` (the form
Excel writes for a table's calculated column and LibreOffice also reads). Each calculated column
is defined twice, side by side: its Excel formula, and :func:`compute` which evaluates the same
thing column-wise with the Python implementations in :mod:`addin.udfs` so every formula cell is
written with the value Excel will show. ``tests/test_journal_formulas.py`` evaluates the formulas
with an Excel engine and checks that the two agree on every cell.

Conventions of the formulas:

* a row without an entry price is blank: every calculated cell shows "";
* ``Point value`` (contract size x FX to account, each falling back to the Instruments table and 1)
  is passed to the functions as their ``contract_size`` argument with ``fx_rate`` left at 1:
  ``NOTIONAL(q, price, point_value)`` = q x contract x fx x price;
* ``Balance`` is StartingBalance + ``Cash in/out`` + ``Cumulative P/L`` (see :data:`CASH_DOC` and the
  column notes below); ``Drawdown`` is measured on trading P/L only, so a withdrawal is not a
  drawdown (see :data:`DRAWDOWN_DOC`);
* ``Equity used`` is the trade's equity when the statement gives it, else the balance before the
  trade (this row's Balance minus its own net P/L); ``Leverage used`` the trade's
  leverage, else 1 / the instrument's margin rate, else AccountLeverage;
* where a function answers with a message (no stop-out price exists, a product the regulator bars)
  the cell shows that message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import udfs

TABLE = "Trades"


def T(col: str) -> str:
    """Structured reference to this row's cell of ``col``."""
    return f"{TABLE}[[#This Row],[{col}]]"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str            # "text", "number", "date", "calc"
    width: float
    number_format: str = "General"
    formula: str = ""    # calculated columns: the formula without "="
    field: str = ""      # input columns: the Trade field


PRICE = "#,##0.00###"
QTY = "#,##0.####"
MONEY = "#,##0.00"
PCT = "0.00%"
LEV = '0.0"x"'
DATE = "yyyy-mm-dd hh:mm"

_KEY = f'IF({T("Instrument")}<>"",{T("Instrument")},{T("Symbol")})'


def _inst(col: str) -> str:
    return f"INDEX(Instruments[{col}],MATCH({_KEY},Instruments[Symbol],0))"


# Running sums over the column above this row (A1 references: a table's calculated column keeps
# them relative, and every engine reads them). RUNNING: column -> the column its range runs over.
RUNNING = {"Cumulative P/L": "Net P/L", "Drawdown": "Cumulative P/L"}
_CUM_SUM = "SUM({ref}$2:{ref}2)"
_PEAK = "MAX(0,{ref}$2:{ref}2)"

CASH_TABLE = "Cash"
FIRST_TRADE = "FirstTradeTime"  # defined name: MIN(Trades[Open time]), a cell on the Cash sheet
NO_TIME = 9.99e307  # a row with neither close nor open time counts every dated movement

CASH_DOC = """Cash in/out: deposits, withdrawals, credits and other cash movements (the Cash table) dated
on or after the first trade's open time (FirstTradeTime = MIN(Trades[Open time])) and up to this
row's time: its Close time for a closed trade, its Open time for an open one (the balance the
position was opened against, as equity at entry is), every dated movement for a row with neither.
Movements dated before the first trade are part of StartingBalance (the fill sets it from the
statement's balance before its first trade); undated movements are listed but never counted.
Formula: SUMPRODUCT(ISNUMBER(Cash[Time])*(Cash[Time]>=FirstTradeTime)*(Cash[Time]<=as-of),
Cash[Amount]) -- exact comparisons of the date serials (SUMIFS criteria would go through text)."""

DRAWDOWN_DOC = """Drawdown is measured on trading results, not on cash flows: the fall of Cumulative P/L from
its highest value so far (0, the start, included), as a fraction of the balance that would stand
had that fall not happened: 1 - Balance / (StartingBalance + Cash in/out + peak Cumulative P/L).
With no deposits or withdrawals this is the usual 1 - balance / peak balance. A withdrawal lowers
the balance but not the P/L, so it is no drawdown; a deposit does not hide one, it only enlarges
the base the loss is measured against (as a broker's or Myfxbook's gain-based drawdown does).
Empty ("") when that base is not positive (everything withdrawn)."""

INPUTS: tuple[Column, ...] = (
    Column("Trade ID", "text", 12, "@", field="trade_id"),
    Column("Broker", "text", 14, "@", field="broker"),
    Column("Account", "text", 11, "@", field="account"),
    Column("Open time", "date", 16, DATE, field="open_time"),
    Column("Close time", "date", 16, DATE, field="close_time"),
    Column("Symbol", "text", 10, "@", field="symbol"),
    Column("Instrument", "text", 10, "@"),
    Column("Asset class", "text", 12, "@", field="asset_class"),
    Column("Side", "text", 6, "@", field="side"),
    Column("Quantity", "number", 9, QTY, field="quantity"),
    Column("Contract size", "number", 9, "#,##0.##", field="contract_size"),
    Column("Entry", "number", 11, PRICE, field="entry"),
    Column("Stop", "number", 11, PRICE, field="stop"),
    Column("Target", "number", 11, PRICE, field="target"),
    Column("Exit", "number", 11, PRICE, field="exit"),
    Column("Commission", "number", 10, MONEY, field="commission"),
    Column("Swap", "number", 9, MONEY, field="swap"),
    Column("Taxes", "number", 8, MONEY, field="taxes"),
    Column("Profit", "number", 11, MONEY, field="profit"),
    Column("Quote currency", "text", 8, "@", field="quote_currency"),
    Column("Account currency", "text", 8, "@", field="account_currency"),
    Column("FX to account", "number", 9, "0.######", field="fx_to_account"),
    Column("Equity", "number", 11, MONEY, field="equity"),
    Column("Leverage", "number", 8, "0.##", field="leverage"),
)

_E = T("Entry")
_Q = T("Quantity")

CALCS: tuple[Column, ...] = (
    Column("Net P/L", "calc", 11, MONEY,
           f'IF({T("Profit")}="","",SUM({T("Profit")},{T("Commission")},{T("Swap")},{T("Taxes")}))'),
    Column("Cumulative P/L", "calc", 11, MONEY, f'IF({_E}="","",{_CUM_SUM})'),
    Column("Cash in/out", "calc", 11, MONEY,
           f'IF({_E}="","",SUMPRODUCT(ISNUMBER({CASH_TABLE}[Time])*({CASH_TABLE}[Time]>={FIRST_TRADE})'
           f'*({CASH_TABLE}[Time]<=IF({T("Close time")}<>"",{T("Close time")},IF({T("Open time")}<>"",'
           f'{T("Open time")},9.99E+307))),{CASH_TABLE}[Amount]))'),
    Column("Balance", "calc", 12, MONEY,
           f'IF({_E}="","",StartingBalance+{T("Cash in/out")}+{T("Cumulative P/L")})'),
    Column("Drawdown", "calc", 9, PCT,
           f'IF({_E}="","",IFERROR(1-{T("Balance")}/MAX(0,StartingBalance+{T("Cash in/out")}+{_PEAK}),""))'),
    Column("Equity used", "calc", 12, MONEY,
           f'IF({_E}="","",IF({T("Equity")}<>"",{T("Equity")},{T("Balance")}-SUM({T("Net P/L")})))'),
    Column("Leverage used", "calc", 8, "0.##",
           f'IF({_E}="","",IF({T("Leverage")}<>"",{T("Leverage")},'
           f'IFERROR(1/{_inst("Margin rate")},AccountLeverage)))'),
    Column("Point value", "calc", 10, "#,##0.####",
           f'IF({_E}="","",IF({T("Contract size")}<>"",{T("Contract size")},IFERROR({_inst("Contract size")},1))'
           f'*IF({T("FX to account")}<>"",{T("FX to account")},1))'),
    Column("Pip size", "calc", 8, "0.#####", f'IF({_E}="","",IFERROR({_inst("Pip size")},""))'),
    Column("Class", "calc", 12, "@",
           f'IF({_E}="","",IF({T("Asset class")}<>"",{T("Asset class")},IFERROR({_inst("Asset class")},"")))'),
    Column("Notional", "calc", 13, MONEY,
           f'IF(OR({_E}="",{_Q}=""),"",NOTIONAL({_Q},{_E},{T("Point value")}))'),
    Column("Margin", "calc", 11, MONEY,
           f'IF(OR({_E}="",{_Q}=""),"",MARGIN_REQUIRED({_Q},{_E},{T("Leverage used")},{T("Point value")}))'),
    Column("Effective leverage", "calc", 9, LEV,
           f'IF(ISNUMBER({T("Notional")}),EFFECTIVE_LEVERAGE({T("Notional")},{T("Equity used")}),"")'),
    Column("Risk at stop", "calc", 11, MONEY,
           f'IF(OR({_E}="",{_Q}="",{T("Stop")}=""),"",RISK_AT_STOP({_Q},{_E},{T("Stop")},{T("Point value")}))'),
    Column("Risk %", "calc", 8, PCT,
           f'IF(ISNUMBER({T("Risk at stop")}),IF({T("Equity used")}>0,{T("Risk at stop")}/{T("Equity used")},'
           f'"equity must be > 0"),"")'),
    Column("Wipe-out pips", "calc", 10, "#,##0.0",
           f'IF(AND(ISNUMBER({T("Margin")}),ISNUMBER({T("Pip size")})),'
           f'WIPEOUT_PIPS({T("Margin")},{_Q},{T("Pip size")},{T("Point value")}),"")'),
    Column("Stop-out price", "calc", 12, PRICE,
           f'IF(OR({_E}="",{_Q}="",{T("Side")}=""),"",STOP_OUT_PRICE({T("Side")},{_E},{_Q},{T("Equity used")},'
           f'{T("Leverage used")},StopOutLevel,{T("Point value")}))'),
    Column("Stop beyond stop-out", "calc", 10, "General",
           f'IF(AND(ISNUMBER({T("Stop")}),ISNUMBER({T("Stop-out price")})),'
           f'IF(OR({T("Side")}="short",{T("Side")}="sell",{T("Side")}=-1),'
           f'{T("Stop")}>={T("Stop-out price")},{T("Stop")}<={T("Stop-out price")}),"")'),
    Column("R multiple", "calc", 8, "0.00",
           f'IF(OR({_E}="",{T("Stop")}="",{T("Exit")}=""),"",R_MULTIPLE({T("Side")},{_E},{T("Stop")},{T("Exit")}))'),
    Column("Return on margin", "calc", 10, PCT,
           f'IF(AND(ISNUMBER({T("Net P/L")}),ISNUMBER({T("Margin")})),RETURN_ON_MARGIN({T("Net P/L")},{T("Margin")}),"")'),
    Column("Leverage cap", "calc", 10, "0.##",
           f'IF({_E}="","",IF({T("Class")}="FUTURE","exchange margin, no retail cap",'
           f'MAX_LEVERAGE(Regulator,IF(OR({T("Class")}="",LEFT({T("Class")},3)="FX_"),{_KEY},{T("Class")}),'
           f'{T("Open time")})))'),
    Column("Over cap", "calc", 8, "General",
           f'IF(AND(ISNUMBER({T("Leverage cap")}),ISNUMBER({T("Effective leverage")})),'
           f'{T("Effective leverage")}>{T("Leverage cap")},"")'),
)

TRAILING: tuple[Column, ...] = (
    Column("Setup", "text", 14, "@"),
    Column("Tags", "text", 16, "@"),
    Column("Mistakes", "text", 16, "@"),
    Column("Notes", "text", 24, "@", field="comment"),
    Column("Screenshot", "text", 18, "@"),
    Column("Source", "text", 24, "@", field="source"),
    Column("Flags", "text", 30, "@", field="flags"),
)

# The trader's columns: a fill writes them only on a trade it adds (Notes starts as the statement's
# comment), never on a row already in the journal. Stop and Target are the trader's too once typed.
TRADER_COLUMNS = ("Setup", "Tags", "Mistakes", "Notes", "Screenshot")
# Journals written before the trader columns called Notes "Comment".
RENAMED = {"Comment": "Notes"}
# Hidden sheet listing every trade a fill imported (Broker, Account, Trade ID), so a trade the
# trader deleted from Trades is not imported again.
LEDGER_SHEET = "Imported"
LEDGER_COLUMNS = ("Broker", "Account", "Trade ID")

COLUMNS: tuple[Column, ...] = INPUTS + CALCS + TRAILING
BY_NAME = {c.name: c for c in COLUMNS}
INDEX = {c.name: i for i, c in enumerate(COLUMNS)}


def letter(i: int) -> str:
    """Column letter of the 0-based column index ``i``."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def formula(col: Column) -> str:
    """The formula of a calculated column for its first data row (row 2)."""
    if col.name in RUNNING:
        return col.formula.format(ref=letter(INDEX[RUNNING[col.name]]))
    return col.formula


def row_formula(col: Column, row: int) -> str:
    """The formula of a calculated column in sheet row ``row`` (only the running sums move)."""
    f = formula(col)
    if row != 2 and col.name in RUNNING:
        ref = letter(INDEX[RUNNING[col.name]])
        f = f.replace(f"{ref}$2:{ref}2", f"{ref}$2:{ref}{row}")
    return f


# Python evaluation --------------------------------------------------------------------------------

def blank(v: object) -> bool:
    return v is None or v == ""


def isnum(v: object) -> bool:
    return type(v) in (float, int)


def _flat(result: object, n: int) -> list:
    if isinstance(result, list):
        return [r[0] for r in result]
    return [result] * n


def vcall(fn: Callable, rows: Sequence[int], n: int, *args: object) -> list:
    """Call a UDF once over the selected ``rows`` (each arg a full column list or a scalar) and
    scatter its results into a column of ``n`` cells; other cells are ""."""
    out: list = [""] * n
    if not rows:
        return out
    picked = [[a[i] for i in rows] if isinstance(a, list) else a for a in args]
    if len(rows) == 1:
        picked = [p[0] if isinstance(p, list) else p for p in picked]
    for i, v in zip(rows, _flat(fn(*picked), len(rows))):
        out[i] = v
    return out


def _side_is_short(v: object) -> bool:
    return (isinstance(v, str) and v.strip().lower() in ("short", "sell")) or (isnum(v) and v == -1)


def first_trade_time(open_times: Sequence[float | None]) -> float:
    """MIN(Trades[Open time]) on date serials: 0 when no row has one."""
    got = [t for t in open_times if isnum(t)]
    return min(got) if got else 0.0


def cash_windows(cash: Sequence[tuple[float | None, float]], t0: float) -> Callable[[float], float]:
    """The Cash in/out SUMPRODUCT for a given as-of serial: the amounts of the movements dated in
    [t0, as-of], summed in the Cash table's row order (``cash``: (time serial or None, amount), the
    dated rows sorted by time first, as the build writes them) so the sum is the engine's, bit for bit."""
    from bisect import bisect_left, bisect_right

    dated = [(t, a) for t, a in cash if isnum(t)]
    times = [t for t, _ in dated]
    if times != sorted(times):
        raise ValueError("dated cash movements must come first, sorted by time")
    lo = bisect_left(times, t0)
    prefix = [0.0]
    for _, a in dated[lo:]:
        prefix.append(prefix[-1] + a)

    def upto(asof: float) -> float:
        hi = bisect_right(times, asof)
        return prefix[hi - lo] if hi > lo else 0.0

    return upto


def compute(c: dict[str, list], settings, inst: dict[str, dict],
            cash: Sequence[tuple[float | None, float]] = (), times: dict[str, list] | None = None) -> None:
    """Fill ``c`` (input column name -> list of cell values, None for empty) with every calculated
    column, exactly as the formulas compute them. ``inst`` maps an Instruments symbol (upper case,
    as MATCH compares) to its row {column: value}. ``cash`` is the Cash table as (time serial,
    amount) rows in sheet order; ``times`` the "Open time" and "Close time" columns as date serials
    (None for empty)."""
    n = len(c["Entry"])
    rng = range(n)
    E, Q = c["Entry"], c["Quantity"]
    live = [i for i in rng if not blank(E[i])]

    def key(i: int) -> str:
        k = c["Instrument"][i]
        return k if not blank(k) else c["Symbol"][i]

    def inst_val(i: int, col: str) -> object:
        """INDEX/MATCH into Instruments: KeyError stands for #N/A; an empty cell reads as 0."""
        k = key(i)
        row = inst[str(k).upper()] if not blank(k) else None
        if row is None:
            raise KeyError(k)
        v = row.get(col)
        return 0.0 if blank(v) else v

    def iferror(i: int, col: str, fallback: object) -> object:
        try:
            return inst_val(i, col)
        except KeyError:
            return fallback

    profit = c["Profit"]
    net = [""] * n
    for i in rng:
        if not blank(profit[i]):
            net[i] = sum(v for v in (profit[i], c["Commission"][i], c["Swap"][i], c["Taxes"][i]) if isnum(v))
    c["Net P/L"] = net

    sb = settings.starting_balance
    times = times or {"Open time": [None] * n, "Close time": [None] * n}
    opens, closes = times["Open time"], times["Close time"]
    upto = cash_windows(cash, first_trade_time(opens))
    cum, flow, bal, dd = ([""] * n for _ in range(4))
    run = 0.0
    peak = 0.0
    for i in rng:
        if isnum(net[i]):
            run += net[i]
        if blank(E[i]):
            continue
        cum[i] = run
        peak = max(peak, run)
        asof = closes[i] if isnum(closes[i]) else opens[i] if isnum(opens[i]) else NO_TIME
        flow[i] = upto(asof)
        bal[i] = sb + flow[i] + run
        base = sb + flow[i] + peak
        dd[i] = 1 - bal[i] / base if base > 0 else ""
    c["Cumulative P/L"], c["Cash in/out"], c["Balance"], c["Drawdown"] = cum, flow, bal, dd

    eq, lev, pv, pip, cls = ([""] * n for _ in range(5))
    for i in live:
        eq[i] = c["Equity"][i] if not blank(c["Equity"][i]) else bal[i] - (net[i] if isnum(net[i]) else 0)
        if not blank(c["Leverage"][i]):
            lev[i] = c["Leverage"][i]
        else:
            try:
                rate = inst_val(i, "Margin rate")
                lev[i] = 1 / rate if isnum(rate) and rate != 0 else settings.account_leverage
            except KeyError:
                lev[i] = settings.account_leverage
        cs = c["Contract size"][i] if not blank(c["Contract size"][i]) else iferror(i, "Contract size", 1)
        fx = c["FX to account"][i] if not blank(c["FX to account"][i]) else 1
        pv[i] = cs * fx
        pip[i] = iferror(i, "Pip size", "")
        cls[i] = c["Asset class"][i] if not blank(c["Asset class"][i]) else iferror(i, "Asset class", "")
    c["Equity used"], c["Leverage used"], c["Point value"], c["Pip size"], c["Class"] = eq, lev, pv, pip, cls

    sized = [i for i in live if not blank(Q[i])]
    c["Notional"] = notional = vcall(udfs.NOTIONAL, sized, n, Q, E, pv)
    c["Margin"] = margin = vcall(udfs.MARGIN_REQUIRED, sized, n, Q, E, lev, pv)
    c["Effective leverage"] = eff = vcall(udfs.EFFECTIVE_LEVERAGE, [i for i in rng if isnum(notional[i])], n,
                                          notional, eq)
    S = c["Stop"]
    c["Risk at stop"] = ras = vcall(udfs.RISK_AT_STOP, [i for i in sized if not blank(S[i])], n, Q, E, S, pv)
    rp = [""] * n
    for i in rng:
        if isnum(ras[i]):
            rp[i] = ras[i] / eq[i] if _gt0(eq[i]) else "equity must be > 0"
    c["Risk %"] = rp
    c["Wipe-out pips"] = vcall(udfs.WIPEOUT_PIPS, [i for i in rng if isnum(margin[i]) and isnum(pip[i])], n,
                               margin, Q, pip, pv)
    side = c["Side"]
    c["Stop-out price"] = so = vcall(udfs.STOP_OUT_PRICE, [i for i in sized if not blank(side[i])], n,
                                     side, E, Q, eq, lev, settings.stop_out_level, pv)
    beyond = [""] * n
    for i in rng:
        if isnum(S[i]) and isnum(so[i]):
            beyond[i] = S[i] >= so[i] if _side_is_short(side[i]) else S[i] <= so[i]
    c["Stop beyond stop-out"] = beyond
    X = c["Exit"]
    c["R multiple"] = vcall(udfs.R_MULTIPLE, [i for i in live if not blank(S[i]) and not blank(X[i])], n,
                            side, E, S, X)
    c["Return on margin"] = vcall(udfs.RETURN_ON_MARGIN, [i for i in rng if isnum(net[i]) and isnum(margin[i])],
                                  n, net, margin)
    cap = [""] * n
    cap_rows, cap_args, cap_dates = [], [], []
    for i in live:
        if isinstance(cls[i], str) and cls[i].upper() == "FUTURE":
            cap[i] = "exchange margin, no retail cap"
            continue
        k = cls[i]
        if k == "" or (isinstance(k, str) and k[:3].upper() == "FX_"):
            k = key(i)
        cap_rows.append(i)
        cap_args.append(k)
        cap_dates.append(c["Open time"][i])
    if cap_rows:
        full_args = [""] * n
        full_dates: list = [None] * n
        for i, k, d in zip(cap_rows, cap_args, cap_dates):
            full_args[i], full_dates[i] = k, d
        got = vcall(udfs.MAX_LEVERAGE, cap_rows, n, settings.regulator, full_args, full_dates)
        for i in cap_rows:
            cap[i] = got[i]
    c["Leverage cap"] = cap
    c["Over cap"] = [eff[i] > cap[i] if isnum(cap[i]) and isnum(eff[i]) else "" for i in rng]


def _gt0(v: object) -> bool:
    """Excel's ``v>0``: text compares greater than any number."""
    return isinstance(v, str) or (isnum(v) and v > 0)


def is_finite_number(v: object) -> bool:
    return isnum(v) and math.isfinite(v)
