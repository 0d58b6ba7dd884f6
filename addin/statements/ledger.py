"""The row ledger every reader keeps: each source row ends as exactly one outcome.

A reader calls :meth:`Ledger.see` for every source row it walks over (a CSV record, an HTML
``<tr>``, a worksheet row, an XML element of the Trades section), puts each row into
``trades`` / ``non_trades`` / ``rejected`` as it always did, and ends with :func:`settle`, which

* checks, row by row, that every seen row ended as exactly one of trade / non-trade / rejected
  (none missing, none counted twice, no outcome for a row never seen) and raises
  :class:`LedgerError` (a :class:`StatementError`: the fill stops, the journal is unchanged)
  otherwise: ``seen == trade_rows + non_trade_rows + rejected``;
* caps ``Statement.rejected`` at :data:`MAX_LISTED_REJECTED` (a junk file of millions of bad
  lines must not take the fill past Excel's 1,048,576 rows), counting the rest in
  ``Statement.rejected_not_listed``;
* stores the :class:`~addin.statements.model.RowLedger` and the totals checks on the statement.

A row is identified by ``(section, row)`` as in its :class:`SourceRef`; a :class:`Trade` built from
several rows (TradingView's entry and exit rows) names its first row in ``source`` and the reader
passes the others as ``extra_trade_rows``.

Typical use in a reader::

    ledger = Ledger(file)
    for rec in records:
        ledger.see(SECTION, rec.line)
        ...                                  # -> trades / non_trades / rejected
    statement = Statement(...)
    return settle(statement, ledger, checks=[check_total("closed trade P/L", stated, summed, 0.01)])
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import RowLedger, Statement, StatementError, TotalsCheck

#: Rejected rows listed one by one on a statement (the rest are counted). Well under Excel's
#: 1,048,576 rows, so a Rejected sheet of one such file still fits.
MAX_LISTED_REJECTED = 100_000

Key = tuple[str, int]


class LedgerError(StatementError):
    """A reader lost or double-counted a row: a bug in the reader, never silently accepted."""


class Ledger:
    """The rows a reader has seen, by (section, row)."""

    __slots__ = ("file", "_seen", "_count")

    def __init__(self, file: str):
        self.file = file
        self._seen: dict[str, set[int]] = {}
        self._count = 0

    def see(self, section: str, row: int) -> None:
        """Record that the source row ``row`` of ``section`` was read (once per row)."""
        rows = self._seen.get(section)
        if rows is None:
            rows = self._seen[section] = set()
        if row in rows:
            raise LedgerError(self.file, f"row accounting failed (a reader bug, please report it): "
                                         f"row {row} of section {section!r} was read twice")
        rows.add(row)
        self._count += 1

    @property
    def seen(self) -> int:
        return self._count

    def _outcomes(self, statement: Statement, extra_trade_rows: Iterable[Key]) -> tuple[int, int, int]:
        got: dict[str, list[int]] = {}
        trade_rows = 0
        for t in statement.trades:
            got.setdefault(t.source.section, []).append(t.source.row)
            trade_rows += 1
        for section, row in extra_trade_rows:
            got.setdefault(section, []).append(row)
            trade_rows += 1
        for n in statement.non_trades:
            got.setdefault(n.source.section, []).append(n.source.row)
        for r in statement.rejected:
            got.setdefault(r.source.section, []).append(r.source.row)
        problems: list[str] = []
        for section in set(got) | set(self._seen):
            rows = got.get(section, [])
            seen = self._seen.get(section, set())
            as_set = set(rows)
            if len(as_set) != len(rows):
                twice = sorted({r for r in rows if rows.count(r) > 1}) if len(rows) < 5000 else ["several"]
                problems.append(f"section {section!r}: rows {_few(twice)} have more than one outcome")
            lost = seen - as_set
            if lost:
                problems.append(f"section {section!r}: rows {_few(sorted(lost))} were read but are neither "
                                "trade, non-trade nor rejected")
            unseen = as_set - seen
            if unseen:
                problems.append(f"section {section!r}: rows {_few(sorted(unseen, key=str))} have an outcome "
                                "but were never read")
        if problems:
            raise LedgerError(self.file, "row accounting failed (a reader bug, please report it): "
                                         + "; ".join(problems))
        return trade_rows, len(statement.non_trades), len(statement.rejected)


#: Rows rejected, with not one trade read, after which a file is taken for not being the format
#: claimed (junk, the wrong mapping) and refused as a whole, instead of reading millions of lines.
JUNK_ROWS = 1_000


def refuse_junk(file: str, trades: int, rejected: int, expected: str, first_reason: str = "") -> None:
    """StatementError when ``JUNK_ROWS`` rows in a row were rejected before any trade was read."""
    if trades == 0 and rejected >= JUNK_ROWS:
        why = f" (the first: {first_reason})" if first_reason else ""
        raise StatementError(file, f"the first {rejected:,} rows were all rejected{why}: this is not {expected}; "
                                   "nothing imported")


def _few(rows: list) -> str:
    shown = ", ".join(str(r) for r in rows[:8])
    return shown + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")


def check_total(name: str, stated: float | None, computed: float | None, tolerance: float = 0.0,
                unit: str = "", source: str = "",
                rejected: Iterable[tuple[int, float | None]] = ()) -> TotalsCheck | None:
    """A :class:`TotalsCheck` when both figures are known, else None (nothing to compare).

    ``rejected``: (row, amount) of the rejected rows that would have counted in ``computed`` had
    they been read (amount None when it cannot be read either); a mismatch then names them and how
    much of the difference they hold (:func:`explain`)."""
    if stated is None or computed is None:
        return None
    check = TotalsCheck(name=name, stated=float(stated), computed=float(computed), tolerance=tolerance,
                        unit=unit, source=source)
    rejected = list(rejected)
    if rejected and not check.ok:
        check = check.model_copy(update={"explained": explain(check, rejected)})
    return check


def explain(check: TotalsCheck, rejected: list[tuple[int, float | None]]) -> str:
    """Which rejected rows account for ``check``'s difference, e.g. "the rejected rows 57 and 312 hold
    -123.45 USD, which explains the whole difference" (the rows read add up to 123.45 more than the
    statement says). A row whose amount cannot be read is named as such."""
    unit = f" {check.unit}" if check.unit else ""
    counts = not check.unit or not check.unit.isupper()  # trades, rows: whole numbers
    known = [(r, a) for r, a in rejected if a is not None]
    unknown = sorted(r for r, a in rejected if a is None)
    parts = []
    if known:
        held = sum(a for _, a in known)
        left = check.stated - (check.computed + held)
        rows = _rows_text(sorted(r for r, _ in known))
        fmt = ",.0f" if counts else ",.2f"
        whole = "the whole difference" if abs(left) <= check.tolerance + 1e-9 else \
            f"{-left:+{fmt}}{unit} of it left unexplained"
        verb = "holds" if len(known) == 1 else "hold"
        parts.append(f"the rejected {rows} {verb} {held:+{fmt}}{unit}, which explains {whole}")
    if unknown:
        parts.append(f"the rejected {_rows_text(unknown)} may hold more (amount unreadable)")
    return "; ".join(parts)


def _rows_text(rows: list[int]) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = [str(r) for r in rows[:8]]
    more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
    if more:
        return "rows " + ", ".join(shown) + more
    return "rows " + ", ".join(shown[:-1]) + " and " + shown[-1]


def settle(statement: Statement, ledger: Ledger, extra_trade_rows: Iterable[Key] = (),
           checks: Iterable[TotalsCheck | None] = ()) -> Statement:
    """Check that every row ``ledger`` saw ended as exactly one outcome, cap the listed rejected
    rows and store the ledger and the totals checks on ``statement`` (returned)."""
    extra_trade_rows = list(extra_trade_rows)
    trade_rows, non_trade_rows, rejected = ledger._outcomes(statement, extra_trade_rows)
    statement._extra_trade_rows = extra_trade_rows
    statement.ledger = RowLedger(seen=ledger.seen, trade_rows=trade_rows, non_trade_rows=non_trade_rows,
                                 rejected=rejected + statement.rejected_not_listed)
    if not statement.ledger.balanced:  # cannot happen after the row-by-row check; kept as the contract
        raise LedgerError(statement.file, f"row accounting failed: {statement.ledger}")
    if len(statement.rejected) > MAX_LISTED_REJECTED:
        statement.rejected_not_listed += len(statement.rejected) - MAX_LISTED_REJECTED
        statement.rejected = statement.rejected[:MAX_LISTED_REJECTED]
    statement.checks = list(statement.checks) + [c for c in checks if c is not None]
    return statement


__all__ = ["Ledger", "LedgerError", "MAX_LISTED_REJECTED", "JUNK_ROWS", "check_total", "explain", "refuse_junk",
           "settle"]
