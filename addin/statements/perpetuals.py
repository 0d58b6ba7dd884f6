"""Fills of linear (USDT-margined) perpetual futures grouped into positions, shared by the
Binance USDⓈ-M and Bybit readers.

A crypto exchange exports one row per fill (execution), not per position. A trader's journal wants
positions: opened by one or more fills, scaled in, partly closed, closed when the quantity is back
to zero. :func:`group_positions` does that, one position per (symbol, side) at a time:

* **one-way mode** (Binance): the export gives only the order side (BUY/SELL). A fill against the
  open position reduces it; one larger than the position closes it and opens the other side with the
  rest (a *flip*: the fill's fee is split in proportion to the two parts). A fill with a non-zero
  realised profit while no position is open closes a position opened before the export's first
  row: its entry is derived from that profit (linear contract: ``P/L = side × (exit − entry) × qty``,
  so ``entry = exit − P/L / (side × qty)``) and the trade says so in its flags.
* **explicit direction** (Bybit's "Open Long" / "Close Short"): each fill says what it does, which
  also reads hedge-mode accounts (a long and a short of one symbol at once). A close with no
  position open (opened before the export) has no entry price in the file: those rows are rejected,
  naming the reason.

Per position: ``quantity`` = everything opened (= everything closed once flat), ``entry`` and
``exit`` are quantity-weighted averages of the opening and closing fills, so for a linear contract
``(exit − entry) × quantity × side`` is the gross P/L exactly. ``realized`` is the exchange's
own realised P/L where the export gives one per fill (Binance), else the gross P/L from the fills'
prices (Bybit Trade History, average-cost basis, as the exchange computes it). ``fees`` are the
fills' trading fees (positive = paid), ``funding`` the funding paid while the position was open
(positive = paid, negative = received). Prices are in the quote currency, quantities in coins
(contract size 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .model import SourceRef, Statement, Trade

#: Quantities closer than this to zero are zero (coins; exchanges print at most 8 decimals).
QTY_EPSILON = 1e-9


@dataclass
class Fill:
    """One execution as the export prints it."""

    row: int  # the source row: the ledger's key and the trade's SourceRef
    time: datetime
    symbol: str
    side: int  # order side: +1 buy, -1 sell
    quantity: float  # > 0, coins
    price: float  # > 0, quote currency
    fee: float = 0.0  # trading fee in the quote currency, positive = paid
    realized: float | None = None  # the exchange's realised P/L of this fill, when the export has it
    effect: str | None = None  # "open" / "close" when the export says so; None: inferred (one-way)
    leverage: float | None = None
    order_id: str = ""
    trade_id: str = ""
    other_fee: tuple[str, float] | None = None  # a fee in another coin (BNB), not converted
    note: str = ""  # e.g. "liquidation"


@dataclass
class Funding:
    """One funding settlement of an open position."""

    row: int
    time: datetime
    symbol: str
    position_side: int  # +1 long, -1 short
    paid: float  # quote currency, positive = paid, negative = received


@dataclass
class Position:
    """A position from its first fill until it is flat again (or the export ends)."""

    symbol: str
    side: int  # +1 long, -1 short
    rows: list[int] = field(default_factory=list)  # every fill row, first = the opening fill
    opened_qty: float = 0.0
    opened_value: float = 0.0  # sum of price × quantity of the opening fills
    closed_qty: float = 0.0
    closed_value: float = 0.0
    gross: float = 0.0  # average-cost gross P/L of the closing fills, from their prices
    average: float = 0.0  # average entry price of the quantity still open (the exchange's "entry price")
    realized: float = 0.0  # the exchange's realised P/L of the closing fills (when given)
    has_realized: bool = False
    fees: float = 0.0
    funding: float = 0.0
    funding_rows: list[int] = field(default_factory=list)  # funding rows charged to it (non-trade rows)
    open_time: datetime | None = None
    close_time: datetime | None = None
    leverages: list[float] = field(default_factory=list)
    closing_orders: list[str] = field(default_factory=list)
    other_fees: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    before_export: bool = False  # opened before the export's first row (entry derived)
    order_id: str = ""
    trade_id: str = ""

    @property
    def open_qty(self) -> float:
        q = self.opened_qty - self.closed_qty
        return 0.0 if abs(q) <= QTY_EPSILON * max(1.0, self.opened_qty) else q

    @property
    def is_closed(self) -> bool:
        return self.closed_qty > 0 and self.open_qty == 0

    @property
    def entry(self) -> float:
        return self.opened_value / self.opened_qty

    @property
    def exit(self) -> float | None:
        return self.closed_value / self.closed_qty if self.closed_qty > 0 else None

    @property
    def profit(self) -> float:
        """The realised P/L the trade carries: the exchange's when given, else from the prices."""
        return self.realized if self.has_realized else self.gross

    def _open(self, fill: Fill, qty: float, fee: float) -> None:
        if not self.rows or self.rows[-1] != fill.row:
            self.rows.append(fill.row)
        if self.open_time is None:
            self.open_time = fill.time
            self.order_id, self.trade_id = fill.order_id, fill.trade_id
        still = self.open_qty
        self.average = (self.average * still + fill.price * qty) / (still + qty)
        self.opened_qty += qty
        self.opened_value += fill.price * qty
        self._costs(fill, fee, qty / fill.quantity)

    def _close(self, fill: Fill, qty: float, fee: float) -> None:
        if not self.rows or self.rows[-1] != fill.row:
            self.rows.append(fill.row)
        self.gross += self.side * (fill.price - self.average) * qty
        self.closed_qty += qty
        self.closed_value += fill.price * qty
        if fill.realized is not None:
            self.realized += fill.realized
            self.has_realized = True
        self.close_time = fill.time
        key = fill.order_id or f"{fill.time:%Y-%m-%d %H:%M:%S}"
        if key not in self.closing_orders:
            self.closing_orders.append(key)
        self._costs(fill, fee, qty / fill.quantity)

    def _costs(self, fill: Fill, fee: float, share: float) -> None:
        self.fees += fee
        if fill.leverage is not None and fill.leverage not in self.leverages:
            self.leverages.append(fill.leverage)
        if fill.other_fee is not None:
            coin, amount = fill.other_fee
            self.other_fees[coin] = self.other_fees.get(coin, 0.0) + amount * share
        if fill.note and fill.note not in self.notes:
            self.notes.append(fill.note)


