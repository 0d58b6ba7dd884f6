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


def _few(rows: list) -> str:
    shown = ", ".join(str(r) for r in rows[:8])
    return shown + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")


def check_total(name: str, stated: float | None, computed: float | None, tolerance: float = 0.0,
                unit: str = "", source: str = "") -> TotalsCheck | None:
    """A :class:`TotalsCheck` when both figures are known, else None (nothing to compare)."""
    if stated is None or computed is None:
        return None
    return TotalsCheck(name=name, stated=float(stated), computed=float(computed), tolerance=tolerance,
                       unit=unit, source=source)


def settle(statement: Statement, ledger: Ledger, extra_trade_rows: Iterable[Key] = (),
           checks: Iterable[TotalsCheck | None] = ()) -> Statement:
    """Check that every row ``ledger`` saw ended as exactly one outcome, cap the listed rejected
    rows and store the ledger and the totals checks on ``statement`` (returned)."""
    trade_rows, non_trade_rows, rejected = ledger._outcomes(statement, extra_trade_rows)
    statement.ledger = RowLedger(seen=ledger.seen, trade_rows=trade_rows, non_trade_rows=non_trade_rows,
                                 rejected=rejected + statement.rejected_not_listed)
    if not statement.ledger.balanced:  # cannot happen after the row-by-row check; kept as the contract
        raise LedgerError(statement.file, f"row accounting failed: {statement.ledger}")
    if len(statement.rejected) > MAX_LISTED_REJECTED:
        statement.rejected_not_listed += len(statement.rejected) - MAX_LISTED_REJECTED
        statement.rejected = statement.rejected[:MAX_LISTED_REJECTED]
    statement.checks = list(statement.checks) + [c for c in checks if c is not None]
    return statement


__all__ = ["Ledger", "LedgerError", "MAX_LISTED_REJECTED", "check_total", "settle"]
