"""Recording the Planner's plan into the journal's Plans table (see :mod:`addin.journal.plans`).

Two ways, one record: :func:`plan_record` turns the Planner's inputs and figures (label -> value, as
the Planner sheet shows them) into the Plans row -- the time, the plan's inputs and its figures as
values -- and refuses a plan whose figures are not numbers, with the Planner's own words.

* ``record_plan`` -- an xlwings script: reads the Planner sheet of the open workbook and writes the
  row into the Plans table (the table's empty row, else a new row below it, the table resized).
  Classic xlwings runs it as ``RunPython("import addin.plans; addin.plans.record_plan()")`` (the
  calling book, ``xw.Book.caller()``); an xlwings-Lite-style runtime passes the book (``@script``).
* ``python -m addin plan --journal J.xlsx`` -- :func:`record_into_journal`: the Planner's inputs of the
  saved journal, its figures computed by the code that builds the Planner
  (:func:`addin.journal.planner.figures`), the row appended by :func:`addin.fill.plans_match.append_row`,
  written as a fill writes: under the fill's lock, into a temporary file swapped in atomically, the
  previous version kept as ``.bak1``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

try:  # xlwings is a dependency of the add-in; the CLI and the tests import this module without Excel
    import xlwings as xw
    script = getattr(xw, "script", lambda f=None, **_: f if f is not None else (lambda g: g))
except ImportError:  # pragma: no cover - xlwings missing
    xw = None

    def script(f=None, **_):
        return f if f is not None else (lambda g: g)

PLANNER_SHEET = "Planner"
# Plans column <- Planner label (addin.journal.planner's labels).
FROM_PLANNER = (("Symbol", "Symbol"), ("Side", "Side"), ("Entry", "Entry"), ("Stop", "Stop"), ("Target", "Target"),
                ("Size", "Position size"), ("Risk amount", "Risk amount"), ("Planned R:R", "Reward-to-risk"),
                ("Equity", "Equity"), ("Risk %", "Risk per trade"))
NUMBERS = ("Entry", "Stop", "Target", "Size", "Risk amount", "Planned R:R", "Equity", "Risk %")


class PlanError(ValueError):
    """The Planner's plan cannot be recorded: the message says which figure and why."""


def _isnum(v: object) -> bool:
    return type(v) in (int, float)


def plan_record(planner: dict[str, object], now: datetime) -> dict[str, object]:
    """The Plans row (header -> value) for the Planner's labels and values ``planner``, recorded at ``now``."""
    row: dict[str, object] = {"Recorded": now.replace(microsecond=0)}
    for head, label in FROM_PLANNER:
        if label not in planner:
            raise PlanError(f"the Planner has no {label!r} line: is this a journal's Planner sheet?")
        row[head] = planner[label]
    if row["Symbol"] in (None, ""):
        raise PlanError("the Planner's Symbol is empty: type the symbol you plan to trade")
    bad = [f"{label} says {row[head]!r}" if row[head] not in (None, "") else f"{label} is empty"
           for head, label in FROM_PLANNER if head in NUMBERS and not _isnum(row[head])]
    if bad:
        raise PlanError("the plan is not complete, nothing recorded: the Planner's " + "; ".join(bad))
    if row["Size"] <= 0:
        raise PlanError(f"the Planner's Position size is {row['Size']:g}: the risk budget does not cover one lot "
                        "step, nothing recorded")
    row["Trade ID"], row["Notes"] = None, None
    return {h: (float(v) if _isnum(v) and not isinstance(v, bool) else v) for h, v in row.items()}


def planner_values(rows: list) -> dict[str, object]:
    """Label -> value from the Planner's columns A:B (a list of [label, value] rows); the first line of a
    label counts."""
    out: dict[str, object] = {}
    for r in rows:
        if not r or not isinstance(r[0], str) or r[0] in out:
            continue
        out[r[0]] = r[1] if len(r) > 1 else None
    return out


