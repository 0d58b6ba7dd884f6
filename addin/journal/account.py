"""The Account sheet: the open positions as one account, and the Planner's view of a new trade in it.

Margin calls happen to accounts, not to trades. The sheet lists every open trade of the Trades
table (a row of the ``OpenPositions`` table: its Trade ID, the rest read from Trades by formula)
with a mark price -- the statement's current price where it prints one (MT4's Open Trades), else a
yellow cell the trader types -- and from it:

* per position: notional at the mark (quantity x mark x point value), margin (notional / the
  trade's leverage used), unrealised P/L (side x (mark - entry) x quantity x point value, plus the
  commission, swap and taxes booked so far, as MetaTrader's floating P/L counts them);
* for the account: balance (as the Dashboard's), equity = balance + unrealised P/L, used and free
  margin, margin level, and the distance to the margin call (100%) and to the stop-out
  (StopOutLevel) as ONE uniform adverse move of every position:
  ``(equity - level x used margin) / sum of notionals`` (PORTFOLIO_STOP_OUT_MOVE, natively);
* the net exposure per currency (an FX pair BASEQUOTE: +side x notional to BASE, -side x notional
  to QUOTE; any other symbol under its own name; the account currency left out), in money and as
  a multiple of equity, and the largest single-currency bet.

A position without a mark price is valued at its entry (margin, notional) with no unrealised P/L,
and counted in "positions without a mark price". Base and Quote are written by the build from
:func:`addin.risk.portfolio.currency_legs`; the currencies listed are those of the positions. A fill lays the sheet out again for the open trades
of the Trades table (:mod:`addin.fill.summary`): one row per open trade, the mark price found on
the sheet kept with its Trade ID.

:func:`planner_context` adds the Planner's "with your open positions" block: margin level and free
margin after adding the planned trade, the new net exposure of its two currencies, the uniform
move to stop-out with it.

Python twins compute every cached value through :mod:`addin.risk.portfolio`; no add-in call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo

from ..risk import portfolio as rp
from ..risk.errors import NoPrice, RiskInputError
from ..risk.inputs import parse_side as risk_side
from ..statements.model import Trade
from . import columns as C
from .trades import id_key, id_match, id_text
from .layout import (BOX, HEAD_FILL, HEAD_FONT, INPUT_FILL, LABEL_FONT, NOTE_FONT, SECTION_FONT, TITLE_FONT,
                     VALUE_FONT, Sheet, excel_serial)

SHEET = TITLE = C.schema.ACCOUNT_SHEET
TABLE = C.schema.OPEN_POSITIONS_TABLE
MARGIN_CALL_LEVEL = 1.0  # the margin level of the margin call: 100% (as the Planner's margin call price)
NO_POSITIONS = "no open positions"
PAST_CALL = "at or past the margin call"
PAST_STOP_OUT = "at or past the stop-out"
BAD_EQUITY = "equity must be > 0"
# Defined names of the account's figures, for formulas elsewhere (the Planner uses them).
NAMES = {"Equity": "AccountEquity", "Used margin": "AccountUsedMargin", "Free margin": "AccountFreeMargin",
         "Margin level": "AccountMarginLevel", "Gross exposure": "AccountGrossExposure"}


def _row(col: str) -> str:
    return f"{TABLE}[[#This Row],[{col}]]"


def _from_trades(col: str) -> str:
    return f'INDEX({C.TABLE}[{col}],{id_match(_row("Trade ID"), f"{C.TABLE}[Trade ID]")})'


_LIVE = f'{_row("Trade ID")}=""'
_PRICE = f'IF(ISNUMBER({_row("Mark price")}),{_row("Mark price")},{_row("Entry")})'

# (name, width, number format, formula or None for a value the build writes).
POSITION_COLUMNS: tuple[tuple[str, float, str, str | None], ...] = (
    ("Trade ID", 12, "@", None),
    ("Symbol", 10, "@", f'IF({_LIVE},"",{_from_trades("Symbol")})'),
    ("Side", 7, "@", f'IF({_LIVE},"",{_from_trades("Side")})'),
    ("Quantity", 9, C.QTY, f'IF({_LIVE},"",{_from_trades("Quantity")})'),
    ("Entry", 11, C.PRICE, f'IF({_LIVE},"",{_from_trades("Entry")})'),
    ("Mark price", 11, C.PRICE, None),
    ("Point value", 10, C.schema.POINT, f'IF({_LIVE},"",{_from_trades("Point value")})'),
    ("Leverage", 9, C.schema.LEVERAGE, f'IF({_LIVE},"",{_from_trades("Leverage used")})'),
    ("Base", 6, "@", None),
    ("Quote", 6, "@", None),
    ("Sign", 5, "0", f'IF({_LIVE},"",IF(OR({_row("Side")}="short",{_row("Side")}="sell"),-1,1))'),
    ("Notional", 13, C.MONEY, f'IF({_LIVE},"",{_row("Quantity")}*{_PRICE}*{_row("Point value")})'),
    ("Margin", 11, C.MONEY, f'IF({_LIVE},"",{_row("Notional")}/{_row("Leverage")})'),
    ("Costs so far", 10, C.MONEY,
     f'IF({_LIVE},"",SUM({_from_trades("Commission")},{_from_trades("Swap")},{_from_trades("Taxes")}))'),
    ("Unrealised P/L", 12, C.MONEY,
     f'IF(OR({_LIVE},NOT(ISNUMBER({_row("Mark price")}))),"",{_row("Sign")}*({_row("Mark price")}-{_row("Entry")})'
     f'*{_row("Quantity")}*{_row("Point value")}+{_row("Costs so far")})'),
)
PCOL = {name: get_column_letter(j + 1) for j, (name, *_) in enumerate(POSITION_COLUMNS)}


def _num(v: object) -> bool:
    return type(v) in (float, int)


@dataclass
class Position:
    """One open position as the table's row computes it (the Python twin)."""
    trade_id: str
    symbol: str
    side: str
    quantity: float
    entry: float
    mark: float | None
    point_value: float
    leverage: float
    base: str
    quote: str
    costs: float

    @property
    def sign(self) -> int:
        return -1 if self.side in ("short", "sell") else 1

    @property
    def notional(self) -> float:
        return self.quantity * (self.mark if self.mark is not None else self.entry) * self.point_value

    @property
    def margin(self) -> float:
        return self.notional / self.leverage

    @property
    def unrealised(self) -> float | str:
        if self.mark is None:
            return ""
        return self.sign * (self.mark - self.entry) * self.quantity * self.point_value + self.costs


