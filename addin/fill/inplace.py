"""Merging statements into a journal: the package's parts the statements own are rewritten, every
other part is copied unchanged, byte for byte.

A new journal is the template (:func:`addin.journal.workbook.build_journal` with no trades) with
the statements merged in by this same function, so a journal filled at once, in several fills, or
created first with ``python -m addin template`` is the same journal. :func:`merge_into` orchestrates:
what the journal holds (:mod:`.journal_state`, :func:`.trades_part.read_rows`), the plan
(:mod:`.plan`: which rows change, the new trades, cached values; the ownership rules are there),
the Trades sheet streamed with the plan (:mod:`.trades_part`), the sheets beside it
(:mod:`.side_sheets`), the package written (:mod:`.package_write`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..journal.instruments import Instrument
from ..journal.schema import TRADES_TABLE
from ..journal.settings import SETTINGS_CELLS, Settings, default_mark
from ..statements.model import BalanceEvent, RejectedRow, Trade
from .limits import check_table_rows
from .journal_state import read_cash, read_cash_from, read_ledger, read_rejected_keys
from .package_write import _drop_calc_chain, _full_calc, _write_zip, fit_dimension
from .plan import Counts, JournalRows, plan_merge
from ..journal import accounts as accounts_mod
from .summary import read_account_inputs
from .side_sheets import _account_notes, _other_parts
from .trades_part import TradesLayout, new_last_row, read_rows, write_part
from .xlsx_edit import NotAJournal, Package, col_letter

__all__ = ["Counts", "EditResult", "merge_into"]


@dataclass
class EditResult:
    per_file: list[Counts]
    total_trades: int
    changed: bool
    full_calc: bool = False
    notes: list[str] = field(default_factory=list)


def merge_into(pkg: Package, out_path: Path, statements: list[tuple[list[Trade], list[BalanceEvent], list[RejectedRow]]],
               settings: Settings, settings_changed: dict[str, object], instruments: list[Instrument] | None,
               restore_deleted: bool = False, on_stage: Callable[[str], None] | None = None,
               assumed_start: set[str] = frozenset(),
               account_starts: dict[str, tuple[float | None, float | None]] | None = None,
               account_leverages: dict[str, float] | None = None) -> EditResult:
    """Write ``pkg`` with ``statements`` merged into ``out_path`` (a new file). ``settings_changed``:
    the Settings cells to write; ``assumed_start``: the settings still the template's default after
    this fill; ``account_starts``: {account key: (starting balance, Counted from)} the statements
    state, ``account_leverages`` {account key: leverage} likewise (the Accounts block,
    :func:`addin.journal.accounts.resolve`). Nothing is written when
    nothing changes (``changed`` False)."""
    if TRADES_TABLE not in pkg.tables:
        raise NotAJournal(f"{Path(str(pkg.path)).name} has no Trades table: it is not a trade journal "
                          "(give --journal a journal made by this add-in, or a new file name)")
    table = pkg.tables[TRADES_TABLE]
    if table.totals_row:
        raise NotAJournal(f"sheet {table.sheet!r}: the Trades table shows a Total Row; new trades cannot be "
                          "appended below it. Turn it off (Table Design > Total Row) and run the fill again")
    lay = TradesLayout.read(pkg, table)

    if on_stage:
        on_stage("reading the journal's trades")
    rows, old_cached = read_rows(pkg, lay)
    cash_from = read_cash_from(pkg)
    journal = JournalRows(columns=set(lay.col_of), rows=rows, ledger=read_ledger(pkg), cash=read_cash(pkg),
                          rejected_keys=read_rejected_keys(pkg), cash_from=cash_from[1] if cash_from else None,
                          account_inputs={**read_account_inputs(pkg), "stated": dict(account_starts or {}),
                                          "lev_stated": dict(account_leverages or {})})
    plan = plan_merge(journal, statements, settings, settings_changed, instruments, restore_deleted=restore_deleted,
                      assumed_start=assumed_start, on_stage=on_stage)
    result = EditResult(plan.per_file, plan.total_trades, plan.changed)
    if not plan.changed:
        return result
    result.notes.extend(_account_notes(pkg, plan.all_rows))
    rows, home = accounts_mod.resolve(plan.cols, settings, plan.account_inputs, plan.cash_from)
    result.notes.extend(accounts_mod.describe(rows, home, "starting_balance" in assumed_start))

    if on_stage:
        on_stage(f"writing {Path(str(pkg.path)).name}")
    new_last = new_last_row(lay, plan)
    check_table_rows(table.sheet, TRADES_TABLE, lay.r0, new_last)  # Excel's row limit (.limits), before anything is written
    replaced: dict[str, bytes] = {}
    new_ref = f"{col_letter(lay.c0)}{lay.r0}:{col_letter(lay.c1)}{new_last}"
    replaced[table.part] = table.xml.decode("utf-8").replace(f'ref="{table.ref}"', f'ref="{new_ref}"').encode("utf-8")
    other = _other_parts(pkg, settings, settings_changed, plan.cols, plan.cash_all, plan.cash_new,
                         plan.rejected_new, plan.cash_from, plan.ledger_add, lay.r1, new_last,
                         table.sheet, data_start=lay.r0 + 1,
                         trades_changed=bool(plan.updates or plan.slots or plan.appended or plan.cash_new
                                             or settings_changed), marks=plan.marks,
                         account_inputs=plan.account_inputs)
    sheet_parts = {part for _, part, _ in pkg.sheets}
    replaced.update({name: fit_dimension(data) if name in sheet_parts else data for name, data in other.parts.items()})
    foreign_calc = [h for h in lay.calc_names if h not in lay.ours]
    full_calc = bool(foreign_calc) or other.full_calc  # settings changed: every figure is computed with them
    wb_xml = pkg.zf.read("xl/workbook.xml").decode("utf-8")
    if other.new_sheet:
        wb_xml = other.register(wb_xml)
    wb_xml = other.workbook(wb_xml)
    for fld, name, *_ in SETTINGS_CELLS:  # set now: no longer the template's default
        if fld in settings_changed and default_mark(name) in pkg.defined:
            wb_xml = re.sub(r'<((?:\w+:)?)definedName\b[^>]*\bname="%s"[^>]*?(?:/>|>.*?</\1definedName>)'
                            % re.escape(default_mark(name)), "", wb_xml, count=1, flags=re.S)
    if full_calc:
        wb_xml = _full_calc(wb_xml)
    replaced["xl/workbook.xml"] = wb_xml.encode("utf-8")
    drop = _drop_calc_chain(pkg, replaced) if (plan.appended or plan.slots) else set()
    _write_zip(pkg, out_path, replaced, drop, table.sheet_part,
               lambda raw: write_part(raw, pkg, lay, plan, old_cached), other.new_sheet)
    result.full_calc = full_calc
    return result
