"""Benchmark: what a spreadsheet recalculates in a filled journal, by static dependency analysis.

    python bench/bench_recalc.py [N ...]        (default N: 100 1000 10000)

For each N a journal of N sample trades (with cash movements) is built with ``build_journal`` and
every formula of every sheet is read from the file and tokenized with openpyxl's formula Tokenizer
(cached by formula text, row numbers of A1 references abstracted). Each reference operand is
resolved to the cells it covers: A1 cells and ranges (the running columns' ranges from the header
row down to each row included), sheet-qualified references, defined names
(Settings cells, CashFrom), and structured references -- ``Table[[#This Row],[Col]]`` is that row's
cell, ``Table[Col]`` the column's data range. That gives the dependency graph a spreadsheet keeps;
an edit dirties its dependents, transitively. Printed for each scenario: formula cells dirtied, of
them add-in cells (cells whose formula calls one of the add-in's functions), and Trades rows touched.

Scenarios: (a) typing one new trade at the bottom (the table grows by a row: every formula that reads
a whole Trades column is dirtied as well as the new row's cells); (b) editing the first trade's
Profit; (c) changing AccountLeverage on Settings; (d) opening the file with a full recalculation
(every formula cell). Targets: add-in cells per edit <= 30 and the same for every N; formula cells
dirtied by (a) a constant number of rows. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import posixpath
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from bisect import bisect_left
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openpyxl.formula import Tokenizer  # noqa: E402
from openpyxl.utils.cell import column_index_from_string, range_boundaries  # noqa: E402

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"[^>]*?>(?:(?!</c>).)*?<f>(.*?)</f>', re.S)
_A1 = re.compile(r"(?<![A-Za-z_\[\]!.])(\$?[A-Z]{1,3}\$?)(\d+)(?![\d(\[])")
_MARK = 7_000_000  # an A1 reference's row, abstracted: 7000000 + its index in the formula
_STRUCT = re.compile(r"^([A-Za-z_][\w.]*)\[(.*)\]$")


def addin_functions() -> frozenset[str]:
    from addin import udfs
    return frozenset(n for n in dir(udfs) if n.isupper() and callable(getattr(udfs, n)))


class Workbook:
    """The formulas, tables and defined names of an xlsx, read from the package."""

    def __init__(self, path: Path):
        self.formulas: dict[tuple[str, int, int], str] = {}  # (sheet, row, col) -> formula text
        self.tables: dict[str, tuple[str, tuple[int, int, int, int], list[str]]] = {}
        self.names: dict[str, str] = {}
        with zipfile.ZipFile(path) as z:
            wbxml = ET.fromstring(z.read("xl/workbook.xml"))
            rels = {r.get("Id"): r.get("Target") for r in
                    ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).findall("p:Relationship", NS)}
            for dn in wbxml.findall("m:definedNames/m:definedName", NS):
                if dn.get("localSheetId") is None:
                    self.names[dn.get("name")] = dn.text
            for sheet in wbxml.findall("m:sheets/m:sheet", NS):
                title = sheet.get("name")
                target = rels[sheet.get(f"{{{NS['r']}}}id")]
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                xml = z.read(part).decode("utf-8")
                for m in _CELL.finditer(xml):
                    f = m.group(3).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                    self.formulas[(title, int(m.group(2)), column_index_from_string(m.group(1)))] = f
                rel_part = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
                if rel_part not in z.namelist():
                    continue
                for r in ET.fromstring(z.read(rel_part)).findall("p:Relationship", NS):
                    if r.get("Type", "").endswith("/table"):
                        tgt = r.get("Target")
                        tpart = tgt.lstrip("/") if tgt.startswith("/") else posixpath.normpath(
                            posixpath.join(posixpath.dirname(part), tgt))
                        t = ET.fromstring(z.read(tpart))
                        cols = [c.get("name") for c in t.findall("m:tableColumns/m:tableColumn", NS)]
                        self.tables[t.get("displayName")] = (title, range_boundaries(t.get("ref")), cols)


def _abstract(f: str) -> tuple[str, list[tuple[str, str]]]:
    """The formula with each A1 reference's row replaced by a numbered placeholder, and the refs."""
    refs: list[tuple[str, str]] = []

    def sub(m: re.Match) -> str:
        refs.append((m.group(1), m.group(2)))
        return f"{m.group(1)}{_MARK + len(refs) - 1}"
    return _A1.sub(sub, f), refs


