"""Benchmark: the batch fill of a generated statement against openpyxl's write-only mode.

    python bench/bench_fill.py [N ...] [--repeat R]        (default N: 1000 10000 100000)

For each N an MT4 Detailed Statement of N closed trades is generated (addin.statements.sample, not
timed). ``fill`` times the whole command's work, ``fill_journal``: read and parse the statement,
complete every trade, build the journal with its cached risk figures, replace the file atomically.
The baseline writes the same Trades cells (inputs and formula text of the journal filled from that
statement, no cached values) with ``openpyxl.Workbook(write_only=True)`` (bench_journal.baseline).
Each side runs in its own process, so peak memory (ru_maxrss) is its own. Targets at 100,000
trades: fill at most 2x the baseline, peak memory under 1 GB.
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


def one(kind: str, statement: Path) -> dict:
    from addin.fill import fill_journal

    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "Journal.xlsx"
        if kind == "fill":
            start = time.perf_counter()
            fill_journal([statement], journal, progress=False)
            elapsed = time.perf_counter() - start
        else:
            from bench_journal import baseline

            from addin.journal.read import read_journal

            fill_journal([statement], journal, progress=False)  # not timed: gives the same trades
            trades = read_journal(journal).trades
            out = Path(tmp) / "baseline.xlsx"
            start = time.perf_counter()
            baseline(trades, out)
            elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(kind: str, statement: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(statement)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        print(json.dumps(one(argv[1], Path(argv[2]))))
        return 0
    from addin.statements.sample import write_mt4_statement

    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 2
    sizes = [int(a) for a in argv if a.isdigit() and (argv.index(a) == 0 or argv[argv.index(a) - 1] != "--repeat")]
    sizes = sizes or [1_000, 10_000, 100_000]
    failed = []
    print(f"{'trades':>8} {'fill':>9} {'write-only':>11} {'ratio':>6} {'fill peak RSS':>14}   target")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            statement = Path(tmp) / f"statement-{n}.htm"
            write_mt4_statement(statement, trades=n, seed=11)
            best: dict[str, dict] = {}
            for _ in range(repeat):
                for kind in ("baseline", "fill"):
                    r = _child(kind, statement)
                    if kind not in best or r["seconds"] < best[kind]["seconds"]:
                        best[kind] = r
            ratio = best["fill"]["seconds"] / best["baseline"]["seconds"]
            rss = best["fill"]["maxrss_mb"]
            target = n >= 100_000
            ok = ratio <= 2.0 and rss < 1024
            if target and not ok:
                failed.append(n)
            print(f"{n:>8,} {best['fill']['seconds']:8.2f}s {best['baseline']['seconds']:10.2f}s {ratio:6.2f} "
                  f"{rss:11.0f} MB   {'<= 2x, < 1 GB: ' + ('PASS' if ok else 'FAIL') if target else '(growth)'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