def legs(symbol: str) -> tuple[str, str]:
    """Base and Quote cells of a position: a pair's two currencies, else (SYMBOL, "")."""
    got = rp.currency_legs(symbol)
    return got if got is not None else (symbol.strip().upper(), "")


STATEMENT_MARKS = "AccountStatementMarks"  # hidden defined name: the marks the program wrote from statements
_NAME_CHARS = 8000  # a defined name's formula holds at most 8,192 characters in Excel


def marks_text(marks: dict[str, float]) -> str:
    """The :data:`STATEMENT_MARKS` name's formula: ``"ID=price;ID=price"`` as a text constant (as
    many as fit; a Trade ID holding ``;``, ``=`` or a quote is left out: its mark then counts as typed)."""
    parts, size = [], 2
    for k, v in sorted(marks.items()):
        if any(ch in k for ch in ';="') or not _num(v):
            continue
        item = f"{k}={float(v)!r}"
        if size + len(item) + 1 > _NAME_CHARS:
            break
        parts.append(item)
        size += len(item) + 1
    return '"' + ";".join(parts) + '"'


def parse_marks_text(text: str | None) -> dict[str, float]:
    """:func:`marks_text` read back (empty for a missing or unreadable name)."""
    t = (text or "").strip().lstrip("=")
    if len(t) < 2 or t[0] != '"' or t[-1] != '"':
        return {}
    out = {}
    for item in t[1:-1].split(";"):
        k, _, v = item.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            continue
    return out


def statement_marks(trades: Sequence[Trade]) -> dict[str, float]:
    """Trade ID (upper case) -> the mark price a statement printed for the open trade."""
    return {t.trade_id.upper(): t.mark_price for t in trades if t.exit is None and t.mark_price is not None}


def is_open(cols: dict[str, list], i: int) -> bool:
    """Row ``i`` of the Trades columns is an open position: a Trade ID, no exit, an entry and a quantity."""
    return (cols["Exit"][i] is None and cols["Trade ID"][i] not in (None, "") and _num(cols["Entry"][i])
            and _num(cols["Quantity"][i]))


