"""The plan of a fill: what changes in the Trades table, decided from what the journal holds and
what the statements say, before anything is written.

The plan reads nothing from a file and writes nothing: it takes the journal's Trades rows as
input cells by column name (:class:`JournalRows`, read by :mod:`.trades_part` from the xlsx) and
returns a :class:`Plan` -- the rows to update, the new trades (numbered, with their equity at
entry), the Cash and Rejected rows to add, the keys for the ledger, and every column's values with
the calculated columns computed by their twins (the cached values a writer puts beside the
formulas). A writer (the xlsx package writer in :mod:`.inplace`, or one that writes a live
workbook) carries it out.

Ownership of a Trades row's cells (columns found by the table's header, wherever the trader moved
them or whatever columns they added):

* statement-owned (:data:`STATEMENT_OWNED`): what a statement says -- times, symbol, side, size,
  prices, costs, profit, currencies, FX, equity, leverage, Source, Flags. A fill rewrites them, on
  the trades the statement holds, when the statement says something else;
* the key (Broker, Account, Trade ID) is compared normalised (case and whitespace) and kept as
  the trader spelled it;
* Stop and Target: a statement's value fills an empty cell; a typed value is never replaced -- when
  the statement disagrees, the trade's Flags say so;
* the trader's columns (Setup, Tags, Mistakes, Notes, Screenshot) and every column the trader
  added: written only on a trade the fill adds (Notes takes the statement's comment), never after;
* calculated columns: formulas untouched; the cached values of the journal's own formulas are
  recomputed (:func:`addin.journal.columns.compute`).

New trades go, in time order, first into the empty rows at the end of the table (the template's
blank row), then below it, and are numbered in ``No.`` after the largest number in the table. A
new trade's Equity, when its statement does not state it, is the balance the journal had reached
when it opened (:func:`balance_before`: starting balance, Cash movements and the closed P/L of every
trade of the journal). CashFrom (the Cash sheet's "Counted from" date) follows the first trade's
open time unless the trader typed another date.

A row without a Trade ID is a manual trade: kept, and counted in the figures. A trade whose key is
in the ledger of imported keys but no longer in Trades was deleted by the trader: not added back
unless ``restore_deleted``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..journal import accounts as accounts_mod
from ..journal import columns as C
from ..journal import schema
from ..journal.instruments import Instrument
from ..journal.trades import trade_cells
from ..journal.settings import Settings
from ..statements.ibkr_positions import FLIP_FLAGS, OPENED_BEFORE
from ..statements.model import BalanceEvent, RejectedRow, Trade
from . import excursions
from .journal_state import norm, text, trade_key
from .xlsx_edit import serial

KEY_COLUMNS, STOP_COLUMNS, STATEMENT_OWNED = schema.KEY_COLUMNS, schema.STOP_COLUMNS, schema.STATEMENT_OWNED
# What a statement states about a trade (schema.FACTS). The other statement-owned cells (contract
# size, FX, equity, leverage, Source, Flags...) are completed by the fill from the statement's
# context; they are rewritten with the facts, so an overlapping later statement that says the same
# does not replace them with figures rebuilt from a shorter history.
FACTS = schema.FACTS
DATE_COLUMNS = {c.name for c in C.INPUTS if c.kind == "date"}
NUMBER_COLUMNS = {c.name for c in C.INPUTS if c.kind == "number"}

ASSUMED_START = "equity rebuilt from the assumed starting equity in Settings"
NO_BALANCE = "no positive balance before the trade: starting balance used as equity"
EQUITY_FLAGS = (ASSUMED_START, NO_BALANCE)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    deleted_skipped: int = 0
    restored: int = 0
    stop_conflicts: int = 0
    same_key: int = 0        # rows of the statement on the key of an earlier row of it: rejected


@dataclass
class JournalRows:
    """What the plan needs of the journal: the Trades columns present (by name), the table's data
    rows (non-empty input cells by column name, dates as serials; ``{}`` for an empty row), the
    ledger of imported keys (None: the journal has none yet), the Cash rows, the keys of the
    Rejected rows, and the CashFrom cell's value (None when empty)."""
    columns: set[str]
    rows: list[dict[str, object]]
    ledger: set[tuple[str, str, str]] | None
    cash: list[BalanceEvent]
    rejected_keys: set[tuple]
    cash_from: object = None
    # The Accounts block's inputs (addin.fill.summary.read_account_inputs) and the starting balances
    # the statements of this fill state ("stated": addin.journal.accounts.resolve).
    account_inputs: dict = field(default_factory=dict)


