"""Interactive Brokers executions booked as positions: FIFO within one statement.

Both IB readers (:mod:`ibkr_flex`, :mod:`ibkr_activity`) first read every execution as a *draft*
:class:`Trade`: an opening execution as an open trade at its price, a closing one closed when
executed (entry = exit = its price) with IB's realised P/L as ``net_profit``. :func:`book` then
pairs them per account, symbol, currency and asset class, in execution order, first in first out,
as IB's own realised P/L does:

* a **closing execution** whose quantity the open lots of the same statement cover becomes one
  closed row: its own exit price, close time and quantity; ``entry`` = the quantity-weighted price
  of the lots it closes, ``open_time`` = the first of them. Money: ``net_profit`` stays IB's
  realised P/L (already net of the opening and the closing commission), ``commission`` = its own
  + the closed lots' share of their opening commission (commission x closed / executed), and
  ``profit`` = realised - commission - taxes: Net P/L = IB's realised P/L, each commission counted
  once, on the row where the lot closed;
* an **opening execution** fully closed in the same statement is no journal row: a
  :class:`NonTradeRow` "opening execution closed in this statement" naming the rows that carry it.
  One partly closed stays an open row of the remaining quantity and commission, its Flags saying
  how much was closed and by which rows;
* a **flip** (``C;O``: the execution closed the position and opened the opposite one) whose closed
  part the statement's lots cover is split: a closed row of the lots' quantity (the realised P/L
  and that share of the execution's commission) and an open row of the rest (the rest of the
  commission; trade id ``<execution id>:open``), both flagged. Both rows come from one source row:
  the reader counts that row once (one outcome: trade) and adds the open row after the row ledger
  is settled;
* a closing execution the statement's lots do not cover -- the position was opened before the
  statement -- stays closed when executed, flagged :data:`OPENED_BEFORE`: its entry and open time
  are unknown to the file. The fill's merge then takes them from the journal's open rows of that
  position (:mod:`addin.fill.plan`). The same holds when IB's realised P/L does not fit the lots of
  the statement (IB's FIFO closed older lots first): nothing of the statement is consumed then.

Sum of ``net_profit`` over the closed rows = IB's realised P/L over the closing executions; open
quantity = what the statement's executions leave open; each lot is on exactly one row.

>>> from datetime import datetime
>>> from addin.statements.model import SourceRef
>>> def ex(row, side, qty, price, closed=None, comm=-1.0):
...     return Trade(broker="IB", trade_id=f"e{row}", symbol="X", side=side, quantity=qty, entry=price,
...                  open_time=datetime(2024, 1, row),
...                  close_time=datetime(2024, 1, row) if closed is not None else None,
...                  exit=price if closed is not None else None, commission=comm,
...                  profit=None if closed is None else closed - comm, source=SourceRef(file="f", row=row))
>>> rows, notes, extra = book([ex(1, "long", 100, 10.0), ex(2, "long", 60, 12.0, closed=118.4)])
>>> [(t.quantity, t.entry, t.exit, round(t.commission, 2), t.net_profit and round(t.net_profit, 2)) for t in rows]
[(40.0, 10.0, None, -0.4, None), (60.0, 10.0, 12.0, -1.6, 118.4)]
>>> rows[0].flags, notes, extra
(('60 of 100 closed in this statement by row 2: 40 still open',), [], [])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .model import NonTradeRow, Trade

#: Flags of a closing execution whose position was opened before the statement: the file does not
#: say at what price or when, so Entry and Open time show the closing execution's own. The fill's
#: merge replaces them from the journal's open rows of the position when it holds them.
OPENED_BEFORE = "opened before this statement: entry unknown (Entry and Open time show the closing execution's)"
#: The flags of an execution that closed the position and opened the opposite one (a flip, IB's
#: open/close code "C;O") while the file does not hold the position it closed: IB books it as one
#: execution whose realised P/L is that of the closed part, and nothing says how much of it opened.
#: A flip whose closed lots the file holds is split instead (:func:`book`).
FLIP_FLAGS = ("closed the position and opened the opposite one in one execution (IB's C;O): quantity is the "
              "whole execution, realised P/L the closed part's; how much of it opened is unknown while the "
              "position it closed is not in this statement",)
#: The kind of the NonTradeRow of an opening execution whose whole quantity closed in the statement.
CONSUMED = "opening execution closed in this statement"


def _rows(rows: Iterable[int | None]) -> str:
    rows = [str(r) for r in dict.fromkeys(rows)]
    return ("row " if len(rows) == 1 else "rows ") + (", ".join(rows[:-1]) + " and " + rows[-1] if len(rows) > 1
                                                       else rows[0])


def _q(x: float) -> str:
    return f"{x:,.10g}"


@dataclass
class _Lot:
    trade: Trade               # the opening execution (or a flip's open remainder)
    left: float                # quantity not yet closed
    closed_by: list[int | None] = field(default_factory=list)  # source rows of the closes
    commission_taken: float = 0.0
    taxes_taken: float = 0.0
    from_flip: bool = False


def _fits(close: Trade, takes: list[tuple[_Lot, float]], part: float, basis_moved: bool) -> bool:
    """IB's realised P/L of ``close`` agrees with closing ``takes`` (lot, quantity): the price
    difference times quantity, contract size and FX plus both commissions' shares, within rounding.
    Unknown contract size: nothing to compare, taken as fitting. An assignment or exercise is not
    compared: IB moves the option's premium into the basis (0 realised on the option, the premium in
    the stock's realised P/L)."""
    if basis_moved:
        return True
    size = close.contract_size or next((lot.trade.contract_size for lot, _ in takes if lot.trade.contract_size), None)
    if size is None or close.net_profit is None:
        return True
    fx = close.fx_to_account or 1.0
    sign = 1.0 if close.side == "long" else -1.0
    expected = close.commission * part / close.quantity + close.taxes * part / close.quantity
    notional = 0.0
    for lot, take in takes:
        expected += sign * (close.exit - lot.trade.entry) * take * size * fx
        expected += (lot.trade.commission + lot.trade.taxes) * take / lot.trade.quantity
        notional += (close.exit + lot.trade.entry) * take * size * fx
    return abs(expected - close.net_profit) <= 0.05 + 1e-3 * notional


