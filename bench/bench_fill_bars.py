"""Benchmark: a fill with price bars against the same fill without them.

    python bench/bench_fill_bars.py [N] [--minutes M]   (default: 10,000 trades, 370,000 minute bars)

An MT4 Detailed Statement of N closed trades is generated (tools/make_sample_statement.py) and a
MetaTrader 4 minute-bar file of EURUSD written from its first trade on, M bars (370,000: about a
year of trading minutes); neither is timed. ``plain`` times ``fill_journal`` of the statement into a
new journal; ``bars`` the same with the bar file beside it (read every line, measure every EURUSD
trade). Printed: both times, their ratio (same run), the bars read and the trades covered. Target:
the fill with a year of minute bars at most 2x the fill without.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("n", nargs="?", type=int, default=10_000)
    p.add_argument("--minutes", type=int, default=370_000)
    a = p.parse_args(argv)
    from addin.fill import fill_journal
    from addin.statements import read_statement
    from tools.make_sample_statement import write_mt4_statement

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        statement = write_mt4_statement(tmp / "Statement.htm", trades=a.n)
        first = min(t.open_time for t in read_statement(statement).trades if t.open_time)
        start = first.replace(second=0, microsecond=0) - timedelta(minutes=1)
        bars = tmp / "EURUSD_M1.csv"
        with bars.open("w") as fh:
            for k in range(a.minutes):
                t = start + timedelta(minutes=k)
                fh.write(f"{t:%Y.%m.%d,%H:%M},1.09,1.0925,1.0875,1.09,10\n")
        t0 = time.perf_counter()
        fill_journal([statement], tmp / "plain.xlsx", progress=False)
        plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = fill_journal([statement, bars], tmp / "bars.xlsx", progress=False)
        with_bars = time.perf_counter() - t0
    r = report.bars[0]
    print(f"{a.n:,} trades, {r.ledger.bars:,} bars: plain {plain:.2f}s, with bars {with_bars:.2f}s, "
          f"ratio {with_bars / plain:.2f} (target <= 2); trades covered {r.covered:,}, "
          f"EURUSD trades outside the bars {r.not_covered:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
