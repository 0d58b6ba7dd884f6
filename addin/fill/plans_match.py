"""The Plans table in a saved journal: a plan appended (``python -m addin plan``), and a fill's match
of each plan to the trade it became.

Matching, for every plan row whose Trade ID is empty, in the order the plans were recorded:

1. a Trade ID typed in a plan row is the trader's: that trade is taken, whatever its symbol or time;
2. otherwise the candidates are the trades of the Trades table with a Trade ID no plan row names yet,
   the same instrument (one classifier: :func:`addin.journal.instruments.lookup`, so ``EURUSD.m``,
   ``EURUSDpro`` and ``EUR/USD`` are EURUSD; a symbol it does not know is compared upper case without
   separators), the same side, opened at or after the plan's Recorded time and at most
   :data:`WINDOW_DAYS` after it;
3. the nearest such trade in time is the plan's, and is no longer a candidate for a later plan.

Times are compared as the sheets hold them: Recorded is the clock of the computer that recorded the
plan, Open time the statement's (often the broker's server time). A plan recorded on a clock ahead of
the broker's may find no trade: type the Trade ID.

A fill writes the matched Trade ID into the plan's empty Trade ID cell -- the only input cell of the
table a fill writes -- and the cached values of the calculated columns (their formulas unchanged);
every other cell of every plan row stays as it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from ..journal import plans as PL
from ..journal import schema
from ..journal.columns import blank, isnum
from ..journal.instruments import lookup
from ..risk.errors import RiskInputError
from ..risk.inputs import parse_side
from .xlsx_edit import Cell, Package, build_row, cell_xml, col_letter, formula_xml, range_bounds, with_cached

WINDOW_DAYS = 1.0  # a plan matches a trade opened up to 24 hours after it was recorded
_SEP = re.compile(r"[\s/\\._-]")


def instrument_key(symbol: object) -> str:
    """The instrument a symbol names, as the matching compares it."""
    if blank(symbol):
        return ""
    found = lookup(str(symbol))
    return found.symbol.upper() if found is not None else _SEP.sub("", str(symbol).upper())


def _side(v: object) -> int | None:
    try:
        return parse_side(v)
    except RiskInputError:
        return None


def _serial(v: object) -> float | None:
    if isinstance(v, (datetime, date)):
        return schema.serial(v)
    return float(v) if isnum(v) else None


def _id_text(v: object) -> str:
    return PL._general(v).strip().upper() if not blank(v) else ""


def match(plans: list[dict], cols: dict[str, list]) -> dict[int, str]:
    """{index in ``plans``: Trade ID} for the plans without a Trade ID that a trade matches (see the module
    docstring). ``plans``: the plan rows (header -> value) in table order; ``cols``: the Trades columns."""
    ids = list(cols.get("Trade ID", []))
    n = len(ids)
    taken = {_id_text(p.get("Trade ID")) for p in plans if not blank(p.get("Trade ID"))}
    symbols = cols.get("Instrument") or [None] * n
    trades = []
    for i in range(n):
        tid = ids[i]
        if blank(tid):
            continue
        sym = symbols[i] if i < len(symbols) and not blank(symbols[i]) else cols["Symbol"][i]
        trades.append((_id_text(tid), tid, instrument_key(sym), _side(cols["Side"][i]), _serial(cols["Open time"][i])))
    order = sorted((k for k, p in enumerate(plans) if blank(p.get("Trade ID")) and not blank(p.get("Symbol"))
                    and _serial(p.get("Recorded")) is not None),
                   key=lambda k: (_serial(plans[k]["Recorded"]), k))
    out: dict[int, str] = {}
    for k in order:
        p = plans[k]
        t0, key, side = _serial(p["Recorded"]), instrument_key(p["Symbol"]), _side(p.get("Side"))
        best = None
        for norm, tid, tkey, tside, opened in trades:
            if norm in taken or tkey != key or tside is None or tside != side or opened is None:
                continue
            gap = opened - t0
            if 0 <= gap <= WINDOW_DAYS and (best is None or gap < best[0]):
                best = (gap, norm, tid)
        if best is not None:
            out[k] = best[2]
            taken.add(best[1])
    return out


def plans_edit(pkg: Package, cols: dict[str, list]) -> tuple[str, Callable] | None:
    """The fill's edit of the Plans sheet: (sheet part, ``edit(row, cells)`` for side_sheets' row
    rewriter), or None when the journal has no Plans table."""
    t = pkg.tables.get(schema.PLANS_TABLE)
    if t is None:
        return None
    c0, r0, c1, r1 = range_bounds(t.ref)
    records = [(r, rec) for r, rec in pkg.table_records(schema.PLANS_TABLE)]
    found = match([rec for _, rec in records], cols)
    plan_at = {}
    for k, (r, rec) in enumerate(records):
        rec = dict(rec)
        if k in found:
            rec["Trade ID"] = found[k]
        plan_at[r] = (rec, k in found)
    heads = t.columns

    def edit(n: int, cells: list[Cell]) -> dict[int, str] | None:
        if n not in plan_at:
            return None
        rec, matched = plan_at[n]
        figures = PL.figures(rec, cols)
        old = {c.col: c for c in cells}
        ch = {}
        for j, h in enumerate(heads):
            col = c0 + j
            c = old.get(col)
            if h == "Trade ID" and matched:
                ch[col] = cell_xml(f"{col_letter(col)}{n}", rec["Trade ID"], c.style if c is not None else None)
            elif h in PL.FORMULAS and c is not None and c.has_formula:
                ch[col] = with_cached(c, figures[h])
        return ch or None
    return t.sheet_part, edit


def append_row(pkg: Package, record: dict) -> dict[str, bytes]:
    """The parts that append ``record`` (header -> value, the table's input columns) to the Plans table:
    into its first row without a Symbol and without any input (the template's empty row), else a new
    row below the table, which grows by one row. The calculated columns get their formula and cached
    value; styles follow the table's first data row."""
    from .side_sheets import _insert_rows, _rewrite_cells  # (side_sheets imports this module)

    t = pkg.tables.get(schema.PLANS_TABLE)
    if t is None:
        raise PlansMissing(f"{pkg.path} has no {schema.PLANS_TABLE} table (a journal made before plans could be "
                           f"recorded): make a new journal with python -m addin template, or add a sheet "
                           f"{schema.PLANS_SHEET!r} with a table of that name")
    c0, r0, c1, r1 = range_bounds(t.ref)
    heads = t.columns
    missing = [h for h in PL.INPUTS if h not in heads]
    if missing:
        raise PlansMissing(f"the {schema.PLANS_TABLE} table has no column {', '.join(missing)}: give the columns "
                           "back their names")
    records = pkg.table_records(schema.PLANS_TABLE)
    free = [r for r, rec in records if all(blank(rec.get(h)) for h in PL.INPUTS)]
    row = free[0] if free else r1 + 1
    styles: dict[int, str | None] = {}
    below = []
    for n, cells in pkg.rows_of(t.sheet_part):
        if n == r0 + 1:
            styles = {c.col: c.style for c in cells}
        if n == row and row > r1 and any(c0 <= c.col <= c1 and c.inner for c in cells):
            below = [c.ref for c in cells if c0 <= c.col <= c1 and c.inner]
    if below:
        raise PlansMissing(f"sheet {t.sheet!r}: cells below the {schema.PLANS_TABLE} table ({', '.join(below)}) are "
                           "where the new plan would go: move them")
    rec = {h: PL.cell_value(h, record.get(h)) for h in PL.INPUTS}
    figures = PL.figures(rec, {})
    cells_xml = {}
    for j, h in enumerate(heads):
        col = c0 + j
        ref = f"{col_letter(col)}{row}"
        if h in PL.FORMULAS:
            cells_xml[col] = formula_xml(ref, PL.FORMULAS[h], figures[h], styles.get(col))
        elif h in rec:
            cells_xml[col] = cell_xml(ref, rec[h], styles.get(col))

    def edit(n: int, cells: list[Cell]) -> dict[int, str] | None:
        return dict(cells_xml) if n == row else None
    xml = _rewrite_cells(pkg, t.sheet_part, edit)
    present = {n for n, _ in pkg.rows_of(t.sheet_part)}
    if row not in present:
        new = build_row(f'<row r="{row}">', sorted(cells_xml.items()), "")
        later = next((m for m in re.finditer(r'<(?:\w+:)?row\b[^>]*?\br="(\d+)"', xml) if int(m.group(1)) > row), None)
        xml = _insert_rows(xml, [new]) if later is None else xml[:later.start()] + new + xml[later.start():]
    parts = {t.sheet_part: xml.encode("utf-8")}
    if row > r1:
        new_ref = f"{col_letter(c0)}{r0}:{col_letter(c1)}{row}"
        parts[t.part] = t.xml.decode("utf-8").replace(f'ref="{t.ref}"', f'ref="{new_ref}"').encode("utf-8")
    return parts


class PlansMissing(Exception):
    """The journal cannot take a recorded plan: its Plans table is missing or in the way."""