def _closed_row(close: Trade, takes: list[tuple[_Lot, float]], part: float, flags: tuple[str, ...]) -> Trade:
    share = part / close.quantity
    commission = close.commission * share
    taxes = close.taxes * share
    for lot, take in takes:
        c = lot.trade.commission * take / lot.trade.quantity
        x = lot.trade.taxes * take / lot.trade.quantity
        commission += c
        taxes += x
        lot.commission_taken += c
        lot.taxes_taken += x
    entry = sum(lot.trade.entry * take for lot, take in takes) / part
    opened = ", ".join(f"{_q(take)} of {_q(lot.trade.quantity)} @ {lot.trade.entry:g} (row {lot.trade.source.row})"
                       for lot, take in takes)
    return close.model_copy(update=dict(
        quantity=part, entry=entry, open_time=takes[0][0].trade.open_time,
        commission=commission, taxes=taxes, profit=close.net_profit - commission - taxes,
        flags=flags + (f"opened by {opened}",)))


def book(drafts: list[Trade], group: Callable[[Trade], tuple] | None = None, flip_flags: tuple[str, ...] = (),
         basis_moved: set[tuple[str, int | None]] = frozenset()) -> tuple[list[Trade], list[NonTradeRow], list[Trade]]:
    """Pair the draft executions FIFO (module docstring). Returns the journal rows (in the drafts'
    order, partly closed openings shrunk), the NonTradeRows of fully closed opening executions and
    the open rows of split flips (to add after the row ledger is settled: their source row is the
    flip's, already a trade). ``group``: the position a draft belongs to (default: account, symbol,
    quote currency, asset class); ``flip_flags``: the flags a reader puts on a ``C;O`` draft;
    ``basis_moved``: the (section, row) of assignments and exercises (IB codes A, Ex), whose realised
    P/L is not compared with the lots' prices: IB moves an option's premium into the basis (0 realised
    on the option, the premium in the delivered stock's realised P/L)."""
    group = group or (lambda t: (t.account, t.symbol, t.quote_currency, t.asset_class))
    by_group: dict[tuple, list[int]] = {}
    for n, t in enumerate(drafts):
        by_group.setdefault(group(t), []).append(n)
    out: dict[int, Trade | None] = {}
    lots_of: dict[int, _Lot] = {}
    remainders: dict[int, Trade] = {}
    for members in by_group.values():
        members.sort(key=lambda n: (drafts[n].open_time is None, drafts[n].open_time or 0, n))
        lots: dict[str, deque[_Lot]] = {"long": deque(), "short": deque()}  # open lots, oldest first
        total = {"long": 0.0, "short": 0.0}  # their quantity left
        for n in members:
            t = drafts[n]
            if not t.is_closed:
                lots_of[n] = _Lot(t, t.quantity)
                lots[t.side].append(lots_of[n])
                total[t.side] += t.quantity
                out[n] = t
                continue
            flip = bool(flip_flags) and all(f in t.flags for f in flip_flags)
            same = lots[t.side]
            part = min(t.quantity, total[t.side])
            takes, need = [], part
            for lot in same:
                if need <= 1e-9 * t.quantity:
                    break
                take = min(lot.left, need)
                takes.append((lot, take))
                need -= take
            whole = part >= t.quantity - 1e-9
            covered = whole != flip and part > 1e-12  # a flip closes less than it executes
            if not takes or not covered or not _fits(
                    t, takes, part if part < t.quantity - 1e-9 else t.quantity,
                    (t.source.section, t.source.row) in basis_moved):
                out[n] = t.model_copy(update={"flags": t.flags + (OPENED_BEFORE,)})
                continue
            if part >= t.quantity - 1e-9:
                part = t.quantity
                if takes:
                    takes[-1] = (takes[-1][0], takes[-1][1] + (t.quantity - sum(k for _, k in takes)))
            for lot, take in takes:
                lot.left -= take
                total[t.side] -= take
                lot.closed_by.append(t.source.row)
                if lot.left <= 1e-9 * lot.trade.quantity:
                    total[t.side] -= lot.left
                    lot.left = 0.0
            while same and same[0].left == 0.0:
                same.popleft()
            if part < t.quantity:  # a flip: the closed part and the opened rest
                rest = t.quantity - part
                flags = tuple(f for f in t.flags if f not in flip_flags)
                closed = _closed_row(t, takes, part, flags + (
                    f"flip: this execution of {_q(t.quantity)} closed {_q(part)} and opened {_q(rest)} "
                    f"{'short' if t.side == 'long' else 'long'} (Trade ID {t.trade_id}:open)",))
                opened = t.model_copy(update=dict(
                    trade_id=f"{t.trade_id}:open", side="short" if t.side == "long" else "long", quantity=rest,
                    entry=t.exit, open_time=t.close_time, close_time=None, exit=None, profit=None,
                    commission=t.commission * rest / t.quantity,
                    taxes=t.taxes * rest / t.quantity,
                    flags=flags + (f"flip: opened by the execution that closed {_q(part)} "
                                   f"(Trade ID {t.trade_id}): this row is the {_q(rest)} it opened",),
                    comment=t.comment))
                out[n] = closed
                remainders[n] = opened
                lot = _Lot(opened, rest, from_flip=True)
                lots[opened.side].append(lot)
                total[opened.side] += rest
                lots_of[-n - 1] = lot
            else:
                out[n] = _closed_row(t, takes, part, t.flags)
    notes: list[NonTradeRow] = []
    for n, lot in lots_of.items():
        t = lot.trade
        if not lot.closed_by:
            continue
        where = _rows(lot.closed_by)
        if lot.left == 0.0:
            if n < 0:
                remainders.pop(-n - 1)  # the flip's opened part closed too: its row stays the closed part
                continue
            out[n] = None
            notes.append(NonTradeRow(kind=CONSUMED, source=t.source, text=(
                f"{'BUY' if t.side == 'long' else 'SELL'} {_q(t.quantity)} {t.symbol} @ {t.entry:g}: closed in this "
                f"statement by {where}, whose rows carry its price, open time and commission")))
            continue
        shrunk = t.model_copy(update=dict(
            quantity=lot.left, commission=t.commission - lot.commission_taken, taxes=t.taxes - lot.taxes_taken,
            flags=t.flags + (f"{_q(t.quantity - lot.left)} of {_q(t.quantity)} closed in this statement by "
                             f"{where}: {_q(lot.left)} still open",)))
        if n < 0:
            remainders[-n - 1] = shrunk
        else:
            out[n] = shrunk
    trades = [out[n] for n in range(len(drafts)) if out.get(n) is not None]
    return trades, notes, [remainders[n] for n in sorted(remainders)]


def with_flip_rests(trades: list[Trade], rests: list[Trade]) -> list[Trade]:
    """``trades`` with each split flip's open row right after the closed row of the same source row."""
    after: dict[tuple, list[Trade]] = {}
    for r in rests:
        after.setdefault((r.source.section, r.source.row), []).append(r)
    out: list[Trade] = []
    for t in trades:
        out.append(t)
        out += after.pop((t.source.section, t.source.row), [])
    for rest in after.values():  # cannot happen (a flip's closed row always stays); never dropped
        out += rest
    return out