@script
def record_plan(book: xw.Book = None):
    """xlwings script: record the open workbook's Planner plan as a new row of its Plans table. ``book``:
    the workbook an xlwings Lite or Server runtime passes (the annotation tells it to); none under
    classic xlwings' RunPython, which records into the calling workbook."""
    from .journal import plans as PL
    from .journal import schema

    if book is None:
        book = xw.Book.caller()
    planner = book.sheets[PLANNER_SHEET]
    values = planner_values(planner.range("A1:B80").value)
    record = plan_record(values, datetime.now())
    sheet = book.sheets[schema.PLANS_SHEET]
    table = sheet.tables[schema.PLANS_TABLE]
    heads = list(table.header_row_range.value)
    body = table.data_body_range
    first_row, first_col = table.range.row, table.range.column
    rows = body.value if body is not None else []
    if rows and not isinstance(rows[0], list):
        rows = [rows]
    col = {h: j for j, h in enumerate(heads)}
    free = [k for k, r in enumerate(rows) if all(r[col[h]] in (None, "") for h in PL.INPUTS if h in col)]
    k = free[0] if free else len(rows)
    values_row = [("=" + PL.FORMULAS[h]) if h in PL.FORMULAS else record.get(h) for h in heads]
    target = sheet.range((first_row + 1 + k, first_col), (first_row + 1 + k, first_col + len(heads) - 1))
    if not free:  # a row below the table: the table takes it in
        last = table.range.last_cell
        table.resize(sheet.range((first_row, first_col), (last.row + 1, last.column)))
    target.value = [values_row]
    return record


def record_into_journal(journal: Path, now: datetime | None = None) -> dict[str, object]:
    """``python -m addin plan``: record the saved journal's Planner plan into its Plans table."""
    from .fill import LOCK_WAIT, check_journal_path
    from .fill.backups import replace_with, sweep
    from .fill.journal_state import read_instruments, read_settings
    from .fill.lock import FillLock, check_not_open
    from .fill.package_write import _write_zip, fit_dimension
    from .fill.paths import real_journal
    from .fill.plans_match import append_row
    from .fill.xlsx_edit import NotAJournal, Package
    from .journal import planner
    from .journal.instruments import DEFAULT_INSTRUMENTS

    journal = Path(journal)
    check_journal_path(journal)
    if not journal.exists():
        raise NotAJournal(f"{journal} does not exist: record a plan into a journal you made "
                          "(python -m addin template or fill)")
    journal = real_journal(journal)
    with FillLock(journal, wait=LOCK_WAIT):
        sweep(journal)
        check_not_open(journal)
        pkg = Package.open(journal)
        try:
            inputs = {}
            for k, label in enumerate(planner.INPUT_LABELS):
                ref = f"B{planner.FIRST_INPUT_ROW + k}"
                value, found = pkg.cell_value(PLANNER_SHEET, ref)
                got_label, _ = pkg.cell_value(PLANNER_SHEET, f"A{planner.FIRST_INPUT_ROW + k}")
                if got_label != label:
                    raise PlanError(f"{PLANNER_SHEET}!A{planner.FIRST_INPUT_ROW + k} should read {label!r} "
                                    f"(found {got_label!r}): the Planner's inputs are not where the program put them")
                inputs[label] = value
            settings, _ = read_settings(pkg)
            instruments = read_instruments(pkg) or list(DEFAULT_INSTRUMENTS)
            values = planner.figures(inputs, settings, instruments)
            record = plan_record(values, now or datetime.now())
            parts = append_row(pkg, record)
            parts = {name: fit_dimension(data) if name.startswith("xl/worksheets/") else data
                     for name, data in parts.items()}
            replace_with(journal, lambda tmp: _write_zip(pkg, tmp, dict(parts), set(), None, None, None))
        finally:
            pkg.close()
    return record


def run_plan(args) -> int:
    from .fill.lock import JournalBusy
    from .fill.plans_match import PlansMissing
    from .fill.xlsx_edit import NotAJournal

    try:
        record = record_into_journal(args.journal)
    except (PlanError, PlansMissing, NotAJournal, JournalBusy) as exc:  # (a read-only journal is a NotAJournal)
        print(f"plan: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"plan: cannot write {args.journal}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    shown = ", ".join(f"{h} {v:g}" if _isnum(v) else f"{h} {v}" for h, v in record.items()
                      if h not in ("Recorded", "Trade ID", "Notes"))
    print(f"recorded the plan of {record['Recorded']:%Y-%m-%d %H:%M:%S} into {args.journal}: {shown}")
    return 0
