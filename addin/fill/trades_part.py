"""The Trades sheet at XML level: its rows read for the plan (:func:`read_rows`), and the sheet
streamed out with the planned changes and the cached values of the journal's own calculated columns
(:func:`write_part`). Rows the plan does not touch, and whose cached values are unchanged, are
copied as they are; a row is never parsed whole when string searches suffice (100,000 rows)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..journal import columns as C
from ..journal import schema
from ..journal.layout import widen_cols_xml
from ..journal.workbook import trades_widths
from .package_write import _Buffered, _extend, _extend_tail
from .plan import Plan
from .xlsx_edit import (Cell, NotAJournal, Package, TableDef, _col_of, build_row, cached_equal, cell_xml, clean,
                        col_letter, formula_xml, parse_cells, range_bounds, row_number, row_parts, stream_sheet,
                        with_cached)


@dataclass
class TradesLayout:
    """Where the Trades table is and what its columns are: header names (old names as today's),
    column index by name, the calculated columns with the formula a new row gets (and the row that
    formula is written for), and those whose formula is the journal's own (their cached values are
    the twins').

    The program's calculated columns take their formula from the schema (:mod:`addin.journal.columns`)
    when the table does not state one (a journal saved by LibreOffice loses every
    ``calculatedColumnFormula``); the trader's own calculated columns take the table's, or else the
    formula of the table's last row, moved down."""
    table: TableDef
    c0: int
    r0: int
    c1: int
    r1: int
    header: list[str]
    col_of: dict[str, int]
    calc_names: list[str]
    ours: set[str]
    ours_list: list[str]
    formulas: dict[str, tuple[str, int]]  # calculated column -> (formula, the row it is written for)

    @classmethod
    def of(cls, table: TableDef, last_row_formulas: dict[int, str] | None = None) -> "TradesLayout":
        c0, r0, c1, r1 = range_bounds(table.ref)
        header = required_header(table)
        stated = {header[table.columns.index(h)]: f for h, f in table.formulas.items() if h in table.columns}
        formulas: dict[str, tuple[str, int]] = {}
        for j, h in enumerate(header):
            ours_col = C.BY_NAME.get(h)
            if h in stated:
                formulas[h] = (stated[h], r0 + 1)
            elif ours_col is not None and ours_col.kind == "calc":
                formulas[h] = (C.formula(ours_col), r0 + 1)
            elif last_row_formulas and (c0 + j) in last_row_formulas:
                formulas[h] = (last_row_formulas[c0 + j], r1)
        ours = {h for h, (f, _) in formulas.items() if h in C.BY_NAME and C.BY_NAME[h].kind == "calc"
                and f == C.formula(C.BY_NAME[h])}
        return cls(table, c0, r0, c1, r1, header, {h: c0 + j for j, h in enumerate(header)},
                   list(formulas), ours, [c.name for c in C.CALCS if c.name in ours], formulas)

    @classmethod
    def read(cls, pkg: Package, table: TableDef) -> "TradesLayout":
        """The layout of ``table``; the formulas of its last row are read only for a column the
        table states no formula for that the program does not know (the trader's own, in a journal
        saved without calculatedColumnFormula)."""
        lay = cls.of(table)
        known = set(lay.formulas) | {h for h in lay.header if h in C.BY_NAME}
        if all(h in known for h in lay.header) or lay.r1 <= lay.r0:
            return lay
        c0, r1 = lay.c0, lay.r1
        found: dict[int, str] = {}
        for kind, piece in stream_sheet(pkg.zf, table.sheet_part):
            if kind == "row" and row_number(piece, 0) == r1:
                for c in parse_cells(piece):
                    h = lay.header[c.col - c0] if 0 <= c.col - c0 < len(lay.header) else None
                    if h is not None and h not in known and c.has_formula:
                        f = _formula_text(c)
                        if f:
                            found[c.col] = f
        return cls.of(table, found) if found else lay


def required_header(table: TableDef) -> list[str]:
    """The table's header as the fill reads it: old names as today's, and a column the fill needs
    (:data:`~addin.journal.schema.REQUIRED`) that the trader renamed found by the table column id the
    program gave it (Excel keeps a column's id when its header is renamed). A needed column found
    neither way is refused with a :class:`NotAJournal` naming it: nothing is written."""
    header = [C.RENAMED.get(h, h) for h in table.columns]
    known = set(C.BY_NAME)
    for name in schema.REQUIRED:
        if name in header:
            continue
        want = str(C.INDEX[name] + 1)  # the id the program gives the column (its position, from 1)
        j = next((j for j, i in enumerate(table.ids) if i == want and header[j] not in known), None)
        if j is None:
            raise NotAJournal(f"sheet {table.sheet!r}: the Trades table has no column {name!r} (renamed or deleted), "
                              f"which the fill needs; name a column {name!r} again and run the fill again")
        header[j] = name
    return header


def read_rows(pkg: Package, lay: TradesLayout) -> tuple[list[dict[str, object]], list[int]]:
    """The table's data rows (non-empty input cells by column name; ``{}`` for an empty or missing
    row) and per row a hash of the cached values of the journal's own formulas as written. Refuses
    (:class:`NotAJournal`) a journal with cells below the table, where new rows go."""
    sst = pkg.sst
    rows: list[dict[str, object]] = []
    row_no: list[int] = []
    old_cached: list[int] = []
    below: int | None = None
    n = lay.r0
    for kind, piece in stream_sheet(pkg.zf, lay.table.sheet_part):
        if kind != "row":
            continue
        n = row_number(piece, n + 1)
        if n <= lay.r0:
            continue
        if n > lay.r1:
            cells = parse_cells(piece)
            if any(c.value(sst) not in (None, "") or c.has_formula for c in cells):
                below = below or n
            continue
        rec, raw = _row_values(piece, lay.c0, lay.header, lay.ours, lay.calc_names, sst)
        rows.append(rec)
        row_no.append(n)
        old_cached.append(hash(tuple(raw.get(h, ("n", None)) for h in lay.ours_list)))
    if below is not None:
        raise NotAJournal(f"sheet {lay.table.sheet!r}: row {below} below the Trades table is not empty; new trades "
                          "are appended below the table. Move those cells to another sheet and run the fill again")
    # Missing rows inside the table range (never written) count as empty rows.
    expected = list(range(lay.r0 + 1, lay.r1 + 1))
    if row_no != expected:
        have = dict(zip(row_no, zip(rows, old_cached)))
        rows = [have.get(r, ({}, 0))[0] for r in expected]
        old_cached = [have.get(r, ({}, 0))[1] for r in expected]
    return rows, old_cached


def new_last_row(lay: TradesLayout, plan: Plan) -> int:
    return lay.r1 + len(plan.appended)


def write_part(raw, pkg: Package, lay: TradesLayout, plan: Plan, old_cached: list[int]) -> None:
    """Stream the Trades sheet, with ``plan`` carried out, to the binary stream ``raw``."""
    table, header, col_of, c0, r0, r1 = lay.table, lay.header, lay.col_of, lay.c0, lay.r0, lay.r1
    ours, ours_list, calc_names = lay.ours, lay.ours_list, lay.calc_names
    known_inputs = [c.name for c in C.INPUTS if c.name in col_of]
    cols, slots, updates, appended, n_old = plan.cols, plan.slots, plan.updates, plan.appended, plan.n_old
    new_last = new_last_row(lay, plan)
    sst = pkg.sst
    letters_of = {h: col_letter(col_of[h]) for h in ours_list}
    shifters = {j: (_shifter(lay.formulas[h][0]), lay.formulas[h][1]) for j, h in enumerate(header) if h in calc_names}

    def new_cached(i: int) -> tuple:
        return tuple(cols[h][i] for h in ours_list)

    def new_row(start: str, prefix: str, rn: int, i: int, cells: dict[str, object], proto: dict) -> str:
        out = []
        for j, h in enumerate(header):
            col = c0 + j
            ref = f"{col_letter(col)}{rn}"
            style = proto.get(col)
            if h in calc_names:
                shift, base = shifters[j]
                f = shift(rn - base)
                v = cols[h][i] if h in ours else None
                out.append((col, formula_xml(ref, f, v, style, prefix)))
            elif h in cells or h in known_inputs:
                out.append((col, cell_xml(ref, cells.get(h), style, prefix)))
            elif style:
                out.append((col, cell_xml(ref, None, style, prefix)))
        return build_row(start, out, prefix)

    row_prefix = ""
    for kind, piece in stream_sheet(pkg.zf, table.sheet_part, chunk=1 << 16):
        if kind == "head":
            m = re.search(r'<(\w+:)?sheetData', piece)
            row_prefix = (m.group(1) or "") if m else ""
            break

    fh = _Buffered(raw)
    proto: dict[int, str | None] = {}
    beyond: dict[int, str] = {}
    n = r0
    pending_tail = ""
    for kind, piece in stream_sheet(pkg.zf, table.sheet_part):
        if kind == "head":
            piece = re.sub(r'(<(?:\w+:)?dimension ref=")([^"]*)(")',
                           lambda m: m.group(1) + _extend(m.group(2), r1, new_last) + m.group(3), piece, count=1)
            # each column at least as wide as its widest value shows (never narrower): no ###
            piece = widen_cols_xml(piece, {c0 + j + 1: w for j, w in trades_widths(cols, header).items()})
            fh.write(piece)
            continue
        if kind == "tail":
            pending_tail = piece
            continue
        if kind == "raw":
            fh.write(piece)
            continue
        n = row_number(piece, n + 1)
        i = n - r0 - 1
        if n > r1:
            beyond[n] = piece  # empty rows (checked when read): kept unless a new trade takes their place
            continue
        if n <= r0:
            fh.write(piece)
            continue
        start, prefix = row_parts(piece)
        if not proto or i == n_old - 1:
            proto.update({c.col: c.style for c in parse_cells(piece) if c.style})
        if i in slots:
            own = dict(proto)
            own.update({c.col: c.style for c in parse_cells(piece) if c.style})
            fh.write(new_row(start, prefix, n, i, slots[i], own))
            continue
        upd = updates.get(i)
        nc = new_cached(i)
        if not upd and hash(tuple(_raw_key(v) for v in nc)) == old_cached[i]:
            fh.write(piece)
            continue
        if not upd:
            quick = _replace_cached(piece, n, [(letters_of[h], col_of[h], v) for h, v in zip(ours_list, nc)],
                                    prefix)
            if quick is not None:
                fh.write(quick)
                continue
        cells = parse_cells(piece)
        by_col = {c.col: c for c in cells}
        out: dict[int, str] = {c.col: c.text for c in cells}
        for name, v in (upd or {}).items():
            col = col_of[name]
            old = by_col.get(col)
            style = old.style if old is not None else proto.get(col)
            out[col] = cell_xml(f"{col_letter(col)}{n}", v, style, prefix)
        for h, v in zip(ours_list, nc):
            cell = by_col.get(col_of[h])
            if cell is not None and cell.has_formula and not cached_equal(cell, v, sst):
                out[col_of[h]] = with_cached(cell, v, prefix)
        fh.write(build_row(start, sorted(out.items()), prefix))
    # Appended rows after the table's last row, in row order with any (empty) rows kept below.
    for k, cells in enumerate(appended):
        rn = r1 + 1 + k
        for b in sorted(r for r in beyond if r < rn):
            fh.write(beyond.pop(b))
        beyond.pop(rn, None)
        fh.write(new_row(f'<{row_prefix}row r="{rn}">', row_prefix, rn, n_old + k, cells, proto))
    for b in sorted(beyond):
        fh.write(beyond[b])
    fh.write(_extend_tail(pending_tail, r0, r1, new_last, c0, lay.c1))
    fh.flush()


def _formula_text(cell: Cell) -> str | None:
    """The formula of a cell as written (without "="); None for a shared formula's follower, which
    holds only a reference to the first cell."""
    m = re.search(r'<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)', cell.inner or "", re.S)
    if m is None or not m.group(2):
        return None
    return html.unescape(m.group(2))


def _shifter(formula: str) -> Callable[[int], str]:
    """A calculated column's formula moved down any number of rows, prepared once: relative A1 row
    numbers shift, absolute ($) ones, structured references, names and strings do not."""
    pieces: list[tuple[str, int]] = []
    i = 0
    pattern = re.compile(r'(?<![A-Za-z0-9_.$\]])(\$?[A-Z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(\[!])')
    literal = re.compile(r'"(?:[^"]|"")*"|\[[^\[\]]*(?:\[[^\]]*\][^\[\]]*)*\]|\'(?:[^\']|\'\')*\'')
    buf = ""
    spans = []
    for m in literal.finditer(formula):
        spans.append((i, m.start(), True))
        spans.append((m.start(), m.end(), False))
        i = m.end()
    spans.append((i, len(formula), True))
    for a, b, code in spans:
        seg = formula[a:b]
        if not code:
            buf += seg
            continue
        j = 0
        for m in pattern.finditer(seg):
            if m.group(2):
                continue
            buf += seg[j:m.start()] + m.group(1)
            pieces.append((buf, int(m.group(3))))
            buf = ""
            j = m.end()
        buf += seg[j:]
    if not pieces:
        return lambda delta: formula

    def at(delta: int) -> str:
        return "".join(f"{head}{row + delta}" for head, row in pieces) + buf
    return at
def _replace_cached(row_xml: str, n: int, changes: list[tuple[str, int, object]], prefix: str) -> str | None:
    """``row_xml`` with the cached values of some formula cells replaced, found by reference with
    string searches (no parse of the whole row); None when a cell is not where it is expected."""
    if prefix:
        return None
    out, pos = [], 0
    for letters, col, value in sorted(changes, key=lambda c: c[1]):
        i = row_xml.find(f'<c r="{letters}{n}"', pos)
        if i < 0:
            return None
        gt = row_xml.find(">", i)
        if row_xml[gt - 1] == "/":
            return None
        end = row_xml.find("</c>", gt)
        attr_text, inner = row_xml[i + 2:gt], row_xml[gt + 1:end]
        if not inner.startswith("<f"):
            return None
        cell = Cell(col, row_xml[i:end + 4], attr_text, inner)
        if _cell_raw(cell) == _raw_key(value):
            continue
        v = inner.find("<v")
        keep_f = inner if v < 0 else inner[:v]
        out.append(row_xml[pos:i])
        out.append(formula_xml(f"{letters}{n}", None, value, cell.style, "", keep_f=keep_f))
        pos = end + 4
    out.append(row_xml[pos:])
    return "".join(out)


def _raw_key(v: object) -> tuple[str, str | None]:
    """A cached value as the journal's writers put it in the XML: (cell type, <v> text)."""
    if v is None:
        return ("n", None)
    if isinstance(v, bool):
        return ("b", str(int(v)))
    if isinstance(v, str):
        return ("str", escape(clean(v)))
    return ("n", repr(float(v)))


def _kind(attr_text: str) -> str:
    i = attr_text.find(' t="')
    return "n" if i < 0 else attr_text[i + 4:attr_text.find('"', i + 4)]


def _cell_raw(cell: Cell) -> tuple[str, str | None]:
    inner = cell.inner or ""
    i = inner.find("<v>")
    if i < 0:
        j = inner.find("<v/>")
        return (cell.kind, "" if j >= 0 else None)
    return (cell.kind, inner[i + 3:inner.find("</v>", i)])


def _row_values(row_xml: str, c0: int, header: list[str], ours: set, calc_names: list,
                sst: list[str]) -> tuple[dict[str, object], dict[str, tuple]]:
    """A Trades row read for the merge: its non-empty input cells by column name, and the raw
    cached values of the journal's own calculated columns."""
    rec: dict[str, object] = {}
    raw: dict[str, tuple] = {}
    width = len(header)
    if "<c>" not in row_xml and ":c " not in row_xml and row_xml.startswith("<row"):
        for ch in row_xml.split("<c ")[1:]:
            if not ch.startswith('r="'):
                break  # an unusual writer: read the row the general way below
            k = 3
            while ch[k].isalpha():
                k += 1
            j = _col_of(ch[3:k]) - c0
            if not 0 <= j < width:
                continue
            h = header[j]
            gt = ch.find(">")
            closed = ch[gt - 1] == "/"
            if h in ours:
                if closed:
                    raw[h] = (_kind(ch[:gt]), None)
                else:
                    inner = ch[gt + 1:ch.find("</c>", gt)]
                    v = inner.find("<v>")
                    raw[h] = (_kind(ch[:gt]), None if v < 0 else inner[v + 3:inner.find("</v>", v)])
            elif h not in calc_names and not closed:
                end = ch.find("</c>", gt)
                value = Cell(0, "", " " + ch[:gt], ch[gt + 1:end]).value(sst)
                if value is not None and value != "":
                    rec[h] = value
        else:
            return rec, raw
        rec, raw = {}, {}
    for c in parse_cells(row_xml):
        j = c.col - c0
        if 0 <= j < width:
            h = header[j]
            if h in ours:
                raw[h] = _cell_raw(c)
            elif h not in calc_names:
                v = c.value(sst)
                if v is not None and v != "":
                    rec[h] = v
    return rec, raw


