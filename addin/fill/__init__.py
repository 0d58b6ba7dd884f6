"""Batch fill: broker statements → validated trades → risk figures → the journal workbook.

:func:`fill_journal` is the whole job as a function; :func:`run_fill` is ``python -m addin fill``.
Every statement is read and checked before anything is written: a file that cannot be read stops
the command with a message naming it, and the journal stays as it was. The new journal is built in
full into a temporary file and moved into place (the previous version kept as ``.bak``).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..risk import RiskInputError, parse_leverage
from ..statements import read_statement
from ..statements.model import Statement, StatementError
from .enrich import AccountDefaults, enrich, opening_balance
from .merge import merge_rejected, merge_trades
from .progress import Progress, stage
from .safe_write import JournalBusy, replace_atomically


@dataclass
class FileReport:
    file: str
    format: str
    trades: int = 0
    added: int = 0
    already_present: int = 0
    updated: int = 0
    non_trades: Counter = field(default_factory=Counter)
    rejected: list = field(default_factory=list)


@dataclass
class FillReport:
    journal: Path
    created: bool
    files: list[FileReport]
    backup: Path | None
    total_trades: int


def sample_statement() -> Path:
    """The bundled sample statement (an MT4 Detailed Statement written by the project)."""
    return Path(str(resources.files("addin") / "samples" / "sample_statement.htm"))


def fill_journal(statements: list[Path], journal: Path, fmt: str | None = None, mapping: Path | None = None,
                 leverage: object = None, regulator: str | None = None, equity: float | None = None,
                 progress: bool | None = None) -> FillReport:
    """Read ``statements`` and merge their trades into ``journal`` (created when missing)."""
    from ..journal import instruments as inst_mod
    from ..journal.read import read_journal
    from ..journal.settings import Settings
    from ..journal.workbook import build_journal

    journal = Path(journal)
    lev = parse_leverage(leverage, "--leverage") if leverage is not None else None
    read: list[Statement] = []
    for p in statements:
        stage(f"reading {Path(p).name}", progress)
        read.append(read_statement(Path(p), fmt, mapping))

    created = not journal.exists()
    if created:
        settings, instruments, existing, rejected = Settings(), None, [], []
        cash = []
    else:
        contents = read_journal(journal)
        settings, instruments = contents.settings, contents.instruments
        existing, rejected = list(contents.trades), list(contents.rejected)
        cash = list(contents.cash)
    # Every cash movement goes to the journal's Cash sheet, each once; Balance counts those from the
    # first trade on (earlier ones are in StartingBalance).
    seen = {_cash_key(e) for e in cash}
    for e in (e for st in read for e in st.balance_events):
        if _cash_key(e) not in seen:
            seen.add(_cash_key(e))
            cash.append(e)

    updates = {}
    if regulator:
        updates["regulator"] = regulator.strip().upper()
    if lev is not None:
        updates["account_leverage"] = lev
    if equity is not None:
        updates["starting_balance"] = equity
    first = next((s for s in read if s.account_currency), None)
    if created and first is not None:
        updates["account_currency"] = first.account_currency
    if created and equity is None and read:
        opening = opening_balance(read[0])
        if opening:
            updates["starting_balance"] = opening
    if created and lev is None:
        stated = next((s.leverage for s in read if s.leverage), None)
        if stated:
            updates["account_leverage"] = stated
    if updates:
        settings = settings.model_copy(update=updates)

    def lookup(symbol: str):
        return inst_mod.lookup(symbol, instruments)

    total = sum(len(s.trades) for s in read)
    bar = Progress("completing trades", total, progress)
    reports = []
    trades = existing
    while read:
        s = read.pop(0)  # each statement is released once its trades are completed: 100,000 trades twice is a lot
        defaults = AccountDefaults(
            currency=settings.account_currency, starting_equity=settings.starting_balance,
            leverage=settings.account_leverage, equity_given=equity is not None)
        done = enrich(s.trades, s.balance_events, defaults, lookup, lev or s.leverage, s.account_currency,
                      on_progress=bar.advance)
        merged = merge_trades(trades, done)
        trades = merged.trades
        rejected = merge_rejected(rejected, s.rejected)
        reports.append(FileReport(
            file=s.file, format=s.format, trades=len(s.trades), added=merged.added,
            already_present=merged.already_present, updated=merged.updated,
            non_trades=Counter(n.kind for n in s.non_trades), rejected=list(s.rejected)))
    bar.close()
    stage(f"computing risk figures and writing {journal.name}", progress)

    backup = replace_atomically(
        journal, lambda tmp: build_journal(tmp, trades, settings=settings, instruments=instruments, rejected=rejected,
                                  cash=cash))
    return FillReport(journal=journal, created=created, files=reports, backup=backup, total_trades=len(trades))


def _cash_key(e) -> tuple:
    """A cash movement's identity across imports: (file, row, time, amount); times compared naive,
    to the second, as the journal stores them."""
    when = e.time.replace(tzinfo=None, microsecond=0) if e.time is not None else None
    return (e.source.file, e.source.row, when, round(e.amount, 6))


def print_report(report: FillReport, out=sys.stdout) -> None:
    w = out.write
    w(f"{'created' if report.created else 'updated'} {report.journal} ({report.total_trades} trades in all)\n")
    for f in report.files:
        w(f"\n{f.file}  [{f.format}]\n")
        w(f"  trades read:          {f.trades}\n")
        w(f"  added:                {f.added}\n")
        w(f"  already present:      {f.already_present}\n")
        if f.updated:
            w(f"  closed since last import: {f.updated}\n")
        if f.non_trades:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(f.non_trades.items()))
            w(f"  non-trade rows:       {sum(f.non_trades.values())} ({kinds})\n")
        else:
            w("  non-trade rows:       0\n")
        w(f"  rejected:             {len(f.rejected)}\n")
        for r in f.rejected[:10]:
            w(f"    {r.source}: {r.reason}\n")
        if len(f.rejected) > 10:
            w(f"    ... and {len(f.rejected) - 10} more, listed in the journal's Rejected sheet\n")
    if report.backup:
        w(f"\nprevious version kept as {report.backup}\n")


def run_fill(args: argparse.Namespace) -> int:
    statements = list(args.statements)
    if args.sample:
        statements.append(sample_statement())
    if not statements:
        print("fill: name at least one statement file, or --sample", file=sys.stderr)
        return 2
    try:
        report = fill_journal(statements, args.journal, fmt=args.fmt, mapping=args.mapping,
                              leverage=args.leverage, regulator=args.regulator, equity=args.equity,
                              progress=False if args.no_progress else None)
    except (StatementError, JournalBusy, RiskInputError) as exc:
        print(f"fill: {exc}", file=sys.stderr)
        print(f"fill: nothing was written; {args.journal} is unchanged", file=sys.stderr)
        return 2
    print_report(report)
    return 0