@dataclass
class Grouping:
    """What :func:`group_positions` made of the fills and funding rows."""

    positions: list[Position]  # in the order they opened
    orphan_fills: list[tuple[Fill, str]]  # fills that fit no position, with the reason


def newest_first(times: list[datetime]) -> bool:
    """Whether an export lists its rows newest first (both Binance and Bybit do)."""
    return len(times) > 1 and times[0] > times[-1]


def group_positions(fills: list[Fill], funding: Iterable[Funding] = (), *, newest_first_file: bool = False) -> Grouping:
    """Group ``fills`` (in file order) into positions; attach ``funding`` to the position open then.

    ``Fill.effect`` None means one-way mode (the side of the position is inferred from the net
    quantity); "open"/"close" follows the export (``Fill.side`` is then the ORDER side, so an
    "open" BUY opens a long, a "close" BUY closes a short).
    """
    events: list = [*fills, *funding]
    # Funding and fills are merged in time; within one second the file's order decides.
    order = {id(e): i for i, e in enumerate(events)}
    events.sort(key=lambda e: order[id(e)], reverse=newest_first_file)
    events.sort(key=lambda e: e.time)

    current: dict[tuple[str, int], Position] = {}
    positions: list[Position] = []
    orphans: list[tuple[Fill, str]] = []
    before: dict[tuple[str, int], Position] = {}  # a position closed before the export, being read

    def start(symbol: str, side: int) -> Position:
        p = Position(symbol=symbol, side=side)
        positions.append(p)
        current[(symbol, side)] = p
        return p

    def finish(p: Position) -> None:
        if current.get((p.symbol, p.side)) is p:
            del current[(p.symbol, p.side)]

    for e in events:
        if isinstance(e, Funding):
            p = current.get((e.symbol, e.position_side))
            if p is not None:  # the reader reports funding no position took as charged to no trade
                p.funding += e.paid
                p.funding_rows.append(e.row)
            continue
        f: Fill = e
        if f.effect is not None:  # the export says open/close
            side = f.side if f.effect == "open" else -f.side
            p = current.get((f.symbol, side))
            if f.effect == "open":
                (p or start(f.symbol, side))._open(f, f.quantity, f.fee)
                continue
            if p is None:
                orphans.append((f, f"closes a {'long' if side == 1 else 'short'} {f.symbol} position that was "
                                   "opened before the export's first row: its entry price is not in this file"))
                continue
            if f.quantity > p.open_qty * (1 + 1e-9) + QTY_EPSILON:
                p.notes.append(f"closed {f.quantity - p.open_qty:g} more than this export opened: part of the "
                               "position was opened before the export's first row")
                p.opened_value += p.average * (f.quantity - p.open_qty)
                p.opened_qty += f.quantity - p.open_qty
            p._close(f, f.quantity, f.fee)
            if p.open_qty == 0:
                finish(p)
            continue

        # One-way mode: at most one position per symbol; infer what the fill does.
        p = current.get((f.symbol, 1)) or current.get((f.symbol, -1))
        realized = f.realized or 0.0
        if p is None or p.side == f.side:
            key = (f.symbol, -f.side)
            if realized != 0.0:
                # A realised P/L on a fill that opens or adds: it closes a position opened before the
                # export (or the account is in hedge mode). Entry from the exchange's own P/L.
                q = before.get(key)
                if q is None:
                    q = Position(symbol=f.symbol, side=-f.side, before_export=True)
                    positions.append(q)
                    before[key] = q
                entry = f.price - realized / (q.side * f.quantity)
                q.average = entry
                q.opened_qty += f.quantity
                q.opened_value += entry * f.quantity
                q._close(f, f.quantity, f.fee)
                if p is not None:
                    q.notes.append("realised P/L on a fill that adds to the open position: is the account "
                                   "in hedge mode? read as closing a position opened before the export")
                continue
            before.pop((f.symbol, 1), None)
            before.pop((f.symbol, -1), None)
            (p or start(f.symbol, f.side))._open(f, f.quantity, f.fee)
            continue
        before.pop((f.symbol, 1), None)
        before.pop((f.symbol, -1), None)
        closing = min(f.quantity, p.open_qty)
        rest = f.quantity - closing
        if rest <= QTY_EPSILON * max(1.0, f.quantity):
            closing, rest = f.quantity, 0.0
        share = closing / f.quantity
        p._close(f, closing, f.fee * share)
        if rest > 0:
            p.notes.append("closed by a fill that also opened the opposite position (one-way mode flip)")
        if p.open_qty == 0:
            finish(p)
        if rest > 0:
            q = start(f.symbol, f.side)
            q._open(f, rest, f.fee * (1 - share))
            q.notes.append("opened by a fill that closed the opposite position (one-way mode flip)")
    return Grouping(positions=positions, orphan_fills=orphans)


