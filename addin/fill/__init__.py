"""Batch fill: broker statements → validated trades → risk figures → the journal workbook.

:func:`fill_journal` is the whole job as a function; :func:`run_fill` is ``python -m addin fill``.
Every statement is read and checked before anything is written: a file that cannot be read stops
the command with a message naming it, and the journal stays as it was. A new journal is built from
the template; an existing one is edited in place (:mod:`.inplace`), under a lock (:mod:`.lock`),
written to a temporary file and swapped in atomically with rotating backups (:mod:`.backups`).
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from ..risk import RiskInputError
from ..statements import read_statement
from ..statements.model import RejectedRow, SourceRef, Statement, StatementError
from . import excursions
from .backups import replace_with, sweep, temp_name
from .enrich import AccountDefaults, enrich, leverage_used, opening_balance
from .fx_rates import summary as fx_summary
from .inplace import Counts, merge_into
from .journal_state import SettingsError, read_instruments, read_settings, template_defaults
from .limits import ExcelLimitError, check_statement, check_trades, reading_limits
from .lock import FillLock, JournalBusy, check_not_open
from .paths import real_journal
from .progress import Progress, stage
from .xlsx_edit import NotAJournal, Package
from ..journal.schema import serial as schema_serial

JOURNAL_SUFFIXES = (".xlsx", ".xlsm")
LOCK_WAIT = 60.0  # seconds a fill queues behind another one on the same journal before refusing


class OptionError(Exception):
    """A command-line value that cannot be used (nan, negative, unknown regulator...)."""


@dataclass(kw_only=True)
class FileReport(Counts):
    """One statement's part of a fill: what it read, and the merge's counts (:class:`inplace.Counts`)."""
    file: str
    format: str
    trades: int = 0
    non_trades: Counter = field(default_factory=Counter)
    rejected: list = field(default_factory=list)
    ledger: str = ""                                  # the reader's row ledger, e.g. "145 rows: 130 trade rows, ..."
    checks: list = field(default_factory=list)        # TotalsCheck: the statement's own totals against the rows read
    rejected_not_listed: int = 0                      # rejected rows the reader counted but did not list
    fx: list = field(default_factory=list)            # where each currency's FX to account came from (fx_rates.summary)
    warnings: list = field(default_factory=list)      # what the reader had to guess (a symbol from the file name)
    accounts: list = field(default_factory=list)      # "broker account: currency (stated or assumed)" per account seen

    @property
    def mismatches(self) -> list:
        return [c for c in self.checks if not c.ok]


@dataclass
class FillReport:
    journal: Path
    created: bool
    files: list[FileReport]
    backup: Path | None
    total_trades: int
    changed: bool = True
    full_calc: bool = False

    notes: list = field(default_factory=list)
    bars: list = field(default_factory=list)  # excursions.BarFileReport per price-bar file

    @property
    def mismatches(self) -> list:
        """The statements' totals that the rows read do not add up to (exit code 1)."""
        return [c for f in self.files for c in f.mismatches]


def sample_statement() -> Path:
    """The bundled sample statement (an MT4 Detailed Statement written by the project)."""
    return Path(str(resources.files("addin") / "samples" / "sample_statement.htm"))


def validate_options(leverage: object = None, regulator: str | None = None, equity: object = None,
                     stop_out_level: object = None) -> dict[str, object]:
    """The command-line settings, read and checked by the Settings model (the parsers a Settings
    cell goes through): {field: value} of those given."""
    from ..journal.settings import Settings, setting_error

    given = {"account_leverage": (leverage, "--leverage"), "regulator": (regulator, "--regulator"),
             "starting_balance": (equity, "--equity"), "stop_out_level": (stop_out_level, "--stop-out-level")}
    out: dict[str, object] = {}
    for fld, (value, flag) in given.items():
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(f"{flag} must be a finite number (got {value})")
        try:
            out[fld] = getattr(Settings(**{fld: value}), fld)
        except ValidationError as exc:
            raise OptionError(f"{flag} {value!r} cannot be used: {setting_error(exc)}") from None
    return out


def check_journal_path(journal: Path) -> None:
    if journal.is_dir():
        raise NotAJournal(f"{journal} is a folder: give --journal a file name such as {journal / 'Journal.xlsx'}")
    if journal.suffix.lower() not in JOURNAL_SUFFIXES:
        raise NotAJournal(f"{journal} is not an Excel workbook name: the journal must end in .xlsx")
    if not journal.exists() and journal.suffix.lower() != ".xlsx":
        raise NotAJournal(f"{journal} does not exist: a new journal is an .xlsx (a macro-enabled .xlsm "
                          "journal is one you saved from Excel; the fill then keeps its macros)")
    if not journal.parent.is_dir():
        raise NotAJournal(f"the folder {journal.parent} does not exist: create it first")