@dataclass
class Plan:
    per_file: list[Counts]
    changed: bool
    total_trades: int
    n_old: int = 0                                   # data rows the table had
    updates: dict[int, dict[str, object]] = field(default_factory=dict)   # row index -> cells to write
    slots: dict[int, dict[str, object]] = field(default_factory=dict)     # empty rows taking new trades
    appended: list[dict[str, object]] = field(default_factory=list)       # new trades below the table
    cols: dict[str, list] = field(default_factory=dict)  # every column, calculated ones computed
    cash_all: list[BalanceEvent] = field(default_factory=list)
    cash_new: list[BalanceEvent] = field(default_factory=list)
    rejected_new: list[RejectedRow] = field(default_factory=list)
    ledger_add: list[tuple[str, str, str]] = field(default_factory=list)
    cash_from: float = 0.0
    all_rows: list[dict[str, object]] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # open trades' mark prices the statements give
    account_inputs: dict = field(default_factory=dict)  # what the Trades columns read of the Accounts block


def _same(name: str, old: object, new: object) -> bool:
    if new is None or new == "":
        return old is None or old == ""
    if name in DATE_COLUMNS or name in NUMBER_COLUMNS:
        if isinstance(old, bool) or not isinstance(old, (int, float)):
            return False
        return abs(float(old) - float(new)) <= 1e-9 * max(1.0, abs(float(new))) if name in DATE_COLUMNS \
            else float(old) == float(new)
    return text(old) == text(new)


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else text(v)


def _same_key(first: Trade, second: Trade) -> RejectedRow:
    """The Rejected row for ``second``, a trade of the statement that holds ``first`` under the same
    key (Broker, Account, Trade ID compared without case, spaces and control characters)."""
    def ident(t: Trade) -> str:
        return f"{t.broker!r}/{t.account!r}/{t.trade_id!r}"
    return RejectedRow(source=second.source,
                       reason=f"same trade key as {first.source}: {ident(first)} and {ident(second)} are one trade "
                              "to the journal (case, spaces and control characters do not count); this row was "
                              "not imported: correct the statement or type the trade in yourself")


def cash_key(e: BalanceEvent) -> tuple:
    """A cash movement's identity across imports: (file, row, time, amount); times compared naive,
    to the second, as the journal stores them."""
    when = e.time.replace(tzinfo=None, microsecond=0) if e.time is not None else None
    return (e.source.file, e.source.row, when, round(e.amount, 6))


def balance_before(rows: Sequence[dict], cash: Sequence[tuple[float | None, float]], cash_from: float,
                   starting_balance: float) -> Callable[[float | None], float]:
    """The journal's balance just before a moment (a date serial; None: after everything):
    ``starting_balance`` + the Cash movements dated from ``cash_from`` (CashFrom) on + the Net P/L
    (Profit + Commission + Swap + Taxes) of every row closed, all strictly before the moment. Built
    once over all ``rows`` (input cells by column name, dates as serials), O(log n) a query; the
    moves are summed in (time, amount) order, so the same journal gives the same figure bit for bit
    whatever order its rows were added in.

    >>> rows = [{"Close time": 2.0, "Profit": 50.0, "Commission": -1.0}, {"Open time": 3.0}]
    >>> before = balance_before(rows, [(1.5, 100.0)], 1.0, 1000.0)
    >>> before(1.0), before(2.5), before(None)
    (1000.0, 1149.0, 1149.0)
    """
    moves = [(t, a) for t, a in cash if C.isnum(t) and t >= cash_from]
    for r in rows:
        closed, profit = r.get("Close time"), r.get("Profit")
        if C.isnum(closed) and C.isnum(profit):
            moves.append((float(closed), profit + C.N(r.get("Commission")) + C.N(r.get("Swap"))
                          + C.N(r.get("Taxes"))))
    moves.sort()
    times, running, total = [], [], starting_balance
    for t, a in moves:
        total += a
        times.append(t)
        running.append(total)

    def before(moment: float | None) -> float:
        if moment is None:
            return total
        i = bisect_left(times, moment)
        return running[i - 1] if i else starting_balance
    return before