def position_trade(p: Position, *, broker: str, account: str, quote: str | None, file: str, section: str,
                   trade_id: str, flags: Iterable[str] = ()) -> Trade:
    """The journal's :class:`Trade` for one position: a linear perpetual (asset class CRYPTO,
    contract size 1, money in the quote/margin asset). ``commission`` is minus the trading fees,
    ``swap`` minus the funding paid (so ``net_profit`` is the P/L after fees and funding). An open
    position is an open trade of the quantity still open; what it already realised is in its flags.
    Raises pydantic's ValidationError for impossible numbers (the reader rejects the rows)."""
    notes = list(flags)
    closed = p.is_closed
    if p.before_export:
        notes.append("opened before the export's first row: entry derived from the exchange's realised P/L")
    for coin, amount in p.other_fees.items():
        notes.append(f"fee of {amount:.8g} {coin} not in the commission (the export gives no {coin} price)")
    if len(p.leverages) > 1:
        notes.append(f"leverage changed while open ({', '.join(f'{x:g}x' for x in p.leverages)}): the highest used")
    if closed and p.has_realized and abs(p.realized - p.gross) > 0.01 + 1e-6 * abs(p.opened_value):
        notes.append(f"the exchange's realised P/L ({p.realized:.8g}) differs from the fills' prices "
                     f"({p.gross:.8g}): part of the position may predate the export")
    if not closed and p.closed_qty > 0:
        notes.append(f"partly closed: {p.closed_qty:g} of {p.opened_qty:g} closed, realised {p.profit:+.2f} "
                     f"{quote or ''} (counted when the position closes)".replace("  ", " "))
    if "liquidation" in p.notes and not p.has_realized:
        notes.append("liquidated: the fills' prices give the loss at the liquidation price, the exchange books it at "
                     "the bankruptcy price (the margin left goes to its insurance fund), so its Closed P&L shows a "
                     "larger loss")
    notes.extend(n for n in p.notes if n != "liquidation")
    comment = []
    if "liquidation" in p.notes:
        comment.append("liquidated")
    if len(p.closing_orders) > 1:
        comment.append(f"{len(p.closing_orders)} closing orders")
    return Trade(
        broker=broker, account=account, trade_id=trade_id, symbol=p.symbol,
        side="long" if p.side == 1 else "short",
        quantity=round(p.opened_qty if closed else p.open_qty, 10),
        entry=round(p.entry, 10), open_time=p.open_time,
        exit=round(p.exit, 10) if closed else None, close_time=p.close_time if closed else None,
        profit=round(p.profit, 10) if closed else None,
        commission=round(-p.fees, 10) + 0.0, swap=round(-p.funding, 10) + 0.0,
        account_currency=quote, quote_currency=quote, contract_size=1.0, asset_class="CRYPTO",
        leverage=max(p.leverages) if p.leverages else None,
        comment="; ".join(comment), flags=tuple(dict.fromkeys(notes)),
        source=SourceRef(file=file, row=p.rows[0], section=section),
    )


def extra_trade_rows(statement: Statement, section: str, rows_of_trades: Iterable[Iterable[int]]) -> list[tuple[str, int]]:
    """For :func:`ledger.settle`: the fill rows that are part of a trade without being its
    ``source`` (each once; a flip fill is the source of the position it opens)."""
    sources = {(t.source.section, t.source.row) for t in statement.trades}
    extra: dict[tuple[str, int], None] = {}
    for rows in rows_of_trades:
        for r in rows:
            if (section, r) not in sources:
                extra[(section, r)] = None
    return list(extra)