def open_positions(cols: dict[str, list], marks: dict[str, float] | None = None) -> list[Position]:
    """The open trades of the Trades columns (:func:`is_open`) as positions, in Trades order, each
    with its mark price from ``marks`` (Trade ID upper case -> price). The first Trades row of a
    Trade ID is the one the formulas' MATCH finds."""
    marks = marks or {}
    first: dict[str, int] = {}
    ids = cols["Trade ID"]
    for i, tid in enumerate(ids):
        if tid not in (None, ""):
            first.setdefault(id_key(tid), i)
    out = []
    for j in range(len(ids)):
        if not is_open(cols, j):
            continue
        tid = id_text(ids[j])
        i = first[id_key(tid)]
        base, quote = legs(str(cols["Symbol"][j] or ""))
        lev, pv = cols["Leverage used"][i], cols["Point value"][i]
        out.append(Position(trade_id=tid, symbol=cols["Symbol"][i], side=cols["Side"][i],
                            quantity=cols["Quantity"][i], entry=cols["Entry"][i], mark=marks.get(tid.upper()),
                            point_value=pv, leverage=lev, base=base, quote=quote,
                            costs=sum(v for v in (cols["Commission"][i], cols["Swap"][i], cols["Taxes"][i])
                                      if _num(v))))
    return out


@dataclass
class AccountResult:
    """The account's figures (cached values) and the cells holding them, for the Planner and tests."""
    cells: dict[str, str]      # label -> "Account!$B$n"
    values: dict[str, object]  # label -> value
    exposure: list[tuple[str, float]]  # currency -> net exposure, account currency
    positions: list[Position]


def _move(equity: float, positions: Sequence[Position], level: float, past: str) -> float | str:
    """PORTFOLIO_STOP_OUT_MOVE through addin.risk, with the sheet's messages."""
    if not positions:
        return NO_POSITIONS
    try:
        return rp.portfolio_stop_out_move(equity, [p.notional for p in positions], [p.margin for p in positions],
                                          level)
    except NoPrice:
        return past
    except RiskInputError as exc:
        return str(exc)