# --- a closing execution of a position opened in an earlier statement ----------------------------
# A statement whose closing execution's position was opened before it (the reader flags it
# OPENED_BEFORE: entry unknown) closes the journal's open rows of that position -- same Broker,
# Account, Symbol and Side, opened no later than the execution -- first in, first out: a row wholly
# closed gets the execution's Exit and Close time, its share of the commission and of the P/L, and
# Flags 'closed in a later statement by Trade ID "<id>" ...' (its Setup, Notes and other trader
# cells stay where they are); a row partly closed shrinks (its Quantity and commission) and the
# closed part becomes a new row with that row's Entry and Open time. Only when the open rows hold
# the whole quantity; otherwise the row is added as the statement has it, flagged -- except a flip
# (IB's C;O), which closes every open row of the position and opens the rest as a new row
# "<Trade ID>:open". IB's realised P/L is split over several rows by their price difference (entry
# to exit) with the contract size and FX that IB's own figure implies, so the pieces add up to it
# exactly; each row's Net P/L = Profit + Commission + Swap + Taxes. Filling either statement again
# leaves these rows as they are (the Flags name the executions merged).
_CLOSED_BY = re.compile(r'by Trade ID "([^"]*)"')


def _closing_ids(rows: Sequence[dict]) -> dict[tuple, int]:
    """The closing executions earlier fills merged into open rows (named in their Flags), by key."""
    out: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        flags = text(r.get("Flags"))
        if 'by Trade ID "' in flags:
            for tid in _CLOSED_BY.findall(flags):
                out[trade_key(r.get("Broker"), r.get("Account"), tid)] = i
    return out


def _earlier_positions(t: Trade, k: tuple, at: int | None, rows: Sequence[dict], updates: dict,
                       closed_by: dict) -> bool:
    """True when ``t`` must leave the journal as it is: a closing execution already merged into an
    earlier open row, or an open trade (or closing row) whose row a later statement closed or shrank."""
    if at is None:
        return k in closed_by
    flags = updates[at].get("Flags", rows[at].get("Flags")) if at in updates else rows[at].get("Flags")
    return 'by Trade ID "' in text(flags)


class _OpenRows:
    """The open rows (journal and new) by position -- Broker, Account, Symbol, Side normalised --
    indexed once, the new rows as they come."""

    def __init__(self, rows: Sequence[dict], fresh: list[dict]):
        self.rows, self.fresh, self.seen = rows, fresh, 0
        self.by: dict[tuple, list[tuple[str, int]]] = {}
        for i, r in enumerate(rows):
            self._add("journal", i, r)

    def _add(self, where: str, i: int, r: dict) -> None:
        if r.get("Exit") in (None, "") and text(r.get("Trade ID")).strip():
            key = (norm(r.get("Broker")), norm(r.get("Account")), norm(r.get("Symbol")), norm(r.get("Side")))
            self.by.setdefault(key, []).append((where, i))

    def of(self, key: tuple) -> list[tuple[str, int]]:
        for j in range(self.seen, len(self.fresh)):
            self._add("fresh", j, self.fresh[j])
        self.seen = len(self.fresh)
        return self.by.get(key, [])


