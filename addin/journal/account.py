"""The Account sheet: the open positions as one account, and the Planner's view of a new trade in it.

Margin calls happen to accounts, not to trades. The sheet lists every open trade of the Trades
table (a row of the ``OpenPositions`` table: its Trade ID, the rest read from Trades by formula)
with a mark price -- the statement's current price where it prints one (MT4's Open Trades), else a
yellow cell the trader types -- and from it:

* per position: notional at the mark (quantity x mark x point value), full margin (notional / the
  trade's leverage used), the margin charged -- hedged positions as MetaTrader charges them on a
  hedging account (:mod:`addin.risk.hedging`): per account and symbol, the hedged volume
  min(long lots, short lots) at the hedged margin rate (two input cells: currency and metal pairs,
  50% by default, MetaTrader's usual Forex setting; other symbols 100%, no relief, by default), so
  each position pays ``full margin x (1 - hedged lots / its leg's lots x (1 - hedged rate))`` --,
  unrealised P/L (side x (mark - entry) x quantity x point value, plus the commission, swap and
  taxes booked so far, as MetaTrader's floating P/L counts them; in the account currency through
  the trade's FX to account, the rate of its entry day, where MetaTrader uses today's);
* for the account: balance (as the Dashboard's), equity = balance + unrealised P/L, used margin
  (hedging relief included) and the margin without it, free margin, margin level, and the distance to the margin call (100%) and to the stop-out
  (StopOutLevel) as ONE uniform adverse move of every position:
  ``(equity - level x used margin) / sum of notionals`` (PORTFOLIO_STOP_OUT_MOVE, natively);
* the net exposure per currency (an FX pair BASEQUOTE: +side x notional to BASE, -side x notional
  to QUOTE; any other symbol under its own name; the account currency left out), in money and as
  a multiple of equity, and the largest single-currency bet.

A position without a mark price is valued at its entry (margin, notional) with no unrealised P/L,
and counted in "positions without a mark price"; one without a point value (no FX rate on Trades)
shows the point value's words, is left out of the sums and counted in "positions without a value".
Below the exposure: the Accounts block (:mod:`addin.journal.accounts`), each account of the journal
in its own currency and in the home currency. Base and Quote are written by the build from
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

from ..risk import hedging as rh
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

# The hedged volume of a position's symbol in its account (MetaTrader's hedging accounts): longs and
# shorts of one symbol held together; see addin.risk.hedging.
HEDGED_PAIRS = "AccountHedgedPairs"   # the hedged margin rate of currency and metal pairs (input cell)
HEDGED_OTHER = "AccountHedgedOther"   # ... of every other symbol
DEFAULT_HEDGED_PAIRS = 0.5  # MetaTrader's usual Forex setting: Hedged margin 50,000 of a 100,000 lot
DEFAULT_HEDGED_OTHER = 1.0  # no relief assumed: type the broker's rate from the symbol specification


def _same_leg(sign: str) -> str:
    """SUMPRODUCT of the Lots of the positions of this row's account and symbol whose Sign is ``sign``
    (comma-separated arrays: a blank row's "" counts 0)."""
    return (f'SUMPRODUCT(--({TABLE}[Account]={_row("Account")}),--({TABLE}[Symbol]={_row("Symbol")}),'
            f'--({TABLE}[Sign]={sign}),{TABLE}[Lots])')


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
    ("Account", 11, "@", f'IF({_LIVE},"",{_from_trades("Account")}&"")'),
    ("Sign", 5, "0", f'IF({_LIVE},"",IF(OR({_row("Side")}="short",{_row("Side")}="sell"),-1,1))'),
    ("Notional", 13, C.MONEY, f'IF({_LIVE},"",IF(ISNUMBER({_row("Point value")}),{_row("Quantity")}*{_PRICE}'
                              f'*{_row("Point value")},{_row("Point value")}))'),
    ("Full margin", 11, C.MONEY, f'IF({_LIVE},"",IF(AND(ISNUMBER({_row("Notional")}),ISNUMBER({_row("Leverage")})),'
                                 f'{_row("Notional")}/{_row("Leverage")},{_row("Notional")}))'),
    ("Lots", 8, C.QTY, f'IF({_LIVE},"",ABS({_row("Quantity")}))'),
    ("Leg lots", 8, C.QTY, f'IF({_LIVE},"",{_same_leg(_row("Sign"))})'),
    ("Hedged lots", 8, C.QTY, f'IF({_LIVE},"",MIN({_row("Leg lots")},{_same_leg("-" + _row("Sign"))}))'),
    ("Hedged rate", 8, "0%", f'IF({_LIVE},"",IF(AND({_row("Base")}<>"",{_row("Quote")}<>""),{HEDGED_PAIRS},'
                             f'{HEDGED_OTHER}))'),
    ("Margin", 11, C.MONEY, f'IF({_LIVE},"",IF(ISNUMBER({_row("Full margin")}),{_row("Full margin")}*(1-IF('
                            f'{_row("Leg lots")}>0,{_row("Hedged lots")}/{_row("Leg lots")},0)*(1-{_row("Hedged rate")})),'
                            f'{_row("Full margin")}))'),
    ("Costs so far", 10, C.MONEY,
     f'IF({_LIVE},"",SUM({_from_trades("Commission")},{_from_trades("Swap")},{_from_trades("Taxes")}))'),
    ("Unrealised P/L", 12, C.MONEY,
     f'IF(OR({_LIVE},NOT(ISNUMBER({_row("Mark price")}))),"",IF(ISNUMBER({_row("Point value")}),{_row("Sign")}*('
     f'{_row("Mark price")}-{_row("Entry")})*{_row("Quantity")}*{_row("Point value")}+{_row("Costs so far")},'
     f'{_row("Point value")}))'),
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
    account: str = ""
    leg_lots: float = 0.0     # the lots of this account's positions of the symbol on this side
    hedged_lots: float = 0.0  # min(long lots, short lots) of the symbol in this account
    hedged_rate: float = DEFAULT_HEDGED_PAIRS

    @property
    def sign(self) -> int:
        return -1 if self.side in ("short", "sell") else 1

    @property
    def lots(self) -> float:
        return abs(self.quantity)

    @property
    def notional(self) -> float | str:
        """Quantity x mark (else entry) x point value; the point value's words when it has none
        ("no FX rate: type FX to account")."""
        if not _num(self.point_value):
            return self.point_value
        return self.quantity * (self.mark if self.mark is not None else self.entry) * self.point_value

    @property
    def full_margin(self) -> float | str:
        n = self.notional
        return n / self.leverage if _num(n) and _num(self.leverage) else n

    @property
    def margin(self) -> float | str:
        """The margin charged: the hedged share of the position at the hedged rate (addin.risk.hedging)."""
        full = self.full_margin
        if not _num(full) or self.leg_lots <= 0:
            return full
        return full * (1 - self.hedged_lots / self.leg_lots * (1 - self.hedged_rate))

    @property
    def valued(self) -> bool:
        """The position has a notional and a margin (a point value, an FX rate, a leverage)."""
        return _num(self.notional) and _num(self.margin)

    @property
    def unrealised(self) -> float | str:
        if self.mark is None:
            return ""
        if not _num(self.point_value):
            return self.point_value
        return self.sign * (self.mark - self.entry) * self.quantity * self.point_value + self.costs


def hedge(positions: list[Position], pairs: float = DEFAULT_HEDGED_PAIRS, other: float = DEFAULT_HEDGED_OTHER) -> None:
    """Set each position's leg lots, hedged lots and hedged rate as the table's formulas compute
    them: per account and symbol (compared without case, as "=" does), the lots of each side;
    the hedged volume ``min(long, short)`` (:func:`addin.risk.hedging.hedged_lots`); the rate
    ``pairs`` for a currency or metal pair (Base and Quote both set), else ``other``."""
    legs_: dict[tuple[str, str, int], float] = {}
    for p in positions:
        k = (p.account.upper(), str(p.symbol).upper(), p.sign)
        legs_[k] = legs_.get(k, 0.0) + p.lots
    for p in positions:
        k = (p.account.upper(), str(p.symbol).upper())
        p.leg_lots = legs_[(*k, p.sign)]
        p.hedged_lots = rh.hedged_lots(p.leg_lots, legs_.get((*k, -p.sign), 0.0))
        p.hedged_rate = pairs if p.base and p.quote else other


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
                            account=id_text(cols["Account"][i]) if cols["Account"][i] not in (None, "") else "",
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
    accounts: list = None  # addin.journal.accounts.AccountRow, one per account


def _move(equity: float, positions: Sequence[Position], level: float, past: str) -> float | str:
    """PORTFOLIO_STOP_OUT_MOVE through addin.risk, with the sheet's messages."""
    notionals = [p.notional if _num(p.notional) else None for p in positions]
    if not any(n is not None for n in notionals):
        return NO_POSITIONS
    try:
        return rp.portfolio_stop_out_move(equity, notionals, [p.margin if _num(p.margin) else None for p in positions],
                                          level)
    except NoPrice:
        return past
    except RiskInputError as exc:
        return str(exc)


def build_account(wb, positions: list[Position], settings, balance: float, cache: dict,
                  currencies: int | None = None, hedged: dict[str, object] | None = None,
                  cols: dict[str, list] | None = None, inputs: dict | None = None) -> AccountResult:
    """Write the Account sheet for the open ``positions``. ``balance`` is the account's balance as
    the Dashboard computes it (StartingBalance + cash since the first trade + closed net P/L).
    ``currencies``: lay out that many exposure rows whatever the positions hold (the shape of a
    sheet written before, for a fill; the figures are then meaningless). ``hedged``: the hedged
    margin rates typed before ({HEDGED_PAIRS: 0.5, HEDGED_OTHER: 1.0}; a missing or unreadable one
    takes its default)."""
    rates = {HEDGED_PAIRS: DEFAULT_HEDGED_PAIRS, HEDGED_OTHER: DEFAULT_HEDGED_OTHER}
    for k, v in (hedged or {}).items():
        if k in rates and _num(v) and 0 <= v <= 1:
            rates[k] = float(v)
    hedge(positions, rates[HEDGED_PAIRS], rates[HEDGED_OTHER])
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
        "Account": lambda p: p.account,
        "Symbol": lambda p: p.symbol, "Side": lambda p: p.side, "Quantity": lambda p: p.quantity,
        "Entry": lambda p: p.entry, "Point value": lambda p: p.point_value, "Leverage": lambda p: p.leverage,
        "Sign": lambda p: float(p.sign), "Notional": lambda p: p.notional, "Full margin": lambda p: p.full_margin,
        "Lots": lambda p: p.lots, "Leg lots": lambda p: p.leg_lots, "Hedged lots": lambda p: p.hedged_lots,
        "Hedged rate": lambda p: p.hedged_rate, "Margin": lambda p: p.margin,
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

    # ``legacy``: the layout of a sheet written before the hedged margin and the Accounts block (a
    # fill's view of the cells the program wrote there, so none of them is taken for the trader's).
    legacy = bool((inputs or {}).get("legacy_account"))
    for label, name, note in () if legacy else (
            ("Hedged rate: FX and metal pairs", HEDGED_PAIRS,
             "share of the full margin charged on hedged lots (longs against shorts of one symbol in one "
             "account): Hedged margin / Contract size in the symbol specification; 50% is MetaTrader's usual "
             "Forex setting, assumed until you type your broker's"),
            ("Hedged rate: other symbols", HEDGED_OTHER,
             "100% assumed (no relief) until you type your broker's rate from the symbol specification")):
        r = row[0]
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        ws.merge_cells(f"A{r}:C{r}")
        s.value(f"D{r}", rates[name], fmt="0%", fill=INPUT_FILL)
        ws[f"D{r}"].border = BOX
        ws.merge_cells(f"D{r}:E{r}")
        s.text(f"F{r}", note, font=NOTE_FONT)
        cells[label], vals[label] = f"$D${r}", rates[name]
        wb.defined_names[name] = DefinedName(name, attr_text=f"{SHEET}!$D${r}")
        row[0] += 1

    unreal = float(sum(p.unrealised for p in positions if _num(p.unrealised)))
    used = float(sum(p.margin for p in positions if _num(p.margin)))
    gross = float(sum(p.notional for p in positions if _num(p.notional)))
    equity = balance + unreal
    from . import accounts as AC
    mixed = AC.mixed_currencies(cols or {}, settings.account_currency)
    out("Balance", C.schema.BALANCE_HOME if not legacy else
        f"StartingBalance+SUMPRODUCT(ISNUMBER({C.CASH_TABLE}[Time])*({C.CASH_TABLE}[Time]>="
        f"{C.CASH_FROM}),{C.CASH_TABLE}[Amount])+SUM({C.TABLE}[Net P/L])", balance, C.MONEY,
        mixed or "the accounts' balances (starting balance + cash in/out + closed trades' net P/L), "
                  "the Accounts block's total")
    out("Unrealised P/L", f"SUM({TABLE}[Unrealised P/L])", unreal, C.MONEY, "open positions at their mark prices")
    out("Equity", f"{at('Balance')}+{at('Unrealised P/L')}", equity, C.MONEY, "balance + unrealised P/L")
    out("Used margin", f"SUM({TABLE}[Margin])", used, C.MONEY,
        "margin of the open positions at their mark prices, hedged lots at the hedged rate")
    full = float(sum(p.full_margin for p in positions if _num(p.full_margin)))
    if not legacy:
        out("Margin without hedging relief", f"SUM({TABLE}[Full margin])", full, C.MONEY,
            "every position margined in full, as if alone")
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
    unvalued = float(sum(1 for p in positions if not _num(p.notional)))
    if not legacy:
        out("Positions without a value", f'SUMPRODUCT(({TABLE}[Trade ID]<>"")*NOT(ISNUMBER({TABLE}[Notional])))',
            unvalued, "0", "no point value (an FX rate to type on Trades): left out of the margin and exposure figures")

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
    valued = [p for p in positions if _num(p.notional)]
    if valued and currencies is None:
        exposure = rp.currency_exposure([p.symbol for p in valued], [p.sign for p in valued],
                                        [p.notional for p in valued], settings.account_currency)
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

    # The accounts, each in its own currency, and in the home currency.
    if legacy:
        r, acc_rows = r - 1, []
    else:
        r, acc_rows, written = AC.write_block(s, ws, r + 1, cols or {}, positions, settings, inputs or {})
        wb.defined_names[AC.RATES_WRITTEN] = DefinedName(AC.RATES_WRITTEN, hidden=True,
                                                         attr_text=marks_text(written))
        starts, froms = AC.written_inputs(acc_rows) if (inputs or {}).get("accounts") is None else ({}, {})
        wb.defined_names[AC.STARTS_WRITTEN] = DefinedName(AC.STARTS_WRITTEN, hidden=True, attr_text=marks_text(starts))
        wb.defined_names[AC.FROMS_WRITTEN] = DefinedName(AC.FROMS_WRITTEN, hidden=True, attr_text=marks_text(froms))

    for label, name in NAMES.items():
        wb.defined_names[name] = DefinedName(name, attr_text=f"{SHEET}!{cells[label]}")
    ws.sheet_view.showGridLines = False
    ws.freeze_panes = f"A{head + 1}"
    ws.print_area = f"A1:{get_column_letter(max(len(POSITION_COLUMNS), len(AC.HEADERS)))}{r}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    return AccountResult(cells={k: f"{SHEET}!{v}" for k, v in cells.items()}, values=vals, exposure=exposure,
                         positions=positions, accounts=acc_rows)


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
        held = float(sum(p.sign * p.notional * ((p.base == leg) - (p.quote == leg)) for p in positions
                         if _num(p.notional))) if leg else 0.0
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
    elif n_ == 0 and not any(_num(p.notional) for p in positions):
        mv: object = NO_POSITIONS
    else:
        notionals = [p.notional if _num(p.notional) else None for p in positions] + ([n_] if n_ else [])
        margins = [p.margin if _num(p.margin) else None for p in positions] + ([m_] if n_ else [])
        try:
            mv = rp.portfolio_stop_out_move(e, notionals, margins, settings.stop_out_level)
        except NoPrice:
            mv = PAST_STOP_OUT
    out("Uniform move to stop-out with it", planned(f'IF(AccountGrossExposure+{N}=0,"{NO_POSITIONS}",'
        f'IF(AccountEquity-StopOutLevel*(AccountUsedMargin+{M})<=0,"{PAST_STOP_OUT}",'
        f'(AccountEquity-StopOutLevel*(AccountUsedMargin+{M}))/(AccountGrossExposure+{N})))'), mv, "0.00%",
        "every position, this one included, moving this % against you reaches the stop-out")
    return row


from . import accounts as AC  # noqa: E402  (accounts imports this module's names lazily)


def build(book) -> None:
    """The Account sheet of the journal ``book`` (:class:`layout.Book`); its figures are kept on
    ``book.account`` for the Planner. The balance is the Dashboard's: StartingBalance + cash in/out
    since the first trade + every trade's net P/L."""
    keyed = AC.keyed_cash(book.cash, excel_serial)
    balance, _ = AC.totals(book.cols, book.settings, book.inputs, book.cash_from, keyed)
    shape = book.inputs.get("positions")
    if shape is not None:  # a layout of that shape only (a fill's view of the sheet it replaces)
        positions = [Position(trade_id=f"x{k}", symbol=f"x{k}", side="long", quantity=1.0, entry=1.0, mark=None,
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
                                 currencies=book.inputs.get("currencies"), hedged=book.inputs.get("hedged"),
                                 cols=book.cols, inputs={**book.inputs, "cash_from": book.cash_from,
                                                         "cash": keyed})