def build_account(wb, positions: list[Position], settings, balance: float, cache: dict,
                  currencies: int | None = None) -> AccountResult:
    """Write the Account sheet for the open ``positions``. ``balance`` is the account's balance as
    the Dashboard computes it (StartingBalance + cash since the first trade + closed net P/L).
    ``currencies``: lay out that many exposure rows whatever the positions hold (the shape of a
    sheet written before, for a fill; the figures are then meaningless)."""
    s = Sheet(wb[SHEET], cache)
    ws = s.ws
    right = Alignment(horizontal="right")
    s.text("A1", "The account: open positions together", font=TITLE_FONT)
    s.text("A2", "Yellow cells are inputs: the mark price (current market price) of each open position. "
                 "Everything else is a native formula.", font=NOTE_FONT)

    # Open positions table, from row 4.
    head = 4
    for j, (name, width, fmt, _) in enumerate(POSITION_COLUMNS):
        x = get_column_letter(j + 1)
        s.text(f"{x}{head}", name, font=HEAD_FONT, fill=HEAD_FILL,
               align=Alignment(wrap_text=True, horizontal="center", vertical="center"))
        ws.column_dimensions[x].width = width
    ws.row_dimensions[head].height = 30
    computed = {
        "Symbol": lambda p: p.symbol, "Side": lambda p: p.side, "Quantity": lambda p: p.quantity,
        "Entry": lambda p: p.entry, "Point value": lambda p: p.point_value, "Leverage": lambda p: p.leverage,
        "Sign": lambda p: float(p.sign), "Notional": lambda p: p.notional, "Margin": lambda p: p.margin,
        "Costs so far": lambda p: p.costs, "Unrealised P/L": lambda p: p.unrealised}
    for k in range(max(len(positions), 1)):
        r = head + 1 + k
        p = positions[k] if positions else None
        for j, (name, _, fmt, f) in enumerate(POSITION_COLUMNS):
            coord = f"{get_column_letter(j + 1)}{r}"
            if f is not None:
                s.formula(coord, f, computed[name](p) if p else "", fmt=fmt, align=None if fmt == "@" else right)
            elif name == "Mark price":
                s.value(coord, p.mark if p else None, fmt=fmt, fill=INPUT_FILL)
            else:
                v = {"Trade ID": p.trade_id, "Base": p.base, "Quote": p.quote}[name] if p else None
                s.text(coord, v)
    last = head + max(len(positions), 1)
    ref = f"A{head}:{get_column_letter(len(POSITION_COLUMNS))}{last}"
    table = Table(displayName=TABLE, ref=ref, tableStyleInfo=TableStyleInfo(name="TableStyleLight9",
                                                                             showRowStripes=True))
    table.tableColumns = [TableColumn(id=j + 1, name=name,
                                      calculatedColumnFormula=TableFormula(attr_text=f) if f else None)
                          for j, (name, _, _, f) in enumerate(POSITION_COLUMNS)]
    ws.add_table(table)

    # The account as a whole.
    top = last + 2
    s.text(f"A{top}", "The account", font=SECTION_FONT)
    cells: dict[str, str] = {}
    vals: dict[str, object] = {}
    row = [top + 1]

    def out(label: str, formula: str, value: object, fmt: str, note: str = ""):
        r = row[0]
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        ws.merge_cells(f"A{r}:C{r}")
        s.formula(f"D{r}", formula, value, fmt=fmt, font=VALUE_FONT, border=BOX, align=right)
        ws.merge_cells(f"D{r}:E{r}")
        if note:
            s.text(f"F{r}", note, font=NOTE_FONT)
        cells[label], vals[label] = f"$D${r}", value
        row[0] += 1

    def at(label: str) -> str:
        return cells[label]

    unreal = float(sum(p.unrealised for p in positions if _num(p.unrealised)))
    used = float(sum(p.margin for p in positions))
    gross = float(sum(p.notional for p in positions))
    equity = balance + unreal
    out("Balance", f"StartingBalance+SUMPRODUCT(ISNUMBER({C.CASH_TABLE}[Time])*({C.CASH_TABLE}[Time]>="
        f"{C.CASH_FROM}),{C.CASH_TABLE}[Amount])+SUM({C.TABLE}[Net P/L])", balance, C.MONEY,
        "starting balance + cash in/out since the first trade + closed trades' net P/L")
    out("Unrealised P/L", f"SUM({TABLE}[Unrealised P/L])", unreal, C.MONEY, "open positions at their mark prices")
    out("Equity", f"{at('Balance')}+{at('Unrealised P/L')}", equity, C.MONEY, "balance + unrealised P/L")
    out("Used margin", f"SUM({TABLE}[Margin])", used, C.MONEY, "margin of the open positions at their mark prices")
    out("Free margin", f"{at('Equity')}-{at('Used margin')}", equity - used, C.MONEY,
        "equity not held as margin: what a new position can use")
    level = equity / used if used > 0 else NO_POSITIONS
    out("Margin level", f'IF({at("Used margin")}>0,{at("Equity")}/{at("Used margin")},"{NO_POSITIONS}")', level,
        "0%", "equity / used margin; the broker closes positions at StopOutLevel")
    out("Gross exposure", f"SUM({TABLE}[Notional])", gross, C.MONEY, "sum of the positions' notionals")
    out("Gross leverage", f'IF({at("Equity")}>0,{at("Gross exposure")}/{at("Equity")},"{BAD_EQUITY}")',
        gross / equity if equity > 0 else BAD_EQUITY, C.LEV, "gross exposure / equity")

    def move_formula(level_ref: str, past: str) -> str:
        e, u, g = at("Equity"), at("Used margin"), at("Gross exposure")
        return (f'IF({g}=0,"{NO_POSITIONS}",IF({e}-{level_ref}*{u}<=0,"{past}",'
                f'({e}-{level_ref}*{u})/{g}))')
    out("Move to margin call (100%)", move_formula(str(MARGIN_CALL_LEVEL), PAST_CALL),
        _move(equity, positions, MARGIN_CALL_LEVEL, PAST_CALL), "0.00%",
        "one adverse move of every position, % of its price, that brings the margin level to 100%")
    out("Move to stop-out", move_formula("StopOutLevel", PAST_STOP_OUT),
        _move(equity, positions, settings.stop_out_level, PAST_STOP_OUT), "0.00%",
        "the same uniform move to the StopOutLevel setting: the broker starts closing positions")
    missing = float(sum(1 for p in positions if p.mark is None))
    out("Positions without a mark price", f'SUMPRODUCT(({TABLE}[Trade ID]<>"")*NOT(ISNUMBER({TABLE}[Mark price])))',
        missing, "0", "valued at their entry price, no unrealised P/L: type their mark price")

    # Net exposure per currency.
    r = row[0] + 1
    s.text(f"A{r}", "Net exposure per currency", font=SECTION_FONT)
    s.text(f"F{r}", "+ long, - short; an FX pair counts for both its currencies; the account currency is left out",
           font=NOTE_FONT)
    r += 1
    for x, label in (("A", "Currency"), ("B", "Net, money"), ("D", "x equity")):
        s.text(f"{x}{r}", label, font=HEAD_FONT, fill=HEAD_FILL, align=right if x != "A" else None)
    ws.merge_cells(f"B{r}:C{r}")
    ws.merge_cells(f"D{r}:E{r}")
    exposure: list[tuple[str, float]] = []
    if positions and currencies is None:
        exposure = rp.currency_exposure([p.symbol for p in positions], [p.sign for p in positions],
                                        [p.notional for p in positions], settings.account_currency)
    elif currencies:
        exposure = [(f"X{k}", 0.0) for k in range(currencies)]
    first = r + 1
    for cur, net in exposure or [("", 0.0)]:
        r += 1
        s.text(f"A{r}", cur)
        s.formula(f"B{r}", f'IF($A{r}="",0,SUMPRODUCT({TABLE}[Sign],{TABLE}[Notional],'
                  f'({TABLE}[Base]=$A{r})-({TABLE}[Quote]=$A{r})))', net, fmt=C.MONEY, align=right)
        ws.merge_cells(f"B{r}:C{r}")
        x = "" if not cur else net / equity if equity > 0 else BAD_EQUITY
        s.formula(f"D{r}", f'IF($A{r}="","",IF({at("Equity")}>0,B{r}/{at("Equity")},"{BAD_EQUITY}"))',
                  x, fmt='0.00"x"', align=right)
        ws.merge_cells(f"D{r}:E{r}")
    end = r
    r += 1
    biggest = max(exposure, key=lambda e: abs(e[1])) if exposure else ("", 0.0)
    rng = f"$D${first}:$D${end}"
    abs_x = f"ABS(IF(ISNUMBER({rng}),{rng},0))"
    big_x = abs(biggest[1]) / equity if equity > 0 and exposure else ""
    for label, formula, value, fmt, note in (
            ("Largest single-currency bet", f'IF(COUNT({rng})=0,"",INDEX($A${first}:$A${end},MATCH(MAX({abs_x}),{abs_x},0)))',
             biggest[0] if big_x != "" else "", None, "the currency whose net position is the largest multiple of equity"),
            ("Largest bet, x equity", f'IF(COUNT({rng})=0,"",MAX({abs_x}))', big_x, '0.00"x"',
             "its size, long or short, as a multiple of equity")):
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        ws.merge_cells(f"A{r}:C{r}")
        ws[f"D{r}"] = ArrayFormula(f"D{r}", "=" + formula)  # classic array formula: ABS over the list
        s.cache[f"D{r}"] = value
        ws[f"D{r}"].font = VALUE_FONT
        ws[f"D{r}"].alignment = right
        if fmt:
            ws[f"D{r}"].number_format = fmt
        ws.merge_cells(f"D{r}:E{r}")
        s.text(f"F{r}", note, font=NOTE_FONT)
        cells[label], vals[label] = f"$D${r}", value
        r += 1
    r -= 1

    for label, name in NAMES.items():
        wb.defined_names[name] = DefinedName(name, attr_text=f"{SHEET}!{cells[label]}")
    ws.sheet_view.showGridLines = False
    ws.freeze_panes = f"A{head + 1}"
    ws.print_area = f"A1:{get_column_letter(len(POSITION_COLUMNS))}{r}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    return AccountResult(cells={k: f"{SHEET}!{v}" for k, v in cells.items()}, values=vals, exposure=exposure,
                         positions=positions)