def _close_earlier(t: Trade, cells: dict, rows: Sequence[dict], updates: dict, fresh: list[dict],
                   counts: Counts, open_rows: _OpenRows) -> list[dict] | None:
    """Close the open rows of ``t``'s position (see above). Returns None when they do not hold its
    whole quantity (nothing changed), else the new rows: the closed part of a row partly closed, and
    for a flip (IB's C;O: it closes every open row of the position) the open row of the rest."""
    found = []
    closed_at = cells.get("Close time")
    for where, i in open_rows.of((norm(t.broker), norm(t.account), norm(t.symbol), norm(t.side))):
        cur = {**rows[i], **updates.get(i, {})} if where == "journal" else fresh[i]
        if (cur.get("Exit") in (None, "") and C.isnum(cur.get("Quantity")) and cur.get("Quantity") > 0
                and C.isnum(cur.get("Entry"))
                and not (C.isnum(cur.get("Open time")) and C.isnum(closed_at) and cur["Open time"] > closed_at)):
            found.append((C.N(cur.get("Open time")) if C.isnum(cur.get("Open time")) else 0.0, where, i, cur))
    found.sort(key=lambda f: (f[0], f[1] == "fresh", f[2]))
    takes, need = [], t.quantity
    for _, where, i, cur in found:
        if need <= 1e-12:
            break
        take = min(float(cur["Quantity"]), need)
        takes.append((where, i, cur, take))
        need -= take
    flip = FLIP_FLAGS[0] in t.flags
    rest = need if flip and need > 1e-9 * max(1.0, t.quantity) else 0.0
    if not takes or (need > 1e-9 * max(1.0, t.quantity) and not rest):
        return None
    net = t.net_profit
    sign = 1.0 if t.side == "long" else -1.0
    share = [take / t.quantity for *_, take in takes]
    opening = [(C.N(cur.get("Commission")) + C.N(cur.get("Taxes"))) * take / float(cur["Quantity"])
               for _, _, cur, take in takes]
    moves = [sign * (t.exit - float(cur["Entry"])) * take for _, _, cur, take in takes]
    gross = net - (t.commission + t.taxes) * sum(share) - sum(opening)
    if len(takes) == 1:
        nets = [net]
    elif abs(sum(moves)) > 1e-12:
        nets = [m * gross / sum(moves) + (t.commission + t.taxes) * f + o for m, f, o in zip(moves, share, opening)]
    else:
        nets = [gross * f / sum(share) + (t.commission + t.taxes) * f + o for f, o in zip(share, opening)]
    own = [f for f in text(cells.get("Flags")).split("; ") if f and f != OPENED_BEFORE and f not in FLIP_FLAGS]
    named = f'Trade ID "{t.trade_id}" ({t.source})'
    new_rows: list[dict] = []
    for (where, i, cur, take), f, n in zip(takes, share, nets):
        qty = float(cur["Quantity"])
        comm, taxes, swap = C.N(cur.get("Commission")), C.N(cur.get("Taxes")), C.N(cur.get("Swap"))
        flags = [x for x in text(cur.get("Flags")).split("; ") if x]
        if take >= qty - 1e-9:
            change = {"Exit": cells.get("Exit"), "Close time": cells.get("Close time"),
                      "Commission": comm + t.commission * f, "Taxes": taxes + t.taxes * f}
            change["Profit"] = n - change["Commission"] - change["Taxes"] - swap
            change["Flags"] = "; ".join(flags + [f"closed in a later statement by {named}"])
            counts.closed += 1
        else:
            left = (qty - take) / qty
            change = {"Quantity": qty - take, "Commission": comm * left, "Taxes": taxes * left,
                      "Flags": "; ".join(flags + [f"{take:g} of {qty:g} closed in a later statement by {named}: "
                                                  f"{qty - take:g} still open"])}
            piece = dict(cells)
            piece.update({"Quantity": take, "Entry": cur.get("Entry"), "Open time": cur.get("Open time"),
                          "Commission": comm * (1 - left) + t.commission * f,
                          "Taxes": taxes * (1 - left) + t.taxes * f})
            piece["Profit"] = n - piece["Commission"] - piece["Taxes"] - C.N(cells.get("Swap"))
            opener = text(cur.get("Trade ID"))
            piece["Flags"] = "; ".join(own + [f'opened by Trade ID "{opener}" of an earlier statement'])
            new_rows.append(piece)
        if where == "journal":
            updates.setdefault(i, {}).update(change)
            counts.updated += 1
        else:
            fresh[i].update(change)
    if rest:
        opened = dict(cells)
        opened.update({"Trade ID": f"{t.trade_id}:open", "Side": "short" if t.side == "long" else "long",
                       "Quantity": rest, "Entry": cells.get("Exit"), "Open time": cells.get("Close time"),
                       "Exit": None, "Close time": None, "Profit": None,
                       "Commission": t.commission * rest / t.quantity, "Taxes": t.taxes * rest / t.quantity})
        opened["Flags"] = "; ".join(own + [f"flip: the {rest:g} opened by {named} after it closed the earlier rows"])
        new_rows.append(opened)
    return new_rows


