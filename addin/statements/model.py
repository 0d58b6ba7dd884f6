"""The one trade model every statement reader produces.

A reader turns one exported file into a :class:`Statement`: the closed and open trades it found
(:class:`Trade`), the rows that are not trades but were recognised (:class:`NonTradeRow`: deposits,
cancelled orders, summaries...), the rows it could not read (:class:`RejectedRow`, with the reason),
the cash movements that let equity be rebuilt (:class:`BalanceEvent`) and the statement's own totals
(:class:`StatementTotals`) that tests reconcile against. Every source row ends up in exactly one of
``trades``, ``non_trades`` or ``rejected``: nothing is silently dropped.

Money fields are in the account currency as the statement states them; prices are in the
instrument's quote currency. Costs keep the statement's sign: a commission of -7.0 is a cost.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

Side = Literal["long", "short"]


class SourceRef(BaseModel):
    """Where a row came from: the file, the 1-based row (line or table row) and the section."""

    model_config = ConfigDict(frozen=True)

    file: str
    row: int | None = None
    section: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.section:
            where += f", section {self.section!r}"
        if self.row is not None:
            where += f", row {self.row}"
        return where


class Trade(BaseModel):
    """One position as a statement reports it: opened, and closed unless ``close_time`` is None.

    ``quantity`` is always positive, in the unit ``contract_size`` multiplies (lots, contracts,
    shares, coins); the direction is ``side``. ``profit`` is the realised P/L in account currency
    without commission, swap and taxes (``net_profit`` adds them). ``fx_to_account`` converts the
    quote currency into the account currency when the statement gives it; ``contract_size``,
    ``equity`` and ``leverage`` likewise only when the statement states them (the journal fills the
    gaps from its Instruments table and settings, and says so in ``flags``: one short note per
    assumption, e.g. "symbol not in Instruments: contract size 1 assumed"). ``mark_price`` is an open
    trade's current market price where the statement prints one (MT4's Open Trades; the journal's
    Account sheet values the position at it, or at a price the trader types there).

    Prices are positive, except where a market really prints 0: an option that expires worthless,
    or leaves the book by assignment or exercise, is closed at price 0 (Interactive Brokers writes
    it as an execution at 0 that carries the position's realised P/L). So ``exit`` may be 0, and
    ``entry`` may be 0 only together with ``exit`` 0: a reader that records a closing execution as a
    Trade closed when executed (entry = exit = execution price) writes such a close as entry = exit =
    0. An open trade, or one closed at a positive price, still needs a positive entry; negative and
    non-finite prices are never valid, and ``stop``/``target`` stay strictly positive.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker: str
    account: str = ""
    trade_id: str
    symbol: str
    side: Side
    quantity: float = Field(gt=0)
    entry: float = Field(ge=0)  # 0 only with exit 0: see the class docstring
    open_time: datetime | None = None
    close_time: datetime | None = None
    exit: float | None = Field(default=None, ge=0)  # 0: expired worthless / assigned / exercised
    stop: float | None = Field(default=None, gt=0)
    target: float | None = Field(default=None, gt=0)
    commission: float = 0.0
    swap: float = 0.0
    taxes: float = 0.0
    profit: float | None = None
    account_currency: str | None = None
    quote_currency: str | None = None
    fx_to_account: float | None = Field(default=None, gt=0)
    contract_size: float | None = Field(default=None, gt=0)
    asset_class: str | None = None
    equity: float | None = None
    leverage: float | None = Field(default=None, gt=0)
    mark_price: float | None = Field(default=None, gt=0)  # open trades: the statement's current price
    comment: str = ""
    flags: tuple[str, ...] = ()
    source: SourceRef
    # Excursions over price bars (addin.fill.excursions), set by a fill given bar files: MAE/MFE a
    # price distance, the R multiples and the lowest margin level (a fraction) numbers, or each a few
    # words why there is none ("no stop", "bars do not cover this trade"); None: nothing measured.
    # ``worst_price`` is the adverse extreme the margin level was taken at.
    mae: float | str | None = None
    mfe: float | str | None = None
    mae_r: float | str | None = None
    mfe_r: float | str | None = None
    lowest_margin_level: float | str | None = None
    worst_price: float | None = Field(default=None, gt=0)

    @field_validator("entry", "exit", "stop", "target", "commission", "swap", "taxes", "profit",
                     "fx_to_account", "contract_size", "equity", "leverage", "quantity", "mark_price")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("trade_id", "symbol")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _closed_has_exit(self) -> "Trade":
        if self.close_time is not None and self.exit is None:
            raise ValueError("a closed trade needs an exit price")
        if self.entry == 0 and self.exit != 0:
            raise ValueError("entry price 0 is only valid for a closing execution at price 0 "
                             "(exit 0: an expiry, assignment or exercise)")
        return self

    @property
    def is_closed(self) -> bool:
        return self.exit is not None

    @property
    def net_profit(self) -> float | None:
        """profit + commission + swap + taxes, in account currency (None while open)."""
        if self.profit is None:
            return None
        return self.profit + self.commission + self.swap + self.taxes

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity used to merge overlapping statements: (broker, account, trade id)."""
        return (self.broker, self.account, self.trade_id)


class NonTradeRow(BaseModel):
    """A row recognised as not being a trade, by kind: "deposit", "withdrawal", "cancelled order",
    "summary", "working order", "funding", ... ``text`` is a short human description."""

    model_config = ConfigDict(frozen=True)

    kind: str
    source: SourceRef
    text: str = ""


class RejectedRow(BaseModel):
    """A row that looked like data but could not be imported; kept with the reason."""

    model_config = ConfigDict(frozen=True)

    source: SourceRef
    reason: str
    raw: str = ""


class BalanceEvent(BaseModel):
    """Cash in or out of the account (deposit, withdrawal, credit, adjustment), account currency."""

    model_config = ConfigDict(frozen=True)

    time: datetime | None
    amount: float
    kind: str
    source: SourceRef
    # The account it moved in: a fill stamps every movement with its statement's broker and account
    # (a statement is one account's), so each account's Balance counts only its own cash.
    broker: str = ""
    account: str = ""


class StatementTotals(BaseModel):
    """The statement's own figures, where it prints them, for reconciliation.

    ``closed_pnl`` is the closed-trade P/L including commission, swap and taxes as the statement
    counts it (MetaTrader's "Closed Trade P/L", TradingView's cumulative P&L, Tradovate's pnl sum).
    """

    closed_trades: int | None = None
    closed_pnl: float | None = None
    balance: float | None = None
    equity: float | None = None


class RowLedger(BaseModel):
    """Where every source row of the file went: ``seen == trade_rows + non_trade_rows + rejected``.

    A "row" is what the format calls one: a CSV record (its first line), an HTML ``<tr>``, a
    worksheet row, an XML element of the Trades section. ``trade_rows`` counts the rows that became
    (part of) a :class:`Trade` (TradingView prints two rows per trade), ``non_trade_rows`` the
    :class:`NonTradeRow` entries and ``rejected`` every rejected row, including those beyond
    ``Statement.rejected`` when that list was capped (``rejected_not_listed``). The reader checks the
    equation row by row (each seen row ends in exactly one outcome) before it returns.
    """

    model_config = ConfigDict(frozen=True)

    seen: int = 0
    trade_rows: int = 0
    non_trade_rows: int = 0
    rejected: int = 0

    @property
    def balanced(self) -> bool:
        return self.seen == self.trade_rows + self.non_trade_rows + self.rejected

    def __str__(self) -> str:
        """The line the fill prints per file, e.g.
        ``412 rows: 300 trade rows, 100 non-trade, 12 rejected``."""
        return (f"{self.seen:,} rows: {self.trade_rows:,} trade rows, {self.non_trade_rows:,} non-trade, "
                f"{self.rejected:,} rejected")


class TotalsCheck(BaseModel):
    """One of the statement's own totals compared with the same figure summed from the rows read.

    ``stated`` is what the file prints (e.g. MetaTrader's "Closed Trade P/L"), ``computed`` the
    sum over what the reader imported, ``tolerance`` the rounding allowed (absolute, in the
    figure's unit). ``ok`` is False when they differ by more: the fill prints and records
    :meth:`describe` (both figures and the difference) so the trader can look at the file.
    """

    model_config = ConfigDict(frozen=True)

    name: str  # e.g. "closed trades", "closed trade P/L"
    stated: float
    computed: float
    tolerance: float = 0.0
    unit: str = ""  # "USD", "trades", ...
    source: str = ""  # where the stated figure is, e.g. "Summary: Closed Trade P/L"
    explained: str = ""  # the rejected rows that account for a mismatch, e.g. "the rejected row 57 holds ..."

    @property
    def difference(self) -> float:
        return self.computed - self.stated

    @property
    def ok(self) -> bool:
        return abs(self.difference) <= self.tolerance + 1e-9

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        where = f" ({self.source})" if self.source else ""
        # counts (trades, rows) read as whole numbers, money with cents
        fmt = ",.0f" if all(float(v).is_integer() for v in (self.stated, self.computed)) and not self.unit.isupper() \
            else ",.2f"
        verdict = "matches" if self.ok else f"MISMATCH, difference {self.difference:+{fmt}}{unit}"
        why = f"; {self.explained}" if self.explained and not self.ok else ""
        return (f"{self.name}: statement says {self.stated:{fmt}}{unit}{where}, rows read add up to "
                f"{self.computed:{fmt}}{unit}: {verdict}{why}")


class Statement(BaseModel):
    """Everything one reader got out of one file.

    ``ledger`` accounts for every source row (see :class:`RowLedger`); ``checks`` compares the
    statement's own totals with the rows read (see :class:`TotalsCheck`; ``mismatches`` are the
    failed ones). ``rejected`` lists at most ``ledger.MAX_LISTED_REJECTED`` rows;
    ``rejected_not_listed`` counts the rest (the ledger counts them all).
    """

    file: str
    format: str
    broker: str
    account: str = ""
    account_currency: str | None = None
    leverage: float | None = None
    trades: list[Trade] = []
    balance_events: list[BalanceEvent] = []
    non_trades: list[NonTradeRow] = []
    rejected: list[RejectedRow] = []
    totals: StatementTotals = StatementTotals()
    ledger: RowLedger | None = None
    checks: list[TotalsCheck] = []
    rejected_not_listed: int = 0
    # rows that became part of a trade besides each trade's ``source`` row (TradingView's pairs)
    _extra_trade_rows: list = PrivateAttr(default_factory=list)

    def trade_or_rejected_rows(self) -> set[tuple[str, int]]:
        """(section, row) of every listed row that became (part of) a trade or was rejected."""
        rows = {(t.source.section, t.source.row) for t in self.trades}
        rows.update(self._extra_trade_rows)
        rows.update((r.source.section, r.source.row) for r in self.rejected)
        return rows

    @property
    def mismatches(self) -> list[TotalsCheck]:
        return [c for c in self.checks if not c.ok]


class StatementError(Exception):
    """The whole file cannot be read as the expected format. The message names the file and
    what was expected; nothing is written anywhere."""

    def __init__(self, file: str, message: str):
        self.file = file
        super().__init__(f"{file}: {message}")