def _named(st: Statement) -> Statement:
    """The statement with every source reference naming the file only, not the folder it was read from."""
    def ref(r: SourceRef) -> SourceRef:
        name = Path(r.file).name
        return r if name == r.file else r.model_copy(update={"file": name})
    return st.model_copy(update={
        "file": Path(st.file).name,
        "trades": [t if Path(t.source.file).name == t.source.file else t.model_copy(update={"source": ref(t.source)})
                   for t in st.trades],
        "balance_events": [e.model_copy(update={"source": ref(e.source)}) for e in st.balance_events],
        "rejected": [r.model_copy(update={"source": ref(r.source)}) for r in st.rejected],
        "non_trades": [n.model_copy(update={"source": ref(n.source)}) for n in st.non_trades],
    })


def _rejected_extra(st: Statement) -> list[RejectedRow]:
    """Rows for the Rejected sheet besides the rejected rows listed: one per totals mismatch (file,
    no row, the stated figure's place in the Section column, the check's description as the reason),
    and one counting the rejected rows the reader did not list."""
    out = [RejectedRow(source=SourceRef(file=st.file, section=c.source), reason=c.describe()) for c in st.mismatches]
    if st.rejected_not_listed:
        out.append(RejectedRow(source=SourceRef(file=st.file),
                               reason=f"{st.rejected_not_listed:,} more rejected rows not listed "
                                      f"(the reader lists the first {len(st.rejected):,})"))
    return out


def _accounts_seen(trades: list, journal_currency: str) -> list[str]:
    """One line per (broker, account) of a statement's completed trades: its trades and its currency,
    saying when the statement did not state it (the journal's currency assumed)."""
    seen: dict[tuple[str, str], list] = {}
    for t in trades:
        got = seen.setdefault((t.broker, t.account), [0, set()])
        got[0] += 1
        got[1].add(t.account_currency)
    out = []
    for (broker, account), (n, curs) in seen.items():
        cur = ", ".join(sorted(c for c in curs if c)) or f"not stated: {journal_currency} assumed"
        if any("the journal's currency is" in f for t in trades if (t.broker, t.account) == (broker, account)
               for f in t.flags):
            cur += f" (the journal's is {journal_currency}: see the Account sheet's Accounts block)"
        out.append(f"{broker or '(no broker)'} {account or '(no account)'}: {n} trades in {cur}")
    return out


def fill_journal(statements: list[Path], journal: Path, fmt: str | None = None, mapping: Path | None = None,
                 leverage: object = None, regulator: str | None = None, equity: float | None = None,
                 progress: bool | None = None, stop_out_level: object = None,
                 restore_deleted: bool = False, prices: list[Path] | None = None,
                 prices_symbol: list[str] | None = None, prices_tz: list[str] | None = None,
                 symbol: str | None = None) -> FillReport:
    """Read ``statements`` and merge their trades into ``journal`` (created when missing).

    An existing journal is edited in place (:mod:`.inplace`): only what the statements own changes,
    everything the trader typed or built stays. The whole fill holds the journal's lock; the new
    version replaces the old atomically, the old one kept as ``<name>.bak1`` (five kept).

    Price-bar files (``prices``, and those of ``statements`` whose content is bars) give each
    trade its excursion columns (:mod:`.excursions`); ``prices_symbol`` / ``prices_tz`` are the
    ``--prices-symbol`` / ``--prices-tz`` values (``[FILE=]VALUE``); ``symbol`` the ``--symbol`` of a
    TradingView list of trades (whose file holds none)."""
    journal = Path(journal)
    statements, found_bars = excursions.split_statements(statements)
    bar_files = found_bars + [Path(p) for p in prices or ()]
    options = validate_options(leverage, regulator, equity, stop_out_level)
    check_journal_path(journal)
    # --- file handling (.paths): a symlinked journal is edited where it really is; read-only refused
    journal = real_journal(journal)
    # ---
    with FillLock(journal, wait=LOCK_WAIT):
        sweep(journal)
        check_not_open(journal)
        return _fill_locked(statements, journal, fmt, mapping, options, progress, restore_deleted,
                            (bar_files, prices_symbol, prices_tz), symbol)