# The Planner's account context ---------------------------------------------------------------------

from ..risk.caps import CURRENCIES, METAL_CLASSES  # noqa: E402

LEG_CODES = tuple(sorted(CURRENCIES | frozenset(METAL_CLASSES)))
_SUFFIX_MARKS = "._-+#!"


def _codes() -> str:
    return "{" + ",".join(f'"{c}"' for c in LEG_CODES) + "}"


def native_legs(symbol: object) -> tuple[str, str]:
    """The Planner's formula for a typed symbol's (base, quote), in Python: the symbol without "/"
    and upper-cased is a pair when its first two 3-letter groups are different currency (or metal)
    codes and nothing follows, or a suffix starting with one of ``._-+#!`` does. Otherwise
    (SYMBOL, ""). (addin.risk.portfolio.currency_legs also takes a lower-case suffix, EURUSDm:
    the positions' Base/Quote come from it; a formula is kept simpler.)"""
    s = str(symbol or "").strip().replace("/", "").upper()
    pair = (len(s) >= 6 and s[:3] in LEG_CODES and s[3:6] in LEG_CODES and s[:3] != s[3:6]
            and (len(s) == 6 or s[6] in _SUFFIX_MARKS))
    return (s[:3], s[3:6]) if pair else (s, "")


NO_PLAN = "needs the plan's margin (the add-in)"


