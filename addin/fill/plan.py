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

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..journal import columns as C
from ..journal import schema
from ..journal.instruments import Instrument, lookup
from ..journal.layout import clean_text
from ..journal.settings import Settings
from ..statements.model import BalanceEvent, RejectedRow, Trade
from . import excursions
from .journal_state import text, trade_key
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
    cash_total: float = 0.0
    all_rows: list[dict[str, object]] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # open trades' mark prices the statements give


def trade_cells(t: Trade, instruments: Sequence[Instrument] | None, _found: dict | None = None) -> dict[str, object]:
    """A trade's cells by column name, as the journal writes them (``_found``: symbol -> Instrument
    key, a cache the caller keeps)."""
    out: dict[str, object] = {}
    for col in C.INPUTS + C.TRAILING:
        if not col.field:
            continue
        v = getattr(t, col.field)
        if col.field == "source":
            v = str(v)
        elif col.field == "flags":
            v = "; ".join(v)
        if col.kind == "date" and v is not None:
            v = serial(v)
        elif isinstance(v, str):
            v = clean_text(v)  # as the cell is written (no control characters): every later reader sees the same
        out[col.name] = None if v == "" else v
    found = {} if _found is None else _found
    if t.symbol not in found:
        inst = lookup(t.symbol, instruments)
        found[t.symbol] = inst.symbol if inst else None
    out["Instrument"] = found[t.symbol]
    return out


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
    measured: dict[tuple, tuple[float, float, float]] = {}  # trade key -> MAE, MFE, worst price over bars
    equity_due: dict[int, int] = {}  # updated row -> the statement whose facts it now holds
    fresh_batch: list[int] = []   # the statement each new trade comes from
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
            for name, v in excursions.row_changes({**cur, **change}, t, contract_size_of).items():
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
    old_first = C.first_trade_time([v for r in rows if C.isnum(v := r.get("Open time"))])
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
    cash_cells = [(serial(e.time) if e.time is not None else None, e.amount) for e in cash_all]
    # New trades are numbered after the largest No. in the table (the running figures follow No.).
    if "No." in present:
        top = max((v for r in all_rows if C.isnum(v := r.get("No."))), default=0)
        for k, i in enumerate(new_rows):
            put(i, {"No.": int(top) + 1 + k})
    # CashFrom (Cash!G1, "Counted from"): the first trade's open time. A date the trader typed there
    # (not the old first trade's) is theirs: kept and used.
    first_trade = C.first_trade_time([v for r in all_rows if C.isnum(v := r.get("Open time"))])
    typed = journal.cash_from
    if C.isnum(typed) and abs(float(typed) - old_first) > 1e-9 and float(typed) != 0:
        first_trade = float(typed)
    # Equity at entry where the statement does not state it: the balance the journal had reached
    # when the trade opened (all its trades, not only this statement's). Trades whose equity was
    # rebuilt from an assumed starting balance follow when the starting balance is set.
    if "Equity" in present:
        due = {i for i in new_rows if all_rows[i].get("Equity") is None} | set(equity_due)
        if "starting_balance" in settings_changed:
            due |= {i for i, r in enumerate(all_rows) if ASSUMED_START in text(r.get("Flags")).split("; ")}
        # A statement's trades see the journal as a fill of that statement alone would: its rows and
        # cash with those of the statements before it, not those of the statements after it.
        position = {i: k for k, i in enumerate(new_rows)}
        last_batch = len(statements) - 1
        batch_of = {i: fresh_batch[position[i]] if i in position else equity_due.get(i, last_batch) for i in due}
        before_of: dict[int, Callable[[float | None], float]] = {}
        for b in sorted(set(batch_of.values())):
            upto = sum(1 for x in fresh_batch if x <= b)
            seen = set(new_rows[upto:])
            cash_b = [e for e, x in zip(cash_new, cash_batch) if x <= b]
            cells_b = [(serial(e.time) if e.time is not None else None, e.amount) for e in list(journal.cash) + cash_b]
            before_of[b] = balance_before([r for i, r in enumerate(all_rows) if i not in seen], cells_b,
                                          first_trade, settings.starting_balance)
        for i in sorted(due):
            opened = all_rows[i].get("Open time")
            value = before_of[batch_of[i]](opened if C.isnum(opened) else None)
            flags = [f for f in text(all_rows[i].get("Flags")).split("; ") if f and f not in EQUITY_FLAGS]
            if value <= 0:
                flags.append(NO_BALANCE)
                value = settings.starting_balance
            elif "starting_balance" in assumed_start:
                flags.append(ASSUMED_START)
            put(i, {"Equity": value, "Flags": "; ".join(flags) or None})
    # The lowest margin level over the bars is on the row's Equity, known only now for a trade whose
    # statement did not state it.
    if measured:
        for i, r in enumerate(all_rows):
            m = measured.get(trade_key(r.get("Broker"), r.get("Account"), r.get("Trade ID")))
            if m is None:
                continue
            level = excursions.figures(r, *m, contract_size_of)["Lowest margin level"]
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
                                          "Pip size": inst.pip_size, "Margin rate": inst.margin_rate}
    env = C.Env(settings=settings, instruments=inst_rows, cash_upto=C.cash_windows(cash_cells, first_trade),
                cash_from=first_trade)
    C.compute(cols, env)
    plan.updates, plan.slots, plan.appended, plan.cols, plan.all_rows = updates, slots, appended, cols, all_rows
    plan.cash_all, plan.cash_from = cash_all, first_trade
    plan.cash_total = C.cash_windows(cash_cells, first_trade)(float("inf"))
    return plan