def _fill_locked(statements, journal: Path, fmt, mapping, options: dict, progress, restore_deleted,
                 price_files=((), None, None), symbol: str | None = None) -> FillReport:
    from ..journal import instruments as inst_mod
    from ..journal.settings import Settings
    from ..journal.workbook import build_journal

    created = not journal.exists()
    template = None
    if created:
        # A new journal is the template with the statements merged in, exactly as into an existing one.
        template = temp_name(journal, "template")
        build_journal(template, [])
    try:
        pkg = Package.open(template if created else journal)
    except BaseException:
        if template is not None:
            template.unlink(missing_ok=True)
        raise
    try:
        from ..journal.schema import TRADES_TABLE
        if TRADES_TABLE not in pkg.tables:
            raise NotAJournal(f"{journal} has no Trades table: it is not a trade journal (give --journal a "
                              "journal made by this add-in, or the name of a new file)")
        settings, _ = read_settings(pkg)
        unset = template_defaults(pkg, settings) - set(options)
        instruments = read_instruments(pkg)
        read: list[Statement] = []
        for p in statements:
            stage(f"reading {Path(p).name}", progress)
            read.append(_named(read_statement(Path(p), fmt, mapping, limits=reading_limits(pkg), symbol=symbol)))
            check_statement(read[-1], pkg)  # Excel's limits (.limits): before any trade is completed
        series = []
        if price_files[0]:
            stage(f"reading {len(price_files[0])} price-bar file(s)", progress)
            series = excursions.read_price_files(*price_files)

        # Settings the statements state, set where the journal still holds the template's default:
        # each from the first statement that states it, as a run of one fill per statement would.
        # The starting balance and the account leverage are the journal's first account's (the
        # Accounts block's first row): only a statement of that account states them; every other
        # account's go to the block.
        updates = dict(options)
        first_key = _first_account(pkg) or next((_account_of(s) for s in read if s.trades), None)
        account_starts: dict[str, tuple[float | None, float | None]] = {}
        account_leverages: dict[str, float] = {}  # the leverage each other account's statement states
        for s in read:
            key = _account_of(s)
            opening = opening_balance(s)
            stated = {"account_currency": s.account_currency,
                      "starting_balance": opening if key == first_key else None,
                      "account_leverage": s.leverage if key == first_key else None}
            for fld, value in stated.items():
                if fld in unset and value:
                    updates[fld] = value
                    unset.discard(fld)
            if key != first_key and s.leverage and key not in account_leverages:
                account_leverages[key] = s.leverage
            opens = [t.open_time for t in s.trades if t.open_time is not None]
            if key != first_key and opening and opens:
                frm = schema_serial(min(opens))
                if key not in account_starts or frm < account_starts[key][1]:
                    account_starts[key] = (opening, frm)
            # each cash movement in the account its statement is of
            s.balance_events = [e.model_copy(update={"broker": _broker_of(s), "account": _account_id(s)})
                                for e in s.balance_events]
        settings = Settings(**{**settings.model_dump(), **updates})

        def lookup(symbol: str):
            return inst_mod.lookup(symbol, instruments)

        total = sum(len(s.trades) for s in read)
        bar = Progress("completing trades", total, progress)
        reports, batches = [], []
        while read:
            s = read.pop(0)
            defaults = AccountDefaults(currency=settings.account_currency, leverage=settings.account_leverage)
            done = enrich(s.trades, defaults, lookup, s.account_currency, on_progress=bar.advance)
            check_trades(done)  # Excel's cell limit (.limits) on the completed trades (Flags added)
            batches.append((done, list(s.balance_events), list(s.rejected) + _rejected_extra(s)))
            reports.append(FileReport(file=s.file, format=s.format, trades=len(s.trades),
                                      non_trades=Counter(n.kind for n in s.non_trades), rejected=list(s.rejected),
                                      ledger=str(s.ledger) if s.ledger is not None else "", checks=list(s.checks),
                                      rejected_not_listed=s.rejected_not_listed, fx=fx_summary(done),
                                      warnings=_guesses(s, symbol),
                                      accounts=_accounts_seen(done, settings.account_currency)))
        bar.close()
        bar_reports = []
        if series:
            stage("measuring each trade over the price bars", progress)
            # The lowest margin level at the leverage the Trades sheet uses for the trade (its own,
            # else the instrument's margin rate, else AccountLeverage capped by the regulator).
            # the trade's account's leverage: the Accounts block's (typed or written), this fill's
            # statement's, else AccountLeverage (the first account's)
            from ..journal.columns import account_key
            from .summary import read_account_inputs
            typed_lev = read_account_inputs(pkg).get("lev_typed", {})

            def leverage_of(t):
                key = account_key(t.broker, t.account)
                lev = settings.account_leverage if key == first_key else (
                    typed_lev.get(key) or account_leverages.get(key) or settings.account_leverage)
                return leverage_used(t, lookup(t.symbol), lev, settings.regulator)

            bar_reports = excursions.apply([done for done, _, _ in batches], series, leverage_of=leverage_of,
                                           account_currency=settings.account_currency)

        holder: dict = {}

        def write(tmp: Path) -> None:
            holder["result"] = merge_into(pkg, tmp, batches, settings, updates, instruments,
                                          restore_deleted=restore_deleted, assumed_start=unset,
                                          account_starts=account_starts, account_leverages=account_leverages,
                                          on_stage=lambda label: stage(label, progress))
            if not holder["result"].changed and not created:
                raise _NoChanges

        try:
            backup = replace_with(journal, write)
        except _NoChanges:
            backup = None
        result = holder["result"]
        for rep, c in zip(reports, result.per_file):
            for counter in fields(Counts):
                setattr(rep, counter.name, getattr(c, counter.name))
        return FillReport(journal=journal, created=created, files=reports, backup=backup,
                          total_trades=result.total_trades, changed=result.changed or created,
                          full_calc=result.full_calc,
                          notes=list(result.notes) + excursions.missing_columns(pkg, bar_reports), bars=bar_reports)
    finally:
        pkg.close()
        if template is not None:
            template.unlink(missing_ok=True)


