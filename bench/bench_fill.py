"""Benchmark: the batch fill of a generated statement against openpyxl's write-only mode.

    python bench/bench_fill.py [N ...] [--repeat R] [--refill-only]   (default N: 1000 10000 100000)

For each N an MT4 Detailed Statement of N closed trades is generated (tools/make_sample_statement.py, not
timed). ``fill`` times the whole command's work, ``fill_journal``: read and parse the statement,
complete every trade, build the journal with its cached risk figures, replace the file atomically.
The baseline writes the same Trades cells (inputs and formula text of the journal filled from that
statement, no cached values) with ``openpyxl.Workbook(write_only=True)`` (bench_journal.baseline).
Each side runs in its own process, so peak memory (ru_maxrss) is its own. Targets at 100,000
trades: fill at most 2x the baseline, peak memory under 1 GB.

The re-fill case: the journal filled from that statement, then edited as a trader would (Setup and
Notes typed on every 10th trade, a Stop typed on every 20th; not timed), receives the same statement
again plus a newer one holding N/10 new trades. ``refill`` times that merge into the edited journal
(in place: only statement-owned cells, appended rows and cached values change); ``fresh`` times a
fill of the same two statements into a new journal. Targets at 100,000 trades: re-fill at most 2x
the fresh fill, peak memory under 1 GB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))  # the tests' journal reader gives the baseline its trades


def one(kind: str, statement: Path) -> dict:
    from addin.fill import fill_journal

    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "Journal.xlsx"
        newer = statement.with_name(statement.stem + "-newer.htm")
        if kind in ("fresh", "refill"):
            if kind == "refill":
                edited = statement.with_name(statement.stem + "-edited.xlsx")
                journal.write_bytes(edited.read_bytes())
            start = time.perf_counter()
            report = fill_journal([statement, newer], journal, progress=False)
            elapsed = time.perf_counter() - start
            assert report.changed
        elif kind == "fill":
            start = time.perf_counter()
            fill_journal([statement], journal, progress=False)
            elapsed = time.perf_counter() - start
        else:
            from bench_journal import baseline

            from journal_reader import read_journal

            fill_journal([statement], journal, progress=False)  # not timed: gives the same trades
            trades = read_journal(journal).trades
            out = Path(tmp) / "baseline.xlsx"
            start = time.perf_counter()
            baseline(trades, out)
            elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def prepare_refill(statement: Path, n: int) -> None:
    """The newer statement (N/10 trades under other tickets) and the journal of ``statement`` with
    trader edits, beside ``statement``."""
    import re
    import zipfile

    from addin.fill import fill_journal
    from addin.fill.xlsx_edit import (Package, build_row, cell_xml, col_letter, parse_cells, range_bounds,
                                      row_number, row_parts, stream_sheet)
    from tools.make_sample_statement import write_mt4_statement

    newer = statement.with_name(statement.stem + "-newer.htm")
    write_mt4_statement(newer, trades=max(n // 10, 1), seed=12)
    newer.write_text(re.sub(r"(<td[^>]*>)48(\d{6}</td>)", r"\g<1>99\2", newer.read_text()))  # other tickets
    plain = statement.with_name(statement.stem + "-plain.xlsx")
    fill_journal([statement], plain, progress=False)
    pkg = Package.open(plain)
    t = pkg.tables["Trades"]
    c0, r0, _, _ = range_bounds(t.ref)
    col = {h: c0 + j for j, h in enumerate(t.columns)}
    edited = statement.with_name(statement.stem + "-edited.xlsx")
    with zipfile.ZipFile(edited, "w", zipfile.ZIP_DEFLATED) as out:
        for info in pkg.zf.infolist():
            if info.filename != t.sheet_part:
                out.writestr(info, pkg.zf.read(info.filename))
                continue
            with out.open(info.filename, "w", force_zip64=True) as fh:
                n_row = 0
                for kind, piece in stream_sheet(pkg.zf, t.sheet_part):
                    if kind == "row":
                        n_row = row_number(piece, n_row + 1)
                        if n_row > r0 and n_row % 10 == 0:
                            start, prefix = row_parts(piece)
                            cells = {c.col: c.text for c in parse_cells(piece)}
                            cells[col["Setup"]] = cell_xml(f"{col_letter(col['Setup'])}{n_row}", "pullback", None)
                            cells[col["Notes"]] = cell_xml(f"{col_letter(col['Notes'])}{n_row}", f"note {n_row}", None)
                            if n_row % 20 == 0:
                                cells[col["Stop"]] = cell_xml(f"{col_letter(col['Stop'])}{n_row}", 1.0, None)
                            piece = build_row(start, sorted(cells.items()), prefix)
                    fh.write(piece.encode("utf-8"))
    pkg.close()
    plain.unlink()


def _child(kind: str, statement: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(statement)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        print(json.dumps(one(argv[1], Path(argv[2]))))
        return 0
    from tools.make_sample_statement import write_mt4_statement

    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 2
    sizes = [int(a) for a in argv if a.isdigit() and (argv.index(a) == 0 or argv[argv.index(a) - 1] != "--repeat")]
    sizes = sizes or [1_000, 10_000, 100_000]
    kinds = ("fresh", "refill") if "--refill-only" in argv else ("baseline", "fill", "fresh", "refill")
    failed = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            statement = Path(tmp) / f"statement-{n}.htm"
            write_mt4_statement(statement, trades=n, seed=11)
            prepare_refill(statement, n)
            best: dict[str, dict] = {}
            for _ in range(repeat):
                for kind in kinds:
                    r = _child(kind, statement)
                    if kind not in best or r["seconds"] < best[kind]["seconds"]:
                        best[kind] = r
            rows.append((n, best))
            target = n >= 100_000
            ratio = best["fill"]["seconds"] / best["baseline"]["seconds"] if "fill" in best else 0.0
            re_ratio = best["refill"]["seconds"] / best["fresh"]["seconds"]
            ok = ratio <= 2.0 and best.get("fill", {"maxrss_mb": 0})["maxrss_mb"] < 1024
            re_ok = re_ratio <= 2.0 and best["refill"]["maxrss_mb"] < 1024
            if target and not (ok and re_ok):
                failed.append(n)
    print(f"{'trades':>8} {'fill':>9} {'write-only':>11} {'ratio':>6} {'fill peak RSS':>14}   target")
    for n, best in rows:
        if "fill" not in best:
            continue
        ratio = best["fill"]["seconds"] / best["baseline"]["seconds"]
        rss = best["fill"]["maxrss_mb"]
        ok = ratio <= 2.0 and rss < 1024
        print(f"{n:>8,} {best['fill']['seconds']:8.2f}s {best['baseline']['seconds']:10.2f}s {ratio:6.2f} "
              f"{rss:11.0f} MB   {'<= 2x, < 1 GB: ' + ('PASS' if ok else 'FAIL') if n >= 100_000 else '(growth)'}")
    print()
    print("re-fill: the same statement again plus N/10 new trades, into the journal carrying trader edits,")
    print("against a fresh fill of the same two statements into a new journal")
    print(f"{'trades':>8} {'re-fill':>9} {'fresh':>9} {'ratio':>6} {'re-fill RSS':>12} {'fresh RSS':>10}   target")
    for n, best in rows:
        re_ratio = best["refill"]["seconds"] / best["fresh"]["seconds"]
        rss = best["refill"]["maxrss_mb"]
        ok = re_ratio <= 2.0 and rss < 1024
        print(f"{n:>8,} {best['refill']['seconds']:8.2f}s {best['fresh']['seconds']:8.2f}s {re_ratio:6.2f} "
              f"{rss:9.0f} MB {best['fresh']['maxrss_mb']:7.0f} MB   "
              f"{'<= 2x, < 1 GB: ' + ('PASS' if ok else 'FAIL') if n >= 100_000 else '(growth)'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