class Graph:
    """Formula cell -> its precedents (cells and ranges), and the reverse indexes."""

    def __init__(self, wb: Workbook, addin: frozenset[str]):
        self.wb = wb
        self.cell_deps: dict[tuple, list] = defaultdict(list)     # precedent cell -> dependent formula cells
        self.range_deps: dict[tuple, list] = defaultdict(list)    # (sheet, c1, r1, c2, r2) -> dependents
        self.addin: set[tuple] = set()
        cache: dict[str, tuple[list[str], bool]] = {}
        for cell, f in wb.formulas.items():
            key, refs = _abstract(f)
            if key not in cache:
                toks = Tokenizer("=" + key).items
                cache[key] = ([t.value for t in toks if t.type == "OPERAND" and t.subtype == "RANGE"],
                              any(t.type == "FUNC" and t.subtype == "OPEN" and t.value[:-1].upper() in addin
                                  for t in toks))
            operands, calls = cache[key]
            if calls:
                self.addin.add(cell)
            for op in operands:
                op = re.sub(r"7\d{6}", lambda m: refs[int(m.group(0)) - _MARK][1], op)
                for kind, target in self._resolve(op, cell):
                    (self.cell_deps if kind == "cell" else self.range_deps)[target].append(cell)
        # Ranges grouped by sheet, columns and first row, each group sorted by last row: the ranges
        # of a group that hold a cell are a suffix of it (the running columns' ranges from the
        # header row to each row make one group per column).
        groups: dict[tuple, list[tuple]] = defaultdict(list)
        for rng in self.range_deps:
            groups[(rng[0], rng[1], rng[3], rng[2])].append(rng)
        self.groups: dict[str, list[tuple[tuple, list[int], list[tuple]]]] = defaultdict(list)
        for key, rngs in groups.items():
            rngs.sort(key=lambda r: r[4])
            self.groups[key[0]].append((key, [r[4] for r in rngs], rngs))

    def _resolve(self, op: str, here: tuple) -> list[tuple[str, tuple]]:
        sheet, row, _ = here
        if op in self.wb.names:
            return self._resolve(self.wb.names[op], here)
        m = _STRUCT.match(op)
        if m and m.group(1) in self.wb.tables:
            tsheet, (c1, r1, c2, r2), cols = self.wb.tables[m.group(1)]
            inner = m.group(2)
            this_row = "#This Row" in inner
            names = re.findall(r"\[([^\]#][^\]]*)\]", inner) or ([inner] if inner and not inner.startswith("[") else [])
            idx = [c1 + cols.index(n) for n in names if n in cols] or list(range(c1, c2 + 1))
            if this_row:
                return [("cell", (tsheet, row, c)) for c in idx]
            return [("range", (tsheet, min(idx), r1 + 1, max(idx), r2))]
        if "!" in op:
            sheet, op = op.rsplit("!", 1)
            sheet = sheet.strip("'")
        op = op.replace("$", "")
        if ":" in op:
            c1, r1, c2, r2 = range_boundaries(op)
            return [("range", (sheet, c1, r1, c2, r2))]
        if re.fullmatch(r"[A-Z]{1,3}\d+", op):
            c1, r1, _, _ = range_boundaries(op)
            return [("cell", (sheet, r1, c1))]
        return []  # a defined name this analysis does not know: nothing to follow

    def dependents(self, cell: tuple, done: dict | None = None) -> list[tuple]:
        """Formula cells that read ``cell``; with ``done`` (group -> first range index already
        followed), each range is followed once per :meth:`dirty`."""
        out = list(self.cell_deps.get(cell, ()))
        sheet, row, col = cell
        for key, ends, rngs in self.groups.get(sheet, ()):
            _, c1, c2, r1 = key
            if not (c1 <= col <= c2 and r1 <= row):
                continue
            lo = bisect_left(ends, row)
            hi = len(rngs) if done is None else done.get(key, len(rngs))
            for rng in rngs[lo:hi]:
                out += self.range_deps[rng]
            if done is not None and lo < hi:
                done[key] = lo
        return out

    def dirty(self, changed: list[tuple], ranges: list[tuple] = (), also: list[tuple] = ()) -> set[tuple]:
        """Formula cells recalculated after ``changed`` cells change (and ``ranges`` change extent)."""
        seen: set[tuple] = set(also)
        done: dict = {}
        todo = list(also)
        for c in changed:
            todo += self.dependents(c, done)
        for rng in ranges:
            todo += self.range_deps.get(rng, ())
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            todo += self.dependents(c, done)
        return seen