def _broker_of(s: Statement) -> str:
    """The broker a statement's trades name (all of them one), else the statement's."""
    names = {t.broker for t in s.trades}
    return names.pop() if len(names) == 1 else s.broker


def _account_id(s: Statement) -> str:
    """The account a statement's trades name (all of them one), else the statement's."""
    ids = {t.account for t in s.trades}
    return ids.pop() if len(ids) == 1 else s.account


def _account_of(s: Statement) -> str:
    """The statement's account as the journal's formulas compare it (BROKER|ACCOUNT)."""
    from ..journal.columns import account_key
    return account_key(_broker_of(s), _account_id(s))


def _first_account(pkg) -> str | None:
    """The account of the journal's first trade row that names one (the Accounts block's first), None
    without one. Reads rows only up to it."""
    from ..journal.columns import account_key
    from ..journal.schema import TRADES_TABLE
    from .xlsx_edit import range_bounds
    t = pkg.tables[TRADES_TABLE]
    c0, r0, c1, r1 = range_bounds(t.ref)
    cols = {name: c0 + j for j, name in enumerate(t.columns)}
    if not {"Entry", "Broker", "Account"} <= set(cols):
        return None
    for row, cells in pkg.rows_of(t.sheet_part):  # stops at the first trade: no read of the whole table
        if r0 < row <= r1:
            got = {c.col: c.value(pkg.sst) for c in cells}
            if got.get(cols["Entry"]) not in (None, ""):
                key = account_key(got.get(cols["Broker"]), got.get(cols["Account"]))
                if key != "|":  # a row with neither is the first account's, whichever that is
                    return key
    return None


def _guesses(s: Statement, symbol: str | None) -> list[str]:
    """What the summary must say the reader guessed: a TradingView list's symbol taken from its file name."""
    if s.format == "tradingview" and symbol is None and s.trades:
        return [f"symbol {s.trades[0].symbol!r} taken from the file name (the list of trades names none): "
                "give --symbol SYMBOL if that is not the instrument traded"]
    return []


class _NoChanges(Exception):
    """Nothing to write: the journal stays as it is, byte for byte, and no backup is made."""


