"""Benchmark: build a journal of N trades (default 10,000) against openpyxl's write-only mode.

    python bench/bench_journal.py [N] [--repeat R]

The baseline writes the same Trades cells (the input values and the same formula text in every
calculated cell, no cached values) with ``openpyxl.Workbook(write_only=True)``. ``build_journal``
writes the whole workbook: every sheet, the table, charts, conditional formats, and a cached value
for every formula cell, and a Cash sheet of deposits and withdrawals the Balance column adds in. Each
side runs in its own process so peak memory (ru_maxrss) is its own; the trades (and cash movements)
are generated before the clock starts. The target is a ratio of at most 2.0.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _trades(n: int):
    from tools.sample_trades import sample_trades
    return sample_trades(n, seed=42)


def baseline(trades, path: Path) -> None:
    """openpyxl write-only: the Trades sheet's cells, values and formulas, nothing cached."""
    from openpyxl import Workbook

    from addin.journal import columns as C
    from addin.journal.instruments import DEFAULT_INSTRUMENTS
    from addin.journal.trades import input_columns as _input_columns

    cols = _input_columns(trades, DEFAULT_INSTRUMENTS)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Trades")
    ws.append([c.name for c in C.COLUMNS])
    data = [cols.get(c.name) for c in C.COLUMNS]
    for r in range(len(trades)):
        row = r + 2
        ws.append(["=" + C.row_formula(c, row) if c.kind == "calc" else data[j][r]
                   for j, c in enumerate(C.COLUMNS)])
    wb.save(path)


def build(trades, path: Path, cash=()) -> None:
    from addin.journal.workbook import build_journal
    build_journal(path, trades, cash=cash)


def one(kind: str, n: int, trace: bool) -> dict:
    trades = _trades(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.xlsx"
        if kind == "baseline":
            fn = baseline
        else:
            from tools.sample_trades import sample_cash
            cash = sample_cash(trades)

            def fn(trades, path):
                build(trades, path, cash)
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        fn(trades, path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else None
        size = path.stat().st_size
    return {"kind": kind, "seconds": elapsed, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "traced_peak_mb": peak / 2**20 if peak is not None else None, "bytes": size}


def _child(kind: str, n: int, trace: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(n)] + (["--trace"] if trace else []),
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        print(json.dumps(one(argv[1], int(argv[2]), "--trace" in argv)))
        return 0
    n = int(argv[0]) if argv and argv[0].isdigit() else 10_000
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    best: dict[str, dict] = {}
    for _ in range(repeat):
        for kind in ("baseline", "build"):
            r = _child(kind, n, trace=False)
            if kind not in best or r["seconds"] < best[kind]["seconds"]:
                best[kind] = r
    traced = {kind: _child(kind, n, trace=True)["traced_peak_mb"] for kind in ("baseline", "build")}
    from addin.journal.columns import COLUMNS
    cells = (n + 1) * len(COLUMNS)
    print(f"journal of {n:,} trades ({cells:,} Trades cells), best of {repeat}")
    for kind, label in (("baseline", "openpyxl write-only, no cached values"),
                        ("build", "build_journal (whole workbook, cached values)")):
        r = best[kind]
        print(f"  {label:48s} {r['seconds']:6.2f} s  peak RSS {r['maxrss_mb']:6.0f} MB  "
              f"traced peak {traced[kind]:6.1f} MB  file {r['bytes'] / 2**20:5.1f} MB")
    ratio = best["build"]["seconds"] / best["baseline"]["seconds"]
    print(f"  ratio build / write-only = {ratio:.2f} (target <= 2.0)")
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