def analyse(n: int, addin: frozenset[str]) -> dict[str, tuple[int, int, int]]:
    from addin.journal import columns as C
    from tools.sample_trades import sample_cash, sample_trades
    from addin.journal.workbook import build_journal

    trades = sample_trades(n + 1, seed=42)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.xlsx"
        build_journal(path, trades, cash=sample_cash(trades[:n]))  # n trades typed so far, and one more
        wb = Workbook(path)
    g = Graph(wb, addin)
    tsheet, (c1, r1, c2, r2), cols = wb.tables[C.TABLE]
    col = {name: c1 + k for k, name in enumerate(cols)}
    last = r2  # the new trade's row
    out: dict[str, tuple[int, int, int]] = {}

    def record(label: str, cells: set[tuple]) -> None:
        rows = {r for s, r, _ in cells if s == tsheet}
        out[label] = (len(cells), len(cells & g.addin), len(rows))

    new_inputs = [(tsheet, last, col[c.name]) for c in C.COLUMNS if c.kind != "calc"]
    new_calcs = [(tsheet, last, col[c.name]) for c in C.CALCS]
    grown = [rng for rng in g.range_deps if rng[0] == tsheet and rng[4] == last]  # whole-column references
    record("(a) type a new trade at the bottom", g.dirty(new_inputs, grown, new_calcs))
    record("(b) edit the first trade's Profit", g.dirty([(tsheet, r1 + 1, col["Profit"])]))
    lev = wb.names["AccountLeverage"].replace("$", "").split("!")
    c, r, _, _ = range_boundaries(lev[1])
    record("(c) change AccountLeverage", g.dirty([(lev[0], r, c)]))
    record("(d) open with a full recalculation", set(wb.formulas))
    return out


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv if a.isdigit()] or [100, 1_000, 10_000]
    addin = addin_functions()
    results = {}
    for n in sizes:
        start = time.perf_counter()
        results[n] = analyse(n, addin)
        print(f"analysed {n:,} trades in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    labels = list(results[sizes[0]])
    print("| Edit | " + " | ".join(f"{n:,} trades: add-in cells / formula cells (Trades rows)" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for label in labels:
        cells = [f"{results[n][label][1]:,} / {results[n][label][0]:,} ({results[n][label][2]:,})" for n in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")
    ok = True
    for label in labels[:3]:
        addin_counts = {results[n][label][1] for n in sizes}
        if max(addin_counts) > 30 or len(addin_counts) > 1:
            print(f"target missed: {label}: add-in cells {sorted(addin_counts)} (<= 30, constant in N)")
            ok = False
    total_addin = {results[n][labels[3]][1] for n in sizes}
    if max(total_addin) > 60 or len(total_addin) > 1:
        print(f"target missed: add-in cells in the workbook {sorted(total_addin)} (<= 60, constant in N)")
        ok = False
    rows_a = {results[n][labels[0]][2] for n in sizes}
    if len(rows_a) > 1:
        print(f"target missed: (a) touches {sorted(rows_a)} Trades rows (constant in N)")
        ok = False
    print(f"targets {'met' if ok else 'MISSED'}: add-in cells per edit <= 30 and constant; whole workbook "
          f"{max(total_addin)} add-in cells; (a) dirties {max(rows_a)} Trades row(s) whatever N")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