def planner_context(s, P: dict[str, str], V: dict[str, object], row: int, acct: AccountResult, settings) -> int:
    """Append the "with your open positions" block to the Planner at ``row``; returns the next free
    row. ``P``/``V``: the Planner's cells and values by label (Symbol, Side, Notional, Margin)."""
    right = Alignment(horizontal="right")
    s.text(f"A{row}", "With your open positions (Account sheet)", font=SECTION_FONT)
    row += 1
    at: dict[str, str] = {}

    def out(label: str, formula: str, value: object, fmt: str | None, note: str = ""):
        nonlocal row
        s.text(f"A{row}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"B{row}", formula, value, fmt=fmt, font=VALUE_FONT, border=BOX, align=right)
        if note:
            s.text(f"C{row}", note, font=NOTE_FONT)
        at[label] = f"$B${row}"
        row += 1

    sym = f'UPPER(SUBSTITUTE(TRIM({P["Symbol"]}),"/",""))'
    pair = (f'AND(LEN({sym})>=6,ISNUMBER(MATCH(LEFT({sym},3),{_codes()},0)),'
            f'ISNUMBER(MATCH(MID({sym},4,3),{_codes()},0)),LEFT({sym},3)<>MID({sym},4,3),'
            f'OR(LEN({sym})=6,ISNUMBER(FIND(MID({sym},7,1),"{_SUFFIX_MARKS}"))))')
    base, quote = native_legs(V["Symbol"])
    out("Base currency", f"IF({pair},LEFT({sym},3),{sym})", base, None, "a pair's first currency, else the symbol")
    out("Quote currency", f'IF({pair},MID({sym},4,3),"")', quote, None)

    e, u = acct.values["Equity"], acct.values["Used margin"]
    notional, margin = V["Notional"], V["Margin"]
    n_ok = _num(notional) and _num(margin)
    m_ = margin if _num(margin) else 0.0
    n_ = notional if n_ok else 0.0
    M = f'IF(ISNUMBER({P["Margin"]}),{P["Margin"]},0)'
    N = f'IF(AND(ISNUMBER({P["Notional"]}),ISNUMBER({P["Margin"]})),{P["Notional"]},0)'
    # The figures "after this trade" need the plan's margin and notional (add-in cells): without
    # them the cell says so rather than showing the account as if the trade took no margin.
    ok = f'AND(ISNUMBER({P["Margin"]}),ISNUMBER({P["Notional"]}))'

    def planned(formula: str) -> str:
        return f'IF({ok},{formula},"{NO_PLAN}")'

    out("Account equity", "AccountEquity", e, C.MONEY, "balance + unrealised P/L of the open positions")
    out("Free margin after this trade", planned(f"AccountFreeMargin-{M}"), e - u - m_ if n_ok else NO_PLAN,
        C.MONEY, "below 0: the broker refuses the order")
    level = (e / (u + m_) if u + m_ > 0 else NO_POSITIONS) if n_ok else NO_PLAN
    out("Margin level after this trade", planned(f'IF(AccountUsedMargin+{M}>0,AccountEquity/(AccountUsedMargin+{M}),'
        f'"{NO_POSITIONS}")'), level, "0%", "equity / (used margin + this trade's margin)")
    try:
        sign = risk_side(V["Side"])
    except RiskInputError:
        sign = 1
    sgn = f'IF(OR({P["Side"]}=-1,{P["Side"]}="short",{P["Side"]}="sell"),-1,1)'
    positions = acct.positions
    for label, key, leg, mult in (("Net exposure of the base currency after", "Base currency", base, 1),
                                  ("Net exposure of the quote currency after", "Quote currency", quote, -1)):
        cell = at[key]
        held = float(sum(p.sign * p.notional * ((p.base == leg) - (p.quote == leg)) for p in positions)) if leg else 0.0
        if leg == "":
            v: object = ""
        elif leg == settings.account_currency.upper():
            v = "account currency"
        elif not n_ok:
            v = NO_PLAN
        elif e > 0:
            v = (held + mult * sign * n_) / e
        else:
            v = BAD_EQUITY
        out(label, f'IF({cell}="","",IF({cell}=AccountCurrency,"account currency",' + planned(
            f'IF(AccountEquity>0,(SUMPRODUCT({TABLE}[Sign],{TABLE}[Notional],({TABLE}[Base]={cell})-'
            f'({TABLE}[Quote]={cell})){"+" if mult > 0 else "-"}{sgn}*{N})/AccountEquity,"{BAD_EQUITY}")') + "))",
            v, '0.00"x"', "x equity, + long / - short, open positions and this trade together")
    if not n_ok:
        mv: object = NO_PLAN
    elif n_ == 0 and not positions:
        mv: object = NO_POSITIONS
    else:
        notionals = [p.notional for p in positions] + ([n_] if n_ else [])
        margins = [p.margin for p in positions] + ([m_] if n_ else [])
        try:
            mv = rp.portfolio_stop_out_move(e, notionals, margins, settings.stop_out_level)
        except NoPrice:
            mv = PAST_STOP_OUT
    out("Uniform move to stop-out with it", planned(f'IF(AccountGrossExposure+{N}=0,"{NO_POSITIONS}",'
        f'IF(AccountEquity-StopOutLevel*(AccountUsedMargin+{M})<=0,"{PAST_STOP_OUT}",'
        f'(AccountEquity-StopOutLevel*(AccountUsedMargin+{M}))/(AccountGrossExposure+{N})))'), mv, "0.00%",
        "every position, this one included, moving this % against you reaches the stop-out")
    return row


def build(book) -> None:
    """The Account sheet of the journal ``book`` (:class:`layout.Book`); its figures are kept on
    ``book.account`` for the Planner. The balance is the Dashboard's: StartingBalance + cash in/out
    since the first trade + every trade's net P/L."""
    flow = C.cash_windows([(excel_serial(e.time) if e.time is not None else None, e.amount) for e in book.cash],
                          book.cash_from)(float("inf"))
    balance = book.settings.starting_balance + flow + sum(v for v in book.cols["Net P/L"] if _num(v))
    shape = book.inputs.get("positions")
    if shape is not None:  # a layout of that shape only (a fill's view of the sheet it replaces)
        positions = [Position(trade_id=f"x{k}", symbol="", side="long", quantity=1.0, entry=1.0, mark=None,
                              point_value=1.0, leverage=1.0, base="", quote="", costs=0.0) for k in range(shape)]
    else:
        marks = book.inputs.get("marks")
        positions = open_positions(book.cols, statement_marks(book.trades) if marks is None else marks)
    # The mark prices the program wrote from statements (not typed): a later statement replaces them.
    written = statement_marks(book.trades) if book.inputs.get("marks") is None else book.inputs.get("written", {})
    listed = {p.trade_id.upper() for p in positions}
    book.wb.defined_names[STATEMENT_MARKS] = DefinedName(STATEMENT_MARKS, hidden=True, attr_text=marks_text(
        {k: v for k, v in written.items() if k in listed}))
    book.account = build_account(book.wb, positions, book.settings, balance, book.cache,
                                 currencies=book.inputs.get("currencies"))