def plan_merge(journal: JournalRows, statements: list[tuple[list[Trade], list[BalanceEvent], list[RejectedRow]]],
               settings: Settings, settings_changed: dict[str, object], instruments: list[Instrument] | None,
               restore_deleted: bool = False, assumed_start: set[str] = frozenset(),
               on_stage: Callable[[str], None] | None = None) -> Plan:
    """The changes that merge ``statements`` (per statement: completed trades, cash movements,
    rejected rows) into the journal's Trades rows. ``settings``: the journal's settings as they will
    be after the fill; ``settings_changed``: the Settings cells the fill writes; ``assumed_start``:
    the settings still the template's default (a trade's equity rebuilt from such a starting balance
    says so in Flags). The statements' trade lists are emptied once planned (memory)."""
    present = journal.columns
    rows = journal.rows
    index: dict[tuple, int] = {}
    for i, rec in enumerate(rows):
        if text(rec.get("Trade ID")).strip():
            index.setdefault(trade_key(rec.get("Broker"), rec.get("Account"), rec.get("Trade ID")), i)
    ledger = journal.ledger
    ledger_add: list[tuple[str, str, str]] = []
    if ledger is None:
        ledger = set(index)
        ledger_add = [(text(rows[i].get("Broker")), text(rows[i].get("Account")), text(rows[i].get("Trade ID")))
                      for i in sorted(index.values())]

    updates: dict[int, dict[str, object]] = {}
    fresh: list[dict[str, object]] = []
    fresh_at: dict[tuple, int] = {}
    per_file: list[Counts] = []
    cash_new: list[BalanceEvent] = []
    rejected_new: list[RejectedRow] = []
    seen_cash = {cash_key(e) for e in journal.cash}
    seen_rej = set(journal.rejected_keys)
    found_symbols: dict = {}
    contract_size_of = excursions.contract_sizes(instruments)
    margin_of = excursions.margin_context(instruments, settings)  # Leverage used, base kind
    measured: dict[tuple, tuple[float, float, float]] = {}  # trade key -> MAE, MFE, worst price over bars
    equity_due: dict[int, int] = {}  # updated row -> the statement whose facts it now holds
    fresh_batch: list[int] = []   # the statement each new trade comes from
    closed_by = _closing_ids(rows)  # closing executions merged into earlier open rows
    open_rows: _OpenRows | None = None  # built when a statement first needs it
    cash_batch: list[int] = []
    for batch, (trades, cash, rejected) in enumerate(statements):
        counts = Counts()
        per_file.append(counts)
        first_of: dict[tuple, Trade] = {}  # this statement's trades by key
        for t in trades:
            k = trade_key(t.broker, t.account, t.trade_id)
            if k in first_of:  # two rows of one statement, one trade key: reported, never merged silently
                rejected_new.append(_same_key(first_of[k], t))
                counts.same_key += 1
                continue
            first_of[k] = t
            cells = trade_cells(t, instruments, found_symbols)
            if isinstance(t.mae, float):
                measured[k] = (t.mae, float(t.mfe), float(t.worst_price))
            at = index.get(k)
            if _earlier_positions(t, k, at, rows, updates, closed_by):
                counts.unchanged += 1  # the journal holds what an earlier fill made of it
                continue
            if at is None and k not in fresh_at and k not in ledger and OPENED_BEFORE in t.flags:
                open_rows = open_rows or _OpenRows(rows, fresh)
                pieces = _close_earlier(t, cells, rows, updates, fresh, counts, open_rows)
                if pieces is not None:
                    closed_by[k] = -1
                    for piece in pieces:
                        at_key = trade_key(piece.get("Broker"), piece.get("Account"), piece.get("Trade ID"))
                        fresh_at[at_key] = len(fresh)
                        fresh.append(piece)
                        fresh_batch.append(batch)
                        counts.added += 1
                    if k not in fresh_at:  # no row of its own: in the ledger of imported keys, named in Flags
                        ledger_add.append((t.broker, t.account, t.trade_id))
                    continue
            if at is None and k in fresh_at:
                j = fresh_at[k]
                if fresh[j].get("Exit") is None and cells.get("Exit") is not None:
                    fresh[j] = cells
                counts.unchanged += 1
                continue
            if at is None:
                if k in ledger and not restore_deleted:
                    counts.deleted_skipped += 1
                    continue
                if k in ledger:
                    counts.restored += 1
                fresh_at[k] = len(fresh)
                fresh.append(cells)
                fresh_batch.append(batch)
                counts.added += 1
                continue
            cur = dict(rows[at])
            cur.update(updates.get(at, {}))
            change: dict[str, object] = {}
            flags = [f for f in (cells.get("Flags") or "").split("; ") if f]
            for name in STOP_COLUMNS:
                new = cells.get(name)
                if name not in present or new is None:
                    continue
                old = cur.get(name)
                if old is None or old == "":
                    change[name] = new
                elif not _same(name, old, new):
                    flags.append(f"statement {name.lower()} {_num(new)} differs from the {_num(old)} typed in "
                                 f"the journal: the typed one kept")
                    counts.stop_conflicts += 1
            cells["Flags"] = "; ".join(dict.fromkeys(flags)) or None
            facts = any(name in present and not _same(name, cur.get(name), cells.get(name)) for name in FACTS)
            unstated_equity = cells.get("Equity") is None
            for name in STATEMENT_OWNED:
                if name not in present or _same(name, cur.get(name), cells.get(name)):
                    continue
                if name == "Equity" and unstated_equity:
                    continue  # the balance the journal had reached, computed below
                if facts or name in change or cur.get(name) in (None, ""):
                    change[name] = cells.get(name)
            if facts and unstated_equity and "Equity" in present:
                equity_due[at] = batch
            if not facts and "Flags" in change and set(text(change["Flags"]).split("; ")) <= \
                    set(text(cur.get("Flags")).split("; ")) | {""}:
                del change["Flags"]
            # Excursions over price bars: figures replace figures, a fill without bars changes nothing.
            for name, v in excursions.row_changes({**cur, **change}, t, contract_size_of, margin_of).items():
                if name in present:
                    change[name] = v
            if change or at in equity_due:
                if (cur.get("Exit") in (None, "")) and cells.get("Exit") is not None:
                    counts.closed += 1
                updates.setdefault(at, {}).update(change)
                counts.updated += 1
            else:
                counts.unchanged += 1
        for e in cash:
            if cash_key(e) not in seen_cash:
                seen_cash.add(cash_key(e))
                cash_new.append(e)
                cash_batch.append(batch)
        for r in rejected:
            rk = (r.source.file, text(r.source.row), r.reason)
            if rk not in seen_rej:
                seen_rej.add(rk)
                rejected_new.append(r)
    marks = {t.trade_id.upper(): t.mark_price for trades, _, _ in statements for t in trades
             if t.exit is None and t.mark_price is not None}  # the Account sheet's open positions
    for trades, _, _ in statements:
        if isinstance(trades, list):
            trades.clear()  # planned: 100,000 Trade objects need not stay for the write
    # New trades statement by statement (as one fill per statement adds them), each in time order.
    order = sorted(range(len(fresh)), key=lambda j: (fresh_batch[j], fresh[j].get("Open time") is None,
                                                     fresh[j].get("Open time") or fresh[j].get("Close time") or 0,
                                                     text(fresh[j].get("Trade ID"))))
    fresh, fresh_batch = [fresh[j] for j in order], [fresh_batch[j] for j in order]
    ledger_add += [(text(c.get("Broker")), text(c.get("Account")), text(c.get("Trade ID"))) for c in fresh
                   if trade_key(c.get("Broker"), c.get("Account"), c.get("Trade ID")) not in ledger]

    changed = bool(updates or fresh or cash_new or rejected_new or settings_changed or ledger_add)
    plan = Plan(per_file, changed, 0, n_old=len(rows), cash_new=cash_new, rejected_new=rejected_new,
                ledger_add=ledger_add, marks=marks)
    if not changed:
        plan.total_trades = sum(1 for r in rows if text(r.get("Trade ID")).strip() or r.get("Entry") is not None)
        return plan

    # Empty rows at the end of the table (the template's blank row) take the first new trades.
    free = 0
    while free < len(rows) and not rows[len(rows) - 1 - free] and (len(rows) - 1 - free) not in updates:
        free += 1
    reuse = min(free, len(fresh))
    first_reused = len(rows) - free
    old_first = C.first_trade_time(C.first_account_opens(rows))
    all_rows = [dict(r, **updates[i]) if i in updates else r for i, r in enumerate(rows)]
    slots = {first_reused + k: fresh[k] for k in range(reuse)}
    for i, cells in slots.items():
        all_rows[i] = dict(cells)
    appended = fresh[reuse:]
    all_rows += [dict(c) for c in appended]
    plan.total_trades = sum(1 for r in all_rows if text(r.get("Trade ID")).strip() or r.get("Entry") is not None)
    new_rows = sorted(set(slots) | set(range(len(rows), len(all_rows))))

    def put(i: int, change: dict[str, object]) -> None:
        """``change`` into row ``i`` of the merged table and into what the writer writes there."""
        all_rows[i].update(change)
        if i in slots:
            slots[i].update(change)
        elif i >= len(rows):
            appended[i - len(rows)].update(change)
        else:
            updates.setdefault(i, {}).update(change)

    if on_stage:
        on_stage("computing risk figures")
    cash_all = sorted(list(journal.cash) + cash_new,
                      key=lambda e: (e.time is None, serial(e.time) if e.time is not None else 0.0))
    # New trades are numbered after the largest No. in the table (the running figures follow No.).
    if "No." in present:
        top = max((v for r in all_rows if C.isnum(v := r.get("No."))), default=0)
        for k, i in enumerate(new_rows):
            put(i, {"No.": int(top) + 1 + k})
    # CashFrom (the Cash sheet's "Counted from"): the first account's first trade's open time. A date the trader typed there
    # (not the old first trade's) is theirs: kept and used.
    first_trade = C.first_trade_time(C.first_account_opens(all_rows))
    typed = journal.cash_from
    if C.isnum(typed) and abs(float(typed) - old_first) > 1e-9 and float(typed) != 0:
        first_trade = float(typed)
    # The accounts' inputs (the Accounts block as this fill writes it): the first account's starting
    # balance is StartingBalance, the others' what was typed, stated or written before.
    light = {name: [r.get(name) for r in all_rows] for name in
             ("Trade ID", "Entry", "Broker", "Account", "Account currency", "Symbol", "Exit", "Close time",
              "Open time", "FX to account", "Quote currency")}
    accounts, home = accounts_mod.block_env(light, settings, journal.account_inputs, first_trade)
    keyed = accounts_mod.keyed_cash(cash_all, serial)
    # Equity at entry where the statement does not state it: the balance the trade's account had
    # reached when the trade opened (all its trades, not only this statement's). Trades whose equity
    # was rebuilt from an assumed starting balance follow when the starting balance is set; an
    # account without a starting balance gets none (its Balance says so).
    if "Equity" in present:
        due = {i for i in new_rows if all_rows[i].get("Equity") is None} | set(equity_due)
        if "starting_balance" in settings_changed:
            due |= {i for i, r in enumerate(all_rows) if ASSUMED_START in text(r.get("Flags")).split("; ")}
        # A statement's trades see the journal as a fill of that statement alone would: its rows and
        # cash with those of the statements before it, not those of the statements after it.
        position = {i: k for k, i in enumerate(new_rows)}
        last_batch = len(statements) - 1
        batch_of = {i: fresh_batch[position[i]] if i in position else equity_due.get(i, last_batch) for i in due}
        first_key = next(iter(accounts), None)
        before_of: dict[tuple[int, str], Callable[[float | None], float] | None] = {}
        for i in sorted(due):
            b = batch_of[i]
            k = C.account_key(all_rows[i].get("Broker"), all_rows[i].get("Account"))
            if (b, k) not in before_of:
                upto = sum(1 for x in fresh_batch if x <= b)
                seen = set(new_rows[upto:])
                cash_b = set(map(id, list(journal.cash) + [e for e, x in zip(cash_new, cash_batch) if x <= b]))
                acct = accounts.get(k)
                start = settings.starting_balance if acct is None else acct.start
                frm = first_trade if acct is None else (acct.cash_from if acct.cash_from is not None else 0.0)
                if not (C.isnum(start) and C.isnum(frm)):
                    before_of[(b, k)] = None
                else:
                    own_rows = [r for j, r in enumerate(all_rows) if j not in seen
                                and C.account_key(r.get("Broker"), r.get("Account")) == k]
                    own_cash = [(t, a) for e, (ck, t, a) in zip(cash_all, keyed) if id(e) in cash_b
                                and (ck == k or (ck == "|" and k == first_key))]
                    before_of[(b, k)] = balance_before(own_rows, own_cash, frm, start)
            before = before_of[(b, k)]
            flags = [f for f in text(all_rows[i].get("Flags")).split("; ") if f and f not in EQUITY_FLAGS]
            if before is None:
                put(i, {"Equity": None, "Flags": "; ".join(flags) or None})
                continue
            opened = all_rows[i].get("Open time")
            value = before(opened if C.isnum(opened) else None)
            start = accounts[k].start if k in accounts else settings.starting_balance
            if value <= 0:
                flags.append(NO_BALANCE)
                value = start
            elif "starting_balance" in assumed_start and (k not in accounts or k == first_key):
                flags.append(ASSUMED_START)
            put(i, {"Equity": value, "Flags": "; ".join(flags) or None})
    # The lowest margin level over the bars is on the row's Equity, known only now for a trade whose
    # statement did not state it.
    if measured:
        for i, r in enumerate(all_rows):
            m = measured.get(trade_key(r.get("Broker"), r.get("Account"), r.get("Trade ID")))
            if m is None:
                continue
            level = excursions.figures(r, *m, contract_size_of, margin_of)["Lowest margin level"]
            if "Lowest margin level" in present and r.get("Lowest margin level") != level:
                put(i, {"Lowest margin level": level})

    cols: dict[str, list] = {}
    for c in C.INPUTS + C.TRAILING:
        vals = [r.get(c.name) for r in all_rows]
        if c.kind == "date":  # the serials the cells hold; a date typed as unreadable text stays text
            vals = [v if C.isnum(v) else (None if v is None or v == "" else text(v)) for v in vals]
        elif c.kind == "number":
            vals = [v if C.isnum(v) else None for v in vals]
        elif c.kind == "figure":  # a number, or the words why there is none
            vals = [v if C.isnum(v) else (None if v is None or v == "" else text(v)) for v in vals]
        else:
            vals = [None if v is None or v == "" else text(v) for v in vals]
        cols[c.name] = vals
    inst_rows = {}
    for inst in reversed(instruments or []):
        inst_rows[inst.symbol.upper()] = {"Asset class": inst.asset_class, "Contract size": inst.contract_size,
                                          "Pip size": inst.pip_size, "Margin rate": inst.margin_rate,
                                          "Quote currency": inst.quote_currency}
    env = C.Env(settings=settings, instruments=inst_rows, cash_upto=C.cash_by_account(keyed, accounts, first_trade),
                cash_from=first_trade, leverage_assumed="account_leverage" in assumed_start,
                start_assumed="starting_balance" in assumed_start, accounts=accounts, home=home)
    C.compute(cols, env)
    plan.updates, plan.slots, plan.appended, plan.cols, plan.all_rows = updates, slots, appended, cols, all_rows
    plan.cash_all, plan.cash_from = cash_all, first_trade
    plan.account_inputs = journal.account_inputs
    return plan