def print_report(report: FillReport, out=sys.stdout) -> None:
    w = out.write
    if not report.changed:
        w(f"no changes: {report.journal} already holds everything in the statements ({report.total_trades} trades)\n")
    else:
        w(f"{'created' if report.created else 'updated'} {report.journal} ({report.total_trades} trades in all)\n")
    for f in report.files:
        w(f"\n{f.file}  [{f.format}]\n")
        w(f"  trades read:          {f.trades}\n")
        w(f"  added:                {f.added}\n")
        w(f"  updated:              {f.updated}\n")
        w(f"  unchanged:            {f.unchanged}\n")
        if f.closed:
            w(f"  closed since last import: {f.closed}\n")
        if f.deleted_skipped:
            w(f"  deleted in the journal, not re-added: {f.deleted_skipped} (--restore-deleted brings them back)\n")
        if f.restored:
            w(f"  restored after deletion: {f.restored}\n")
        if f.same_key:
            w(f"  same trade key as an earlier row, not imported: {f.same_key} (see the Rejected sheet)\n")
        if f.stop_conflicts:
            w(f"  stop/target differing from yours: {f.stop_conflicts} (yours kept; see Flags)\n")
        if f.non_trades:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(f.non_trades.items()))
            w(f"  non-trade rows:       {sum(f.non_trades.values())} ({kinds})\n")
        else:
            w("  non-trade rows:       0\n")
        if f.ledger:
            w(f"  row ledger:           {f.ledger}\n")
        for line in f.accounts:
            w(f"  account:              {line}\n")
        for line in f.fx:
            w(f"  FX to account:        {line}\n")
        for line in f.warnings:
            w(f"  WARNING: {line}\n")
        for c in f.checks:
            w(f"  {'TOTALS MISMATCH: ' if not c.ok else ''}{c.describe()}\n")
        w(f"  rejected:             {len(f.rejected) + f.rejected_not_listed}\n")
        for r in f.rejected[:10]:
            w(f"    {r.source}: {r.reason}\n")
        if len(f.rejected) > 10:
            w(f"    ... and {len(f.rejected) - 10} more, listed in the journal's Rejected sheet\n")
    excursions.print_reports(report.bars, w)
    if report.backup:
        w(f"\nprevious version kept as {report.backup}\n")
    if report.full_calc:
        w("Excel recalculates the workbook once when it opens (the Dashboard, Stats, Account and Planner "
          "figures over the whole table, and formulas the fill cannot evaluate: your own columns or sheets)\n")
    for note in report.notes:
        w(f"{note}\n")


def run_fill(args: argparse.Namespace) -> int:
    statements = list(args.statements)
    if args.sample:
        statements.append(sample_statement())
    if not excursions.split_statements(statements)[0]:
        print("fill: name at least one statement file, or --sample", file=sys.stderr)
        return 2
    try:
        report = fill_journal(statements, args.journal, fmt=args.fmt, mapping=args.mapping,
                              leverage=args.leverage, regulator=args.regulator, equity=args.equity,
                              stop_out_level=args.stop_out_level, restore_deleted=args.restore_deleted,
                              progress=False if args.no_progress else None, prices=args.prices,
                              prices_symbol=args.prices_symbol, prices_tz=args.prices_tz, symbol=args.symbol)
    except (StatementError, JournalBusy, RiskInputError, OptionError, NotAJournal, SettingsError,
            excursions.PriceOptionError, ExcelLimitError) as exc:
        return _refused(args.journal, str(exc))
    except OSError as exc:
        return _refused(args.journal, _os_message(exc, args.journal))
    except MemoryError:
        return _refused(args.journal, "not enough memory for these statements: fill them one at a time, or "
                                      "split a large one by date")
    try:
        print_report(report)
        sys.stdout.flush()
    except BrokenPipeError:  # piped into head or a closed pager: the journal is written all the same
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own advice for SIGPIPE
    if report.mismatches:
        why = "".join(f"; {f.file}, {c.name}: {c.explained}" for f in report.files for c in f.mismatches
                      if c.explained)  # the rejected rows that explain it, when the reader knows
        print(f"fill: {len(report.mismatches)} statement total(s) do not match the rows read (see TOTALS MISMATCH "
              f"above and the Rejected sheet){why}; " + ("the journal was written" if report.changed else
                                                         "the journal already held everything in them"),
              file=sys.stderr)
        return 1
    return 0


def _refused(journal: Path, message: str) -> int:
    print(f"fill: {message}", file=sys.stderr)
    print(f"fill: nothing was written; {journal} is unchanged", file=sys.stderr)
    return 2


def _os_message(exc: OSError, journal: Path) -> str:
    where = exc.filename or journal
    if exc.errno == errno.ENOSPC:
        return f"the disk holding {Path(journal).parent} is full: free some space and run the fill again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write {where}: the journal's folder must be writable"
    if exc.errno == errno.EISDIR:
        return f"{where} is a folder, not a journal file"
    return f"{where}: {exc.strerror or exc}"
