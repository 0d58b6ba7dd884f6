"""The Trades table: ONE list of columns, each with its native spreadsheet formula and its Python twin.

A column is a :class:`Column`: name, kind, width, number format, and for a calculated column its
formula (native functions only: IF, IFERROR, AND/OR, ISNUMBER, INDEX/MATCH, LOOKUP, ROWS, COUNT, COUNTIFS, SUMIFS, SUMPRODUCT,
ABS, MIN/MAX, N, LEFT/MID/UPPER/TRIM/SUBSTITUTE -- what Excel 2016+, LibreOffice 7.x and Google
Sheets all evaluate; no add-in call, no XLOOKUP/MAXIFS/LET, no volatile function) and its ``twin``:
the same figure in Python, computed from :mod:`addin.risk` (the single definition of every formula),
which the build writes as the cell's cached value. ``tests/test_journal_formulas.py`` evaluates the
formulas with an Excel engine and checks every cell against the twins; ``tests/test_journal_libreoffice.py``
has LibreOffice recalculate them.

To add a column, add one :class:`Column` to :data:`INPUTS`, :data:`CALCS` or :data:`TRAILING`.
Input columns name the :class:`~addin.statements.model.Trade` field they show (``field``); a
calculated column gives ``formula`` and ``twin``. A twin is ``twin(row, up, env)``: ``row`` maps
every column to this row's value (inputs as written, dates as serials, calculated columns to the
left already computed; empty cells are ``None`` or ""), ``up`` the row above (``None`` above the
first data row: the header), ``env`` the :class:`Env` (settings, Instruments, Cash). The running
columns' twins also keep what their ranges from the header row hold (sums, maxima) on the row.

Conventions of the formulas:

* a row without an entry price is blank ("") in every calculated column;
* where a figure cannot be computed the cell says what is missing in a few words (never an Excel
  error code): "equity must be > 0", "out of order: sort by No.", "never stopped out";
* ``Point value`` (contract size x FX to account; the contract size falls back to the Instruments
  table and 1, FX to account to 1 only where the quote currency is the account currency, otherwise
  the cell says "no FX rate": a rate is never assumed) stands for ``contract_size`` with
  ``fx_rate`` 1 in the :mod:`addin.risk` functions;
* running figures (Cumulative P/L, Peak P/L) read ranges from the header row to this row, which
  deleting or inserting rows keeps right; each row adds its figure to the row above's (O(1)), so
  typing a trade at the bottom recalculates that row only; see :data:`RUNNING_DOC` for sorting;
* ``Leverage used`` is the trade's own leverage (stated by the statement for that trade, never the
  account's), else 1 / the instrument's margin rate, else 1 for a class held outright (STOCK,
  SPOT), else min(AccountLeverage, the regulator's cap for the instrument's class), AccountLeverage
  itself where no cap applies (a future; every class under the Regulator NONE);
  ``Leverage source`` says which, prefixed "assumed: " while AccountLeverage is the template's
  default nobody stated (and flags a symbol missing from Instruments); ``Over cap`` is TRUE/FALSE
  only where the leverage is known, "unknown" otherwise (see :data:`CAP_DOC`);
* a pair whose base currency is the account currency (USDJPY in a USD account) has MetaTrader's
  Forex margin in Margin, Stop-out price and Wipe-out pips (:mod:`addin.risk.margin_models`, base
  kind); every other row the quote kind.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
import dataclasses
from dataclasses import dataclass
from datetime import date

from .. import risk
from ..risk.caps import CAPS, METAL_CLASSES, NO_CAP_REGIME
from ..risk.errors import NoPrice, RiskInputError
from ..risk.inputs import _LONG, _SHORT
from . import schema

# Names and formats: the schema's (addin.journal.schema), under the names the formulas use.
TABLE = schema.TRADES_TABLE
CASH_TABLE = schema.CASH_TABLE
CAPS_TABLE = schema.CAPS_TABLE
MAJORS_TABLE = schema.MAJORS_TABLE
CURRENCY_TABLE = schema.CURRENCY_TABLE
CASH_FROM = schema.CASH_FROM  # defined name: a date (value) on the Cash sheet, written by the fill
NO_TIME = 9.99e307  # a row with neither close nor open time counts every dated movement
LAST_DAY = 2958465  # 9999-12-31: a trade without an open time gets the caps in force now

PRICE, QTY, MONEY, PCT, LEV, DATE, BOOL = (schema.PRICE, schema.QTY, schema.MONEY, schema.PCT, schema.LEV,
                                           schema.DATE, schema.BOOL)

RUNNING_DOC = """Running figures (Cumulative P/L, Peak P/L, and through them Balance, Drawdown and the
Equity used of a trade without its own equity) run down the table per account: over the rows above
of the same account (Broker and Account, compared as text without case) that hold a trade, in the
account's own currency. Cumulative P/L is the sum of the account's Net P/L from its first row to this
one, Peak P/L its highest Cumulative P/L so far (0, the start, included). Each row reads ranges that
start at the header row and end at this row (or the row above): deleting rows shrinks those ranges
and inserting rows inside grows them, in Excel and LibreOffice alike, so no edit of the rows leaves a
reference to a deleted cell (#REF!). A deleted trade is a gap in No.: the figures continue over the
trades that remain. A blank row shows blanks and is passed over. A trade typed into an inserted row
is counted where it stands: Excel fills a table's formulas into an inserted row; LibreOffice inserts
it without them, so the rows below count the trade from its input cells (SUMPRODUCT over Profit,
Commission, Swap and Taxes of the account's rows) and their Peak P/L says "a trade above has no
formulas: copy them down" (its cumulative figure, which could have been the peak, is nowhere). Cost:
a row whose row above is of the same account adds its figure to that row's (O(1)); only the first
row, a row after a blank row or another account's row, below a row inserted directly above, or next
to a row out of order sums its account's ranges from the header (O(rows above)), so a trade typed at
the bottom recalculates its own row only, and a journal of one account never takes the long way.

Order: the trades are numbered 1, 2, 3... in time order (No.). A row whose No. is smaller than a
No. above it says "out of order: sort by No." in Cumulative P/L (and Balance); Peak P/L and Drawdown
say so in that row and every row below it (the peak needs every earlier figure). A trade without a
No. counts where it stands. Sort by No. (ascending) and every figure is back. Filtering hides rows
without moving them and changes nothing. Why order-dependent: figures that do not depend on the
order would make every row read the whole No. and Net P/L columns (a per-row SUMIFS over the table:
O(rows) per row, and a trade typed at the bottom would recalculate every row). The price: a row
above the first out-of-order row cannot know that a trade with a smaller No. now sits below it; it
shows the running figures of the trades listed above it. After sorting by any other column almost
every row says "out of order". The figures of the trade itself (Notional, Margin, Risk at stop, R
multiple...) do not depend on the order."""

ACCOUNTS_DOC = """Accounts: a trade's account is its Broker and Account (the key BROKER|ACCOUNT, compared without
case). Its starting balance, the date its cash counts from and its rate to the home currency are
the account's row of the Account sheet's Accounts block (defined names AccountKeys, AccountStarts,
AccountFroms, AccountRates; MATCH: a key holding * ? or ~ would match as a wildcard). The block's
first account takes Settings' StartingBalance and the Cash sheet's CashFrom (formulas, so a journal
of one account is set up in Settings as before); every other account its own, stated by its
statement or typed. A trade whose account is not in the block (typed by hand, not yet filled) takes
StartingBalance and CashFrom. An account in the block without a starting balance shows "no starting
balance" in Balance and in what is built on it, never 0 presented as its balance."""

CASH_DOC = """Cash in/out: the account's deposits, withdrawals, credits and other cash movements (the Cash
rows of the trade's Broker and Account; a Cash row with neither belongs to the block's first account)
dated on or after the account's Counted from (CashFrom for the first account: the first trade's open
time, written by the build) and up to this row's time: its Close time for a closed trade, its Open
time for an open one (the balance the position was opened against, as equity at entry is), every
dated movement for a row with neither. Movements dated before Counted from are part of the account's
starting balance (the fill sets it from the statement's balance before its first trade); undated
movements are listed but never counted. Formula: SUMPRODUCT(ISNUMBER(Cash[Time])*(Cash[Time]>=from)*
(Cash[Time]<=as-of)*(the row's account), Cash[Amount]) -- exact comparisons of the date serials
(SUMIFS criteria would go through text). CashFrom is a value, not MIN(Trades[Open time]): a trade
typed at the bottom changes no other row."""

DRAWDOWN_DOC = """Drawdown is measured on trading results, not on cash flows: the fall of the account's Cumulative
P/L from its highest value so far (Peak P/L: 0, the start, included), as a fraction of the balance
that would stand had that fall not happened: 1 - Balance / (Balance - Cumulative P/L + Peak P/L),
i.e. 1 - Balance / (starting balance + Cash in/out + Peak P/L). With no deposits or withdrawals this
is the usual 1 - balance / peak balance. A withdrawal lowers the balance but not the P/L, so it is no
drawdown; a deposit does not hide one, it only enlarges the base the loss is measured against. Empty
("") when that base is not positive (everything withdrawn)."""

HOME_DOC = """Rate to home and Net P/L home: the trade's money in the home currency (HomeCurrency, the
Account sheet's Accounts block): 1 for an account in the home currency, else its account's Rate to
home in the block (typed, or the latest rate the journal's own trades give: one rate per currency,
so a closed trade is converted at that rate, not at its day's), else "no rate to home" -- never 1
presented as a rate. Sums in the home currency (Stats, Dashboard) count only rows with a rate and say
how many they left out."""

CAP_DOC = """Leverage cap is the retail leverage cap of the Regulator setting for the trade's class on the day
the trade opened, looked up in the Caps sheet (generated from addin/risk/caps.py, one dated row per
rule with its source). FX pairs are classed major or minor by the regulator's own list (the FXMajors
table). Futures have exchange margin and no retail cap. Over cap is TRUE/FALSE only when the
leverage is known -- the trade's own, the instrument's margin rate, 1 for a class held outright
(never over), or an AccountLeverage someone stated -- and "unknown" while the leverage rests on the
template's default AccountLeverage. It is TRUE when max(leverage used, notional / equity) exceeds
the cap, notional / equity counting only when the equity is known (the row's own, or rebuilt from a
stated starting balance): the regulators' cap is an initial margin per position (ESMA Decision (EU)
2018/796, Article 2(a) and Annex I: 3.33% of the notional for a major pair...), so a position worth
more than cap x equity needs more margin at the cap than the whole equity and was not margined at
the cap, e.g. 1.78 lots EURUSD on 397 of equity (487x) is over ESMA's 30:1 whatever the leverage
stated. A professional client, or a broker outside that regulator, may legitimately trade over the
cap; the column says the trade would not be allowed to a retail client under the Regulator setting.
Under the Regulator NONE (an offshore broker or a professional client) no retail cap applies: Leverage
cap says so, Leverage used is the AccountLeverage uncapped, Cap class is the Class as it is, and Over
cap is FALSE where the leverage is known ("unknown" while it rests on the template's default)."""


Column = schema.Column


# Formula building ---------------------------------------------------------------------------------

def T(col: str) -> str:
    """Structured reference to this row's cell of ``col``."""
    return f"{TABLE}[[#This Row],[{col}]]"


def UP(col: str) -> str:
    """Placeholder for the cell of ``col`` in the row above (an A1 reference once placed in a row)."""
    return "{up:" + col + "}"


E, Q, S, X = T("Entry"), T("Quantity"), T("Stop"), T("Exit")
KEY = f'IF({T("Instrument")}<>"",{T("Instrument")},{T("Symbol")})'
_MONEY_CUR = f'IF({T("Account currency")}<>"",{T("Account currency")},AccountCurrency)'


def inst(col: str) -> str:
    return f"INDEX(Instruments[{col}],MATCH({KEY},Instruments[Symbol],0))"


# Python evaluation helpers (Excel semantics) ------------------------------------------------------

def blank(v: object) -> bool:
    return v is None or v == ""


def isnum(v: object) -> bool:
    return type(v) in (float, int)


def N(v: object) -> float:
    return v if isnum(v) else 0


@dataclass
class AccountInputs:
    """An account's row of the Accounts block, as the formulas read it: its starting balance, the
    date its cash counts from and its rate to home (each a number, None for an empty cell, or the
    text a trader typed)."""
    start: object = None
    cash_from: object = None
    rate: object = None
    leverage: object = None


@dataclass
class Env:
    """What the twins read besides the row: settings, the Instruments rows by symbol (upper case,
    as MATCH compares), the Cash window function (account key, as-of serial) -> amount, CashFrom,
    the Accounts block (key -> :class:`AccountInputs`, in block order) and the home currency."""
    settings: object
    instruments: dict[str, dict]
    cash_upto: Callable[[str, float], float]
    cash_from: float | None = None
    # Settings still holding the template's default (their TemplateDefault_ mark is there): the
    # account leverage and the starting balance nobody stated.
    leverage_assumed: bool = False
    start_assumed: bool = False
    accounts: dict[str, AccountInputs] = dataclasses.field(default_factory=dict)
    home: str | None = None  # HomeCurrency; None: the settings' account currency


def key(row: dict) -> object:
    k = row["Instrument"]
    return k if not blank(k) else row["Symbol"]


class _NA(Exception):
    """INDEX/MATCH found nothing (#N/A)."""


def inst_val(row: dict, env: Env, col: str) -> object:
    """INDEX/MATCH into Instruments: raises _NA for #N/A; an empty cell reads as 0."""
    k = key(row)
    got = env.instruments.get(str(k).upper()) if not blank(k) else None
    if got is None:
        raise _NA(k)
    v = got.get(col)
    return 0.0 if blank(v) else v


def iferror_inst(row: dict, env: Env, col: str, fallback: object) -> object:
    try:
        return inst_val(row, env, col)
    except _NA:
        return fallback


def _why(err: Exception, texts: dict[str, str]) -> str:
    """The short text for a risk error: ``texts`` maps the argument a RiskInputError names first
    (``price must be > 0 ...`` -> "price") to what the cell says."""
    name = str(err).split(" ", 1)[0]
    return texts.get(name, str(err))


# Calculated columns: formula and twin, side by side ----------------------------------------------

def _net(r, up, env):
    if blank(r["Entry"]) or blank(r["Profit"]):
        return ""
    return sum(v for v in (r["Profit"], r["Commission"], r["Swap"], r["Taxes"]) if isnum(v))


NET = f'IF(OR({E}="",{T("Profit")}=""),"",SUM({T("Profit")},{T("Commission")},{T("Swap")},{T("Taxes")}))'

_NO = T("No.")
_NET = T("Net P/L")
_CUMT = T("Cumulative P/L")
OUT_OF_ORDER = "out of order: sort by No."


def TO(col: str) -> str:
    """Placeholder for the range of ``col`` from the header row down to this row (``$Z$1:Z7`` in
    row 7): it grows when a row is inserted anywhere inside, shrinks when one is deleted."""
    return "{to:" + col + "}"


def PREV(col: str) -> str:
    """Placeholder for the range of ``col`` from the header row down to the row above (``Z$1:Z6``
    in row 7): its last cell is the row above, also after a row above is deleted."""
    return "{prev:" + col + "}"


def _last(rng: str) -> str:
    return f"INDEX({rng},ROWS({rng}))"


# The row's account as text, BROKER|ACCOUNT (ACCOUNTS_DOC): "=" compares it without case. A row
# with neither Broker nor Account (a trade typed by hand) is the journal's first account's: the
# Accounts block's first key (FIRST; "|" while the block lists none).
_KEY1 = f"INDEX({schema.ACCOUNT_KEYS},1)"
FIRST = f'IFERROR(IF({_KEY1}&""="","|",{_KEY1}&""),"|")'


def _acct(broker: str, account: str) -> str:
    """The account key of one row's Broker and Account cells (scalars)."""
    return f'IF({broker}&{account}="",{FIRST},{broker}&"|"&{account})'


ACCT = _acct(T("Broker"), T("Account"))


def _of_acct(brokers: str, accounts: str) -> str:
    """1/0 per row of two ranges (or table columns): the row is of this row's account. No IF over
    the arrays (Excel 2016 would need an array formula): the blank rows' test is a product."""
    return f'(({brokers}&"|"&{accounts}={ACCT})+({brokers}&{accounts}="")*({FIRST}={ACCT})>0)'


# The account of the row directly above (the header's "Broker|Account" above the first row).
_SAME_ABOVE = f'{_acct(_last(PREV("Broker")), _last(PREV("Account")))}={ACCT}'
# The rows from the header down to this one (to) or the row above (prev) that are of this account.
_OF_ACCT = "--" + _of_acct(TO("Broker"), TO("Account"))
_OF_ACCT_PREV = _of_acct(PREV("Broker"), PREV("Account"))
# The row's place in the Accounts block (#N/A: not there).
_ACCT_ROW = f"MATCH({ACCT},{schema.ACCOUNT_KEYS},0)"


def _block(name: str) -> str:
    """The row's account's cell of the Accounts block's column ``name`` (a defined name); #N/A when
    the block does not list the account."""
    return f"INDEX({name},{_ACCT_ROW})"


# The No. directly above (the header's text above the first row), read from a range that ends at
# this row, so an inserted row directly above is seen.
_PREV_NO = f'INDEX({TO("No.")},ROWS({TO("No.")})-1)'
_NO_FREE = f"NOT(ISNUMBER({_NO}))"  # a trade without a (numeric) No. counts where it stands


def _linked(col: str) -> str:
    """The range ending at the row above (in ``col``) still ends at the row directly above: a row
    inserted directly above does not grow it (it lies outside), so the two ranges disagree."""
    return f"ROWS({PREV(col)})=ROWS({TO('No.')})-1"


_PREV_CUM = _last(PREV("Cumulative P/L"))
_PREV_PEAK = _last(PREV("Peak P/L"))
NO_FORMULAS = "a trade above has no formulas: copy them down"
_NET_PARTS = ("Profit", "Commission", "Swap", "Taxes")

# The Net P/L of this account's rows from the header to this one, summed from the input columns (so
# a trade typed into a row that has no formulas, as LibreOffice inserts rows, is counted too): a row
# counts when it has an Entry and a Profit, as Net P/L does. SUMPRODUCT's separate arrays take text
# (the header, words typed in a number column) as 0.
_SUM_NET = "+".join(f'SUMPRODUCT({_OF_ACCT},--({TO("Entry")}<>""),--({TO("Profit")}<>""),{TO(c)})'
                    for c in _NET_PARTS)

# Cumulative P/L: the sum of the account's Net P/L from its first row down to this one, shown when
# this row's No. is not smaller than any No. above it. The row above's figure plus this row's when
# the row above is of the same account and has one (O(1)); otherwise (first row, a blank row or
# another account's row above, a row inserted directly above, the row above out of order) the
# account's sums of the ranges from the header, and MAX over the No. range.
CUM = (f'IF({E}="","",IF(AND({_linked("Cumulative P/L")},ISNUMBER({_PREV_CUM}),OR({_NO_FREE},ISNUMBER({_PREV_NO})),'
       f'{_SAME_ABOVE}),'
       f'IF(OR({_NO_FREE},{_NO}>={_PREV_NO}),{_PREV_CUM}+N({_NET}),"{OUT_OF_ORDER}"),'
       f'IF(OR({_NO_FREE},{_NO}>=MAX({TO("No.")})),{_SUM_NET},"{OUT_OF_ORDER}")))')

# Peak P/L: the account's highest Cumulative P/L so far (0, the start, included), shown when every
# trade row at or above has its figure: the row above's peak when it is of the same account and has
# one (O(1)); else, unless a row at or above is out of order or a trade row has no formulas (its
# cumulative figure, which could be the peak, is nowhere), the MAX of the Cumulative P/L range when
# every trade at or above is of this account (a journal of one account: rows inserted directly above
# are in the range), or else the larger of this row's figure and the peak of the account's last row
# above (LOOKUP(2,1/(...)): the last row meeting the condition; a range ending at the row above, so
# with several accounts a row inserted directly above counts once a row of its account follows it).
_CUMS = TO("Cumulative P/L")
_OOO_ABOVE = f'SUMPRODUCT(--({_CUMS}="{OUT_OF_ORDER}"))'
_OTHERS = f'SUMPRODUCT(--({TO("Entry")}<>""),1-{_OF_ACCT})'  # the header counts 1
_LAST_PEAK = (f'IFERROR(LOOKUP(2,1/({_OF_ACCT_PREV}*ISNUMBER({PREV("Peak P/L")})),{PREV("Peak P/L")}),0)')
PEAK = (f'IF(ISNUMBER({_CUMT}),IF(AND({_linked("Peak P/L")},ISNUMBER({_PREV_PEAK}),{_SAME_ABOVE}),'
        f'MAX({_PREV_PEAK},{_CUMT}),'
        f'IF({_OOO_ABOVE}>0,"{OUT_OF_ORDER}",IF(COUNTIFS({TO("Entry")},"<>")-1>COUNT({_CUMS})+{_OOO_ABOVE},'
        f'"{NO_FORMULAS}",IF({_OTHERS}=1,MAX(0,{_CUMS}),MAX(0,{_CUMT},{_LAST_PEAK}))))),{_CUMT})')


def text_of(v: object) -> str:
    """A cell as ``cell&""`` gives it: empty for a blank cell, a whole number without ".0"."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def account_key(broker: object, account: object) -> str:
    """The account of a Trades or Cash row as the formulas compare it: ``Broker&"|"&Account``,
    without case (upper case here); "|" for a row with neither."""
    return f"{text_of(broker)}|{text_of(account)}".upper()


def first_key(env: "Env") -> str:
    """FIRST: the Accounts block's first key, "|" while it lists none."""
    return next(iter(env.accounts), None) or "|"


def row_key(r: dict, env: "Env") -> str:
    """ACCT: the row's account key, the first account's for a row with neither Broker nor Account."""
    k = account_key(r["Broker"], r["Account"])
    return first_key(env) if k == "|" else k


class _Run:
    """What the range formulas of one row see from the header row down to it: the twins' running
    state, kept on the row dict under a key no column has."""
    __slots__ = ("parts", "max_no", "bad", "trades", "cums", "peaks", "max_cum", "per_key")

    def __init__(self, prev: "_Run | None" = None):
        # per account key: the SUMPRODUCTs, one per input (a new tuple on each change, never edited)
        self.parts: dict[str, tuple] = dict(prev.parts) if prev else {}
        self.max_no = prev.max_no if prev else None  # MAX(range of No.), None when no number
        self.bad = prev.bad if prev else 0      # rows whose Cumulative P/L is out of order
        self.trades = prev.trades if prev else 0  # rows with an Entry
        self.cums = prev.cums if prev else 0    # rows whose Cumulative P/L is a number
        self.peaks: dict[str, float] = dict(prev.peaks) if prev else {}  # the last numeric Peak P/L per account
        self.max_cum = prev.max_cum if prev else None  # MAX(range of Cumulative P/L)
        self.per_key: dict[str, int] = dict(prev.per_key) if prev else {}  # rows with an Entry per account


_RUN = "\x00run"
_HEADER_KEY = account_key("Broker", "Account")


def _run(r, up) -> _Run:
    if _RUN not in r:
        r[_RUN] = _Run(up.get(_RUN) if up is not None else None)
    return r[_RUN]


def _up(up: dict | None, col: str) -> object:
    """The cell above: the header's text above the first data row."""
    return col if up is None else up[col]


def _key_above(up: dict | None, env: "Env") -> str:
    return _HEADER_KEY if up is None else row_key(up, env)


def _cum(r, up, env):
    run = _run(r, up)
    k = row_key(r, env)
    no, net = r["No."], r["Net P/L"]
    above_max = run.max_no
    if not blank(r["Entry"]):
        run.trades += 1
        run.per_key[k] = run.per_key.get(k, 0) + 1
        if not blank(r["Profit"]):
            old = run.parts.get(k, (0, 0, 0, 0))
            run.parts[k] = tuple(s + v if isnum(v) else s for s, v in zip(old, (r[c] for c in _NET_PARTS)))
    if isnum(no):
        run.max_no = no if run.max_no is None else max(run.max_no, no)
    if blank(r["Entry"]):
        return ""
    free = not isnum(no)
    prev_cum, prev_no = _up(up, "Cumulative P/L"), _up(up, "No.")
    if isnum(prev_cum) and (free or isnum(prev_no)) and _key_above(up, env) == k:
        return prev_cum + N(net) if free or no >= prev_no else OUT_OF_ORDER
    if free or above_max is None or no >= above_max:
        p, c, s, t = run.parts.get(k, (0, 0, 0, 0))
        return p + c + s + t
    return OUT_OF_ORDER


def _peak(r, up, env):
    run = _run(r, up)
    k = row_key(r, env)
    c = r["Cumulative P/L"]
    if c == OUT_OF_ORDER:
        run.bad += 1
    if isnum(c):
        run.cums += 1
        run.max_cum = c if run.max_cum is None else max(run.max_cum, c)
    if not isnum(c):
        return c
    prev = _up(up, "Peak P/L")
    if isnum(prev) and _key_above(up, env) == k:
        out = max(prev, c)
    elif run.bad:
        return OUT_OF_ORDER
    elif run.trades > run.cums + run.bad:
        return NO_FORMULAS
    elif run.trades == run.per_key.get(k, 0):  # every trade at or above is of this account
        out = max(0, run.max_cum)
    else:
        out = max(0, c, run.peaks.get(k, 0))
    run.peaks[k] = out
    return out


def _asof(r) -> float:
    """The time the row's cash counts up to: a time typed as text the spreadsheet could not read as
    a date counts as no time (ISNUMBER in the formula), as an empty cell does."""
    c, o = r["Close time"], r["Open time"]
    return c if isnum(c) else o if isnum(o) else NO_TIME


def _cash(r, up, env):
    return "" if blank(r["Entry"]) else env.cash_upto(row_key(r, env), _asof(r))


# The Cash rows of this row's account (a row with neither Broker nor Account: the first account's).
_CASH_OF_ACCT = _of_acct(f"{CASH_TABLE}[Broker]", f"{CASH_TABLE}[Account]")
_CASH_START = f"IFERROR({_block(schema.ACCOUNT_FROMS)},{CASH_FROM})"
CASH = (f'IF({E}="","",SUMPRODUCT(ISNUMBER({CASH_TABLE}[Time])*({CASH_TABLE}[Time]>={_CASH_START})'
        f'*({CASH_TABLE}[Time]<=IF(ISNUMBER({T("Close time")}),{T("Close time")},IF(ISNUMBER({T("Open time")}),'
        f'{T("Open time")},9.99E+307)))*{_CASH_OF_ACCT},{CASH_TABLE}[Amount]))')

NO_START = "no starting balance: type it in the Accounts block (Account sheet)"


def _start(r, env) -> object:
    """The row's account's starting balance as the Balance formula reads it: a number, or NO_START."""
    acct = env.accounts.get(row_key(r, env))
    if acct is None:
        return env.settings.starting_balance
    return acct.start if isnum(acct.start) else NO_START


def _balance(r, up, env):
    if blank(r["Entry"]):
        return ""
    c = r["Cumulative P/L"]
    if not isnum(c):
        return c
    start = _start(r, env)
    return start + r["Cash in/out"] + c if isnum(start) else start


_START_CELL = _block(schema.ACCOUNT_STARTS)
BALANCE = (f'IF({E}="","",IF(ISNUMBER({T("Cumulative P/L")}),IF(ISNA({_ACCT_ROW}),StartingBalance+{T("Cash in/out")}+'
           f'{T("Cumulative P/L")},IF(ISNUMBER({_START_CELL}),{_START_CELL}+{T("Cash in/out")}+{T("Cumulative P/L")},'
           f'"{NO_START}")),{T("Cumulative P/L")}))')


def _drawdown(r, up, env):
    b, p = r["Balance"], r["Peak P/L"]
    if not isnum(b):
        return b
    if not isnum(p):
        return p
    base = max(0, b - r["Cumulative P/L"] + p)
    return 1 - b / base if base != 0 else ""


DRAWDOWN = (f'IF(ISNUMBER({T("Balance")}),IF(ISNUMBER({T("Peak P/L")}),IFERROR(1-{T("Balance")}/MAX(0,'
            f'{T("Balance")}-{T("Cumulative P/L")}+{T("Peak P/L")}),""),{T("Peak P/L")}),{T("Balance")})')


def _equity_used(r, up, env):
    if blank(r["Entry"]):
        return ""
    if not blank(r["Equity"]):
        return r["Equity"]
    b = r["Balance"]
    return b - N(r["Net P/L"]) if isnum(b) else b


EQUITY_USED = (f'IF({E}="","",IF({T("Equity")}<>"",{T("Equity")},IF(ISNUMBER({T("Balance")}),'
               f'{T("Balance")}-N({T("Net P/L")}),{T("Balance")})))')

NO_RATE_HOME = "no rate to home"


def _rate_home(r, up, env):
    if blank(r["Entry"]):
        return ""
    cur = text_of(r["Account currency"]) if not blank(r["Account currency"]) else text_of(env.settings.account_currency)
    home = env.home if env.home is not None else env.settings.account_currency
    if cur.strip().upper() == text_of(home).strip().upper():
        return 1
    acct = env.accounts.get(row_key(r, env))
    if acct is not None and isnum(acct.rate) and acct.rate > 0:
        return acct.rate
    return NO_RATE_HOME


_RATE_CELL = _block(schema.ACCOUNT_RATES)
RATE_HOME = (f'IF({E}="","",IF(UPPER(TRIM({_MONEY_CUR}))=UPPER(TRIM({schema.HOME_CURRENCY})),1,'
             f'IFERROR(IF(ISNUMBER({_RATE_CELL}),IF({_RATE_CELL}>0,{_RATE_CELL},"{NO_RATE_HOME}"),"{NO_RATE_HOME}"),'
             f'"{NO_RATE_HOME}")))')


def _net_home(r, up, env):
    net, rate = r["Net P/L"], r["Rate to home"]
    if not isnum(net):
        return ""
    return net * rate if isnum(rate) else rate


NET_HOME = (f'IF(ISNUMBER({_NET}),IF(ISNUMBER({T("Rate to home")}),{_NET}*{T("Rate to home")},{T("Rate to home")}),"")')

BAD_SIDE = "side must be long or short"


def _is(ref: str, words: frozenset[str]) -> str:
    """Native test of a side cell against :mod:`addin.risk.inputs`' words (case-insensitive, trimmed)."""
    return "OR(" + ",".join(f'TRIM({ref})="{w}"' for w in sorted(words)) + ")"


def _direction(r, up, env):
    if blank(r["Entry"]):
        return ""
    try:
        return risk.parse_side(r["Side"])
    except RiskInputError:
        return BAD_SIDE


DIRECTION = (f'IF({E}="","",IF({_is(T("Side"), _LONG)},1,IF({_is(T("Side"), _SHORT)},-1,"{BAD_SIDE}")))')
BAD_POINT = "contract size and FX must be numbers"
NO_FX = "no FX rate: type FX to account"


def _fx_to_account(r, env) -> object:
    """The row's FX to account: typed (or the statement's), else 1 when the quote currency (the
    row's, else the Instruments row's) is the account currency (the row's, else AccountCurrency),
    else :data:`NO_FX` -- never 1 assumed for a price in another or an unknown currency."""
    fx = r["FX to account"]
    if not blank(fx):
        return fx
    quote = r["Quote currency"] if not blank(r["Quote currency"]) else iferror_inst(r, env, "Quote currency", "")
    money = r["Account currency"] if not blank(r["Account currency"]) else env.settings.account_currency
    if not blank(quote) and _upper(quote) == _upper(money):
        return 1
    return NO_FX


def _upper(v: object) -> str:
    """UPPER(TRIM(v)) of a cell: a number as its text (integers without ".0"), spaces collapsed."""
    if isnum(v) and float(v).is_integer():
        v = int(v)
    return " ".join(str(v).split()).upper()


def _point_value(r, up, env):
    if blank(r["Entry"]):
        return ""
    cs = r["Contract size"] if not blank(r["Contract size"]) else iferror_inst(r, env, "Contract size", 1)
    fx = _fx_to_account(r, env)
    if fx == NO_FX:
        return NO_FX
    return cs * fx if isnum(cs) and isnum(fx) else BAD_POINT


_QUOTE = f'IF({T("Quote currency")}<>"",{T("Quote currency")},IFERROR({inst("Quote currency")},""))'
_CS = f'IF({T("Contract size")}<>"",{T("Contract size")},IFERROR({inst("Contract size")},1))'
POINT_VALUE = (f'IF({E}="","",IF({T("FX to account")}<>"",IFERROR({_CS}*{T("FX to account")},"{BAD_POINT}"),'
               f'IF(AND({_QUOTE}<>"",UPPER(TRIM({_QUOTE}))=UPPER(TRIM({_MONEY_CUR}))),IFERROR({_CS}*1,"{BAD_POINT}"),'
               f'"{NO_FX}")))')


def _pip(r, up, env):
    return "" if blank(r["Entry"]) else iferror_inst(r, env, "Pip size", "")


PIP = f'IF({E}="","",IFERROR({inst("Pip size")},""))'


def _class(r, up, env):
    if blank(r["Entry"]):
        return ""
    return r["Asset class"] if not blank(r["Asset class"]) else iferror_inst(r, env, "Asset class", "")


CLASS = f'IF({E}="","",IF({T("Asset class")}<>"",{T("Asset class")},IFERROR({inst("Asset class")},"")))'

# The regulator's class: an FX pair is major or minor by the Regulator's own list of currencies
# (risk.limits.classify); metals quoted in a currency are GOLD/COMMODITY; other classes as they are.
NOT_PAIR = "not an FX pair"
_SEP = "/-_. "


def _letters(ref: str) -> str:
    out = f"UPPER(TRIM({ref}))"
    for ch in _SEP:
        out = f'SUBSTITUTE({out},"{ch}","")'
    return out


_K = _letters(KEY)
_B, _QC = f"LEFT({_K},3)", f"MID({_K},4,3)"


def _metal() -> str:
    out = f'"{NOT_PAIR}"'
    for code, cls in reversed(list(METAL_CLASSES.items())):
        out = f'IF({_B}="{code}","{cls}",{out})'
    return out


def _major(c: str) -> str:
    return f"COUNTIFS({MAJORS_TABLE}[Regime],Regulator,{MAJORS_TABLE}[Currency],{c})"


def _cur(c: str) -> str:
    return f"COUNTIF({CURRENCY_TABLE}[Currency],{c})"


# The Regulator setting caps nothing (NONE); then no regulator's list of majors applies: the class as it is.
UNCAPPED = f'Regulator="{NO_CAP_REGIME}"'
CAP_CLASS = (f'IF({E}="","",IF({T("Class")}="","",IF(OR(LEFT({T("Class")},3)<>"FX_",{UNCAPPED}),UPPER({T("Class")}),'
             f'IF({_cur(_QC)}=0,"{NOT_PAIR}",IF({_cur(_B)}=0,{_metal()},IF({_B}={_QC},"{NOT_PAIR}",'
             f'IF({_major(_B)}*{_major(_QC)}>0,"FX_MAJOR","FX_MINOR")))))))')


def _cap_class(r, up, env):
    if blank(r["Entry"]):
        return ""
    cls = r["Class"]
    if blank(cls):
        return ""
    cls = str(cls)
    if cls[:3].upper() != "FX_" or env.settings.regulator == NO_CAP_REGIME:
        return cls.upper()
    try:
        return risk.classify(env.settings.regulator, str(key(r)))
    except RiskInputError:
        return NOT_PAIR


NO_CLASS = "no class: symbol not in Instruments"
FUTURE_CAP = "exchange margin, no retail cap"
NO_CAP = f"no retail cap (Regulator {NO_CAP_REGIME})"
_RC = T("Cap class")
_CAPKEY = f'Regulator&"|"&{_RC}'
_DAY = f'IF(ISNUMBER({T("Open time")}),INT({T("Open time")}),{LAST_DAY})'
_INFORCE = f'COUNTIFS({CAPS_TABLE}[Key],{_CAPKEY},{CAPS_TABLE}[In force from],"<="&{_DAY})'
_CAPCELL = f"INDEX({CAPS_TABLE}[Max leverage],MATCH({_CAPKEY},{CAPS_TABLE}[Key],0)+{_INFORCE}-1)"

LEVERAGE_CAP = (f'IF({E}="","",IF({UNCAPPED},"{NO_CAP}",IF({_RC}="","{NO_CLASS}",IF({_RC}="FUTURE","{FUTURE_CAP}",IF({_RC}="{NOT_PAIR}",'
                f'"{NOT_PAIR}",IF({_INFORCE}=0,"no "&Regulator&" cap for "&{_RC},IF(ISNUMBER({_CAPCELL}),{_CAPCELL},'
                f'Regulator&" bars "&{_RC}&" for retail clients")))))))')


def _open_day(r) -> date | None:
    o = r["Open time"]
    if not isnum(o):
        return None
    day = schema.EPOCH.toordinal() + math.floor(o)
    return date.fromordinal(min(max(day, 1), date.max.toordinal()))


def _leverage_cap(r, up, env):
    if blank(r["Entry"]):
        return ""
    if env.settings.regulator == NO_CAP_REGIME:
        return NO_CAP
    rc = r["Cap class"]
    if rc == "":
        return NO_CLASS
    if rc == "FUTURE":
        return FUTURE_CAP
    if rc == NOT_PAIR:
        return NOT_PAIR
    reg = env.settings.regulator
    day = _open_day(r) or date(9999, 12, 31)
    try:
        return risk.max_leverage(reg, rc, day)
    except RiskInputError:
        barred = [row for row in CAPS if row[0] == reg.strip().upper() and row[1] == rc and row[3] <= day.isoformat()]
        if barred and max(barred, key=lambda row: row[3])[2] is None:
            return f"{reg} bars {rc} for retail clients"
        return f"no {reg} cap for {rc}"


def _margin_rate_leverage(r, env) -> float | None:
    """1 / the instrument's margin rate (risk.leverage), None where the IFERROR falls back."""
    try:
        rate = inst_val(r, env, "Margin rate")
    except _NA:
        return None
    if not isnum(rate) or rate == 0:
        return None
    return risk.leverage(rate) if rate > 0 else 1 / rate


# The account leverage is assumed while Settings' AccountLeverage still holds the template's default
# (its hidden TemplateDefault_AccountLeverage mark is there and equal: no statement and no person has
# stated it); a figure built on it says so. Likewise the starting balance behind Equity used.
_MARK_LEV = schema.default_mark("AccountLeverage")
_MARK_START = schema.default_mark("StartingBalance")
LEV_ASSUMED = f"IFERROR(AccountLeverage={_MARK_LEV},FALSE)"
# The row's account's leverage (the Accounts block: the first account's is =AccountLeverage, another's
# what its statement states or you type), AccountLeverage where the block has none for it; assumed
# (ACCT_LEV_ASSUMED) where that is AccountLeverage still at the template's default, or another
# account's AccountLeverage standing in for an account that states none.
_LEV_CELL = _block(schema.ACCOUNT_LEVERAGES)
ACCT_LEV = f"IFERROR(IF(ISNUMBER({_LEV_CELL}),{_LEV_CELL},AccountLeverage),AccountLeverage)"
ACCT_LEV_ASSUMED = (f"IFERROR(IF(ISNUMBER({_LEV_CELL}),AND({_LEV_CELL}=AccountLeverage,{LEV_ASSUMED}),TRUE),"
                    f"{LEV_ASSUMED})")


def account_leverage(r, env) -> tuple[float, bool]:
    """(ACCT_LEV, ACCT_LEV_ASSUMED) of a row, as the formulas read the Accounts block."""
    acct = env.accounts.get(row_key(r, env))
    lev = env.settings.account_leverage
    if acct is None:
        return lev, env.leverage_assumed
    if isnum(acct.leverage):
        return acct.leverage, acct.leverage == lev and env.leverage_assumed
    return lev, True
# Classes held outright, not on margin: an exchange-traded share (IBKR's STK) or a spot asset (spot
# crypto, Trading212 Invest). Leverage 1, never over a retail cap (the caps are on CFDs, spread bets
# and margined FX).
CASH_CLASSES = ("STOCK", "SPOT")
_CLS = T("Class")
_IS_CASH = "OR(" + ",".join(f'UPPER({_CLS})="{c}"' for c in CASH_CLASSES) + ")"


def _is_cash(r) -> bool:
    return str(r["Class"]).upper() in CASH_CLASSES


def _leverage_used(r, up, env):
    if blank(r["Entry"]):
        return ""
    if not blank(r["Leverage"]):
        return r["Leverage"]
    lev = _margin_rate_leverage(r, env)
    if lev is not None:
        return lev
    if _is_cash(r):
        return 1
    cap, acct = r["Leverage cap"], account_leverage(r, env)[0]
    return min(acct, cap) if isnum(cap) else acct


LEVERAGE_USED = (f'IF({E}="","",IF({T("Leverage")}<>"",{T("Leverage")},IFERROR(1/{inst("Margin rate")},'
                 f'IF({_IS_CASH},1,IF(ISNUMBER({T("Leverage cap")}),MIN({ACCT_LEV},{T("Leverage cap")}),'
                 f'{ACCT_LEV})))))')

SRC_TRADE, SRC_RATE, SRC_CAP = "trade", "Instruments margin rate", "regulator's cap"
SRC_UNKNOWN, SRC_ACCOUNT = "AccountLeverage: symbol not in Instruments", "AccountLeverage"
SRC_CASH = "held outright: no margin loan stated"
# A source built on an assumed AccountLeverage starts with this: the leverage is not known.
ASSUMED = "assumed: "


# A time typed as text the spreadsheet could not read as a date ("31/02/2025 10:00", "yesterday")
# counts as no time in every figure (the cap of the last day, the cash up to the other time, no
# weekday or month on the Stats sheet); the row says so in its Leverage source, a column no other
# figure reads (Over cap tests the assumed account leverage itself).
NOT_DATE = {"Open time": "open time is not a date", "Close time": "close time is not a date"}


def _leverage_source(r, up, env):
    if blank(r["Entry"]):
        return ""
    for col, message in NOT_DATE.items():
        if not blank(r[col]) and not isnum(r[col]):
            return message
    if not blank(r["Leverage"]):
        return SRC_TRADE
    if _margin_rate_leverage(r, env) is not None:
        return SRC_RATE
    if _is_cash(r):
        return SRC_CASH
    cap = r["Leverage cap"]
    lev, assumed = account_leverage(r, env)
    if isnum(cap) and cap < lev:
        src = SRC_CAP
    else:
        k = key(r)
        src = SRC_UNKNOWN if blank(k) or str(k).upper() not in env.instruments else SRC_ACCOUNT
    return ASSUMED + src if assumed else src


_NOT_DATE = "".join(f'IF(AND({T(col)}<>"",NOT(ISNUMBER({T(col)}))),"{message}",' for col, message in NOT_DATE.items())
LEVERAGE_SOURCE = (f'IF({E}="","",{_NOT_DATE}IF({T("Leverage")}<>"","{SRC_TRADE}",IF(ISNUMBER(IFERROR(1/{inst("Margin rate")},"")),'
                   f'"{SRC_RATE}",IF({_IS_CASH},"{SRC_CASH}",IF({ACCT_LEV_ASSUMED},"{ASSUMED}","")&'
                   f'IF(AND(ISNUMBER({T("Leverage cap")}),N({T("Leverage cap")})<{ACCT_LEV}),'
                   f'"{SRC_CAP}",IF(ISNA(MATCH({KEY},Instruments[Symbol],0)),"{SRC_UNKNOWN}","{SRC_ACCOUNT}"))))))' + ")" * len(NOT_DATE))

# The margin model of a pair whose base currency is the account currency (USDJPY in a USD account):
# MetaTrader's Forex margin, quantity x contract size / leverage in the account (= base) currency,
# constant as the price moves, and the profit, in the quote currency, converted at the current price
# (addin.risk.margin_models, base kind). A row is of that kind when its class is FX_* and the first
# three letters of its instrument (the fill writes the one classifier's name, addin.risk.symbols)
# are AccountCurrency. Every other row is of the quote kind (margin = notional / leverage).
_CS = f'IF({T("Contract size")}<>"",{T("Contract size")},IFERROR({inst("Contract size")},1))'
_ACCOUNT_BASE = (f'AND(LEFT(UPPER({T("Class")}),3)="FX_",LEFT({_letters(KEY)},3)=UPPER(TRIM(AccountCurrency)),'
                 f'ISNUMBER({_CS}))')


def _account_base(r, env) -> bool:
    """The twin of _ACCOUNT_BASE."""
    if str(r["Class"])[:3].upper() != "FX_":
        return False
    letters = str(key(r)).strip().upper()
    for ch in _SEP:
        letters = letters.replace(ch, "")
    return letters[:3] == str(env.settings.account_currency).strip().upper() and isnum(_cs(r, env))


def _cs(r, env) -> object:
    return r["Contract size"] if not blank(r["Contract size"]) else iferror_inst(r, env, "Contract size", 1)


NOT_NUMBERS = "entry and quantity must be numbers"
_PV = T("Point value")


def _notional(r, up, env):
    e, q, pv = r["Entry"], r["Quantity"], r["Point value"]
    if blank(e) or blank(q):
        return ""
    if not (isnum(e) and isnum(q)):
        return NOT_NUMBERS
    if not isnum(pv):
        return pv  # its words: "no FX rate: type FX to account", ...
    try:
        return risk.notional(q, e, pv)
    except RiskInputError as err:
        return _why(err, {"price": str(err), "contract_size": "point value must be > 0"})


NOTIONAL = (f'IF(OR({E}="",{Q}=""),"",IF(AND(ISNUMBER({E}),ISNUMBER({Q})),IF(ISNUMBER({_PV}),IF({E}<=0,'
            f'"price must be > 0 (got "&{E}&")",IF({_PV}<=0,"point value must be > 0",ABS({Q})*{_PV}*{E})),{_PV}),'
            f'"{NOT_NUMBERS}"))')
_LEVU = T("Leverage used")


def _margin(r, up, env):
    n, lev = r["Notional"], r["Leverage used"]
    if not isnum(n):
        return ""
    if not (isnum(lev) and lev > 0):
        return "leverage must be > 0"
    if _account_base(r, env):
        return risk.margin_required(r["Quantity"], r["Entry"], lev, _cs(r, env), 1.0, True)
    return risk.margin_required(r["Quantity"], r["Entry"], lev, r["Point value"])


MARGIN = (f'IF(ISNUMBER({T("Notional")}),IF(AND(ISNUMBER({_LEVU}),N({_LEVU})>0),IF({_ACCOUNT_BASE},'
          f'ABS({Q})*{_CS}/{_LEVU},{T("Notional")}/{_LEVU}),"leverage must be > 0"),"")')
_EQ = T("Equity used")
_DIR = T("Direction")


def _effective(r, up, env):
    n, eq = r["Notional"], r["Equity used"]
    if not (isnum(n) and isnum(eq)):
        return ""
    return risk.effective_leverage(n, eq) if eq > 0 else "equity must be > 0"


EFFECTIVE = f'IF(AND(ISNUMBER({T("Notional")}),ISNUMBER({_EQ})),IF({_EQ}>0,{T("Notional")}/{_EQ},"equity must be > 0"),"")'
NOT_NUMBERS_STOP = "entry, stop and quantity must be numbers"


def _risk_at_stop(r, up, env):
    e, q, s, pv = r["Entry"], r["Quantity"], r["Stop"], r["Point value"]
    if blank(e) or blank(q) or blank(s):
        return ""
    if not (isnum(e) and isnum(q) and isnum(s)):
        return NOT_NUMBERS_STOP
    if not isnum(pv):
        return pv
    try:
        return risk.risk_at_stop(q, e, s, pv)
    except RiskInputError as err:
        return _why(err, {"entry": "entry must be > 0", "stop_price": "stop must be > 0",
                          "point_value": "point value must be > 0"})


RISK_AT_STOP = (f'IF(OR({E}="",{Q}="",{S}=""),"",IF(AND(ISNUMBER({E}),ISNUMBER({Q}),ISNUMBER({S})),'
                f'IF(ISNUMBER({_PV}),IF({E}<=0,"entry must be > 0",IF({S}<=0,"stop must be > 0",IF({_PV}<=0,'
                f'"point value must be > 0",ABS({E}-{S})*ABS({Q})*{_PV}))),{_PV}),"{NOT_NUMBERS_STOP}"))')


def _risk_pct(r, up, env):
    ras, eq = r["Risk at stop"], r["Equity used"]
    if not (isnum(ras) and isnum(eq)):
        return ""
    return ras / eq if eq > 0 else "equity must be > 0"


RISK_PCT = (f'IF(AND(ISNUMBER({T("Risk at stop")}),ISNUMBER({_EQ})),IF({_EQ}>0,{T("Risk at stop")}/{_EQ},'
            f'"equity must be > 0"),"")')


def _wipeout(r, up, env):
    m, pip = r["Margin"], r["Pip size"]
    if not (isnum(m) and isnum(pip)):
        return ""
    if pip <= 0:
        return "pip size must be > 0"
    if r["Quantity"] == 0:
        return "quantity must be non-zero"
    if _account_base(r, env) and isnum(r["Direction"]):
        # All-in (equity = the margin): the move to a zero margin level, profit at 1/price.
        try:
            return r["Entry"] * risk.wipeout_move(r["Leverage used"], 0.0, r["Direction"], True) / pip
        except NoPrice:
            return WIPE_NEVER
    return risk.wipeout_pips(m, r["Quantity"], pip, r["Point value"])


WIPE_NEVER = "never wiped out"
# Base kind: entry / (leverage + direction) is the move that loses the margin (long E/(L+1), short
# E/(L-1): risk.wipeout_move's base-kind closed form with no stop-out level), in pips.
WIPEOUT = (f'IF(AND(ISNUMBER({T("Margin")}),ISNUMBER({T("Pip size")})),IF({T("Pip size")}<=0,"pip size must be > 0",'
           f'IF({Q}=0,"quantity must be non-zero",IF(AND({_ACCOUNT_BASE},ISNUMBER({_DIR})),'
           f'IF({_LEVU}+{_DIR}<=0,"{WIPE_NEVER}",{E}/({_LEVU}+{_DIR})/{T("Pip size")}),'
           f'{T("Margin")}/(ABS({Q})*{_PV}*{T("Pip size")})))),"")')

SO_AT_ENTRY, SO_NEVER, SO_ZERO = "stopped out at entry", "never stopped out", "no stop-out above 0"


def _stop_out(r, up, env):
    e, q, d, eq, lev, pv = (r["Entry"], r["Quantity"], r["Direction"], r["Equity used"], r["Leverage used"],
                            r["Point value"])
    if blank(e) or blank(q) or blank(d):
        return ""
    if not (isnum(d) and isnum(eq) and isnum(lev) and isnum(r["Notional"])) or lev <= 0:
        return ""
    if q == 0:
        return "quantity must be non-zero"
    base = _account_base(r, env)
    try:
        if base:
            return risk.stop_out_price(d, e, q, eq, lev, env.settings.stop_out_level, _cs(r, env), 1.0, 0.0, True)
        return risk.stop_out_price(d, e, q, eq, lev, env.settings.stop_out_level, pv)
    except NoPrice as err:
        text = str(err)
        return SO_AT_ENTRY if "already below" in text else SO_NEVER if "never" in text or base else SO_ZERO


_K_ = f"(ABS({Q})*{_PV})"
_NUM = f"({_EQ}-{_DIR}*{E}*{_K_})"
_NUM0 = f"IF(ABS({_NUM})<=1E-12*(ABS({_EQ})+{E}*{_K_}),0,{_NUM})"
_SLOPE = f"({_K_}*(StopOutLevel/{_LEVU}-{_DIR}))"
_PRICE = f"{_NUM0}/{_SLOPE}"
# Base kind (addin.risk.margin_models): Qb = |quantity| x contract size, T = StopOutLevel x Qb / leverage;
# stopped out at entry when equity < T, else at entry / (1 + direction x (equity - T) / Qb), never
# when that denominator is <= 0 (a short whose loss in account currency cannot exceed Qb).
_QB = f"(ABS({Q})*{_CS})"
_TB = f"(StopOutLevel*{_QB}/{_LEVU})"
_DENB = f"(1+{_DIR}*({_EQ}-{_TB})/{_QB})"
_BASE_SO = (f'IF({_EQ}<{_TB},"{SO_AT_ENTRY}",IF({_DENB}<=0,"{SO_NEVER}",{E}/{_DENB}))')
STOP_OUT = (f'IF(OR({E}="",{Q}="",{_DIR}=""),"",IF(OR(NOT(AND(ISNUMBER({_DIR}),ISNUMBER({_EQ}),ISNUMBER({_LEVU}),'
            f'ISNUMBER({T("Notional")}))),N({_LEVU})<=0),"",IF({Q}=0,"quantity must be non-zero",'
            f'IF({_ACCOUNT_BASE},{_BASE_SO},'
            f'IF({_EQ}<StopOutLevel*({_K_}*{E}/{_LEVU}),"{SO_AT_ENTRY}",IF(AND({_DIR}=1,{_SLOPE}>=0),"{SO_NEVER}",'
            f'IF({_PRICE}<=0,"{SO_ZERO}",{_PRICE})))))))')


def _beyond(r, up, env):
    s, so = r["Stop"], r["Stop-out price"]
    if not (isnum(s) and isnum(so)):
        return ""
    return s >= so if r["Direction"] == -1 else s <= so


BEYOND = (f'IF(AND(ISNUMBER({S}),ISNUMBER({T("Stop-out price")})),IF({_DIR}=-1,{S}>={T("Stop-out price")},'
          f'{S}<={T("Stop-out price")}),"")')


def _r_multiple(r, up, env):
    e, s, x, d = r["Entry"], r["Stop"], r["Exit"], r["Direction"]
    if blank(e) or blank(s) or blank(x):
        return ""
    if not (isnum(d) and isnum(e) and isnum(s) and isnum(x)):
        return ""
    try:
        return risk.r_multiple(d, e, s, x)
    except RiskInputError as err:
        if "differ" in str(err):
            return "stop equals entry"
        if "profit side" in str(err):
            return STOP_ON_PROFIT_SIDE
        return _why(err, {"entry": "entry must be > 0", "stop_price": "stop must be > 0",
                          "exit_price": "exit must be > 0"})


# A stop on the profit side (a trailed stop the statement reports at its last level) risks nothing,
# so there is no R to count in (risk.r_multiple refuses it).
STOP_ON_PROFIT_SIDE = "stop on the profit side: no initial risk"


R_MULTIPLE = (f'IF(OR({E}="",{S}="",{X}=""),"",IF(AND(ISNUMBER({_DIR}),ISNUMBER({E}),ISNUMBER({S}),ISNUMBER({X})),'
              f'IF({E}<=0,"entry must be > 0",IF({S}<=0,"stop must be > 0",IF({X}<=0,"exit must be > 0",'
              f'IF({E}={S},"stop equals entry",IF({_DIR}*({E}-{S})<0,"{STOP_ON_PROFIT_SIDE}",'
              f'{_DIR}*({X}-{E})/ABS({E}-{S})))))),""))')


def _rom(r, up, env):
    net, m = r["Net P/L"], r["Margin"]
    if not (isnum(net) and isnum(m)):
        return ""
    return risk.return_on_margin(net, m) if m > 0 else "margin must be > 0"


ROM = (f'IF(AND(ISNUMBER({T("Net P/L")}),ISNUMBER({T("Margin")})),IF({T("Margin")}>0,{T("Net P/L")}/{T("Margin")},'
       f'"margin must be > 0"),"")')


UNKNOWN = "unknown"


def _start_known(r, env) -> bool:
    """The row's account's starting balance is known: stated or typed in the Accounts block, or
    StartingBalance once it is no longer the template's default (an account not in the block)."""
    acct = env.accounts.get(row_key(r, env))
    if acct is None:
        return not env.start_assumed
    return isnum(acct.start) and not (acct.start == env.settings.starting_balance and env.start_assumed)


def _over_cap(r, up, env):
    if blank(r["Entry"]):
        return ""
    if _is_cash(r):
        return False
    lev, cap, eff = r["Leverage used"], r["Leverage cap"], r["Effective leverage"]

    def unstated() -> bool:  # the leverage used rests on the template's AccountLeverage
        return blank(r["Leverage"]) and _margin_rate_leverage(r, env) is None and account_leverage(r, env)[1]

    if not isnum(cap):
        if cap == NO_CAP:  # no retail cap: nothing to be over, once the leverage is known
            return UNKNOWN if unstated() else False
        return ""
    equity_known = not blank(r["Equity"]) or _start_known(r, env)
    if isnum(eff) and equity_known and eff > cap:
        return True
    if unstated():
        return UNKNOWN
    return lev > cap if isnum(lev) else ""


_START_ASSUMED = f"IFERROR(StartingBalance={_MARK_START},FALSE)"
_START_CELL_KNOWN = (f"IFERROR(AND(ISNUMBER({_START_CELL}),NOT(AND({_START_CELL}=StartingBalance,{_START_ASSUMED}))),"
                     f"NOT({_START_ASSUMED}))")
_EQ_KNOWN = f'OR({T("Equity")}<>"",{_START_CELL_KNOWN})'
_EFF = T("Effective leverage")
_UNSTATED = f'AND({T("Leverage")}="",NOT(ISNUMBER(IFERROR(1/{inst("Margin rate")},""))),{ACCT_LEV_ASSUMED})'
OVER_CAP = (f'IF({E}="","",IF({_IS_CASH},FALSE,IF(NOT(ISNUMBER({T("Leverage cap")})),'
            f'IF({T("Leverage cap")}="{NO_CAP}",IF({_UNSTATED},"{UNKNOWN}",FALSE),""),'
            f'IF(AND(ISNUMBER({_EFF}),{_EQ_KNOWN},N({_EFF})>{T("Leverage cap")}),TRUE,'
            f'IF({_UNSTATED},"{UNKNOWN}",'
            f'IF(ISNUMBER({_LEVU}),{_LEVU}>{T("Leverage cap")},""))))))')


# The table ---------------------------------------------------------------------------------------

# The input columns (left of the calculated ones) and the trailing ones: the schema's.
INPUTS: tuple[Column, ...] = schema.TRADES_INPUTS
EXCURSION_COLUMNS = schema.EXCURSION_COLUMNS

CALCS: tuple[Column, ...] = (
    Column("Net P/L", "calc", 11, MONEY, NET, twin=_net),
    Column("Cumulative P/L", "calc", 12, MONEY, CUM, twin=_cum),
    Column("Peak P/L", "calc", 11, MONEY, PEAK, twin=_peak),
    Column("Cash in/out", "calc", 11, MONEY, CASH, twin=_cash),
    Column("Balance", "calc", 12, MONEY, BALANCE, twin=_balance),
    Column("Drawdown", "calc", 11, PCT, DRAWDOWN, twin=_drawdown),
    Column("Equity used", "calc", 12, MONEY, EQUITY_USED, twin=_equity_used),
    Column("Rate to home", "calc", 10, schema.FX, RATE_HOME, twin=_rate_home),
    Column("Net P/L home", "calc", 12, MONEY, NET_HOME, twin=_net_home),
    Column("Direction", "calc", 11, "0", DIRECTION, twin=_direction),
    Column("Point value", "calc", 10, schema.POINT, POINT_VALUE, twin=_point_value),
    Column("Pip size", "calc", 8, schema.SIZE, PIP, twin=_pip),
    Column("Class", "calc", 13, "@", CLASS, twin=_class),
    Column("Cap class", "calc", 13, "@", CAP_CLASS, twin=_cap_class),
    Column("Leverage cap", "calc", 10, schema.LEVERAGE, LEVERAGE_CAP, twin=_leverage_cap),
    Column("Leverage used", "calc", 10, schema.LEVERAGE, LEVERAGE_USED, twin=_leverage_used),
    Column("Leverage source", "calc", 16, "@", LEVERAGE_SOURCE, twin=_leverage_source),
    Column("Notional", "calc", 13, MONEY, NOTIONAL, twin=_notional),
    Column("Margin", "calc", 11, MONEY, MARGIN, twin=_margin),
    Column("Effective leverage", "calc", 11, LEV, EFFECTIVE, twin=_effective),
    Column("Risk at stop", "calc", 11, MONEY, RISK_AT_STOP, twin=_risk_at_stop),
    Column("Risk %", "calc", 8, PCT, RISK_PCT, twin=_risk_pct),
    Column("Wipe-out pips", "calc", 10, "#,##0.0", WIPEOUT, twin=_wipeout),
    Column("Stop-out price", "calc", 12, PRICE, STOP_OUT, twin=_stop_out),
    Column("Stop beyond stop-out", "calc", 12, BOOL, BEYOND, twin=_beyond),
    Column("R multiple", "calc", 10, "0.00", R_MULTIPLE, twin=_r_multiple),
    Column("Return on margin", "calc", 10, PCT, ROM, twin=_rom),
    Column("Over cap", "calc", 8, BOOL, OVER_CAP, twin=_over_cap),
)

TRAILING: tuple[Column, ...] = schema.TRADES_TRAILING
RENAMED = schema.RENAMED
LEDGER_SHEET = schema.LEDGER_SHEET
LEDGER_COLUMNS = schema.LEDGER_COLUMNS

COLUMNS: tuple[Column, ...] = INPUTS + CALCS + TRAILING
BY_NAME = {c.name: c for c in COLUMNS}
INDEX = {c.name: i for i, c in enumerate(COLUMNS)}


letter = schema.letter


_PLACEHOLDER = re.compile(r"\{(up|prev|to):([^{}]+)\}")


def _place(f: str, row: int) -> str:
    """``f`` placed in sheet ``row`` (the header is row 1): ``{up:Col}`` is Col's cell in the row
    above, ``{prev:Col}`` Col's range from the header to the row above (``Z$1:Z6`` in row 7),
    ``{to:Col}`` its range from the header to this row (``$Z$1:Z7``). Only the relative row numbers
    differ from row to row, as a table's calculated column fills them."""
    def one(m: re.Match) -> str:
        x = letter(INDEX[m.group(2)])
        if m.group(1) == "up":
            return f"{x}{row - 1}"
        if m.group(1) == "prev":
            return f"{x}$1:{x}{row - 1}"
        return f"${x}$1:{x}{row}"
    return _PLACEHOLDER.sub(one, f)


RUNNING = frozenset(c.name for c in CALCS if _PLACEHOLDER.search(c.formula))


def formula(col: Column) -> str:
    """The formula of a calculated column for its first data row (row 2): what the table stores
    as its calculated column formula."""
    return _place(col.formula, 2)


def row_formula(col: Column, row: int) -> str:
    """The formula of a calculated column in sheet row ``row`` (only the references above move)."""
    return _place(col.formula, row)


# Python evaluation --------------------------------------------------------------------------------

def cash_windows(cash: Sequence[tuple[float | None, float]], t0: float) -> Callable[[float], float]:
    """The Cash in/out SUMPRODUCT for a given as-of serial: the amounts of the movements dated in
    [t0, as-of], summed in the Cash table's row order (``cash``: (time serial or None, amount), the
    dated rows sorted by time first, as the build writes them) so the sum is the engine's, bit for bit."""
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


def cash_by_account(cash: Sequence[tuple[str, float | None, float]], accounts: dict[str, AccountInputs],
                    cash_from: float) -> Callable[[str, float], float]:
    """The Cash in/out SUMPRODUCT for an account key and an as-of serial. ``cash``: the Cash rows in
    table order, (account key of its Broker and Account, time serial or None, amount), the dated rows
    sorted by time first as the build writes them; ``accounts``: the Accounts block in order (its
    first account also owns the rows with neither Broker nor Account); ``cash_from``: CashFrom, for
    an account not in the block. Each account's movements are summed in table order, as the engine
    adds them (a row of another account adds 0, which changes no bit)."""
    first = next(iter(accounts), None)
    windows: dict[str, Callable[[float], float]] = {}

    def upto(key: str, asof: float) -> float:
        if key not in windows:
            acct = accounts.get(key)
            start = cash_from if acct is None else (0.0 if acct.cash_from is None else acct.cash_from)
            if not isnum(start):  # words typed as the date: no number is >= them
                windows[key] = lambda asof: 0.0
            else:
                own = [(t, a) for k, t, a in cash if k == key or (k == "|" and key == first)]
                windows[key] = cash_windows(own, start)
        return windows[key](asof)

    return upto


def first_account_opens(rows: Sequence[dict]) -> list[float]:
    """The open times (serials) of the rows of the first account (that of the first row holding a
    trade with a Broker or Account; a row with neither is that account's): CashFrom is its first trade's open time, since its cash before then is StartingBalance
    and the other accounts count theirs from their own dates (ACCOUNTS_DOC)."""
    keys = [account_key(r.get("Broker"), r.get("Account")) if not blank(r.get("Entry")) else None for r in rows]
    first = next((k for k in keys if k not in (None, "|")), "|")
    return [t for r, k in zip(rows, keys) if k is not None and isnum(t := r.get("Open time")) and k in (first, "|")]


def first_trade_time(open_times: Sequence[float | None]) -> float:
    """The earliest open time (date serial), 0 when no row has one: the build's CashFrom."""
    got = [t for t in open_times if isnum(t)]
    return min(got) if got else 0.0


def compute(c: dict[str, list], env: Env) -> None:
    """Fill ``c`` (input column name -> list of cell values, dates as serials, None for empty)
    with every calculated column, row by row through the twins, exactly as the formulas compute."""
    n = len(c["Entry"])
    names = [col.name for col in COLUMNS if col.kind != "calc"]
    calcs = [(col.name, col.twin) for col in CALCS]
    out = {name: [""] * n for name, _ in calcs}
    inputs = [c[name] for name in names]
    up = None
    for i in range(n):
        row = {name: col[i] for name, col in zip(names, inputs)}
        for name, twin in calcs:
            v = twin(row, up, env)
            row[name] = v
            out[name][i] = v
        up = row
    c.update(out)


serial = schema.serial
