"""Benchmark: a statement with more trades than an Excel sheet holds is refused early and cheaply.

    python bench/bench_huge_statement.py [N] [--format csv|tradingview] [--journal-near-limit]

A statement of N trades (default 1,048,576: with the Trades table's header row that is one more
row than Excel's 1,048,576-row worksheet) is generated in the generic CSV format (the project's
example mapping) or as a TradingView "List of trades" (two records per trade), then
``python -m addin fill`` runs on it in a fresh process. Printed: the exit code, the last line of
the message, the elapsed time and the child's peak memory (ru_maxrss); and the same for a
statement of 1,000 trades, as the same-run reference. The fill must refuse the huge one with
exit 2 in one line, without building a Trade object per row (peak memory of the order of the
file's own size, not gigabytes).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "addin" / "statements" / "example_mapping.json"


def write_csv(path: Path, n: int) -> None:
    head = "Ticket,Instrument,Direction,Lots,Open time,Open price,Close time,Close price,Stop loss," \
           "Take profit,Commission,Swap,Profit,Comment\n"
    with path.open("w", newline="") as fh:
        fh.write(head)
        for k in range(n):
            fh.write(f"{50000000 + k},EURUSD,Buy,0.10,2025-03-03 09:15:22,1.04712,2025-03-03 15:40:05,"
                     "1.04958,,,-0.70,0.00,24.60,\n")


def write_tradingview(path: Path, n: int) -> None:
    head = "Trade #,Type,Date and time,Signal,Price USDT,Position size (qty),Position size (value)," \
           "Net P&L USDT,Net P&L %,Favorable excursion USDT,Favorable excursion %,Adverse excursion USDT," \
           "Adverse excursion %,Cumulative P&L USDT,Cumulative P&L %\n"
    with path.open("w", newline="") as fh:
        fh.write(head)
        for k in range(1, n + 1):
            fh.write(f"{k},Exit long,2025-01-02 12:00,Max Hold,3470.58,0.0295,99.97,2.3,2.30,2.52,2.52,"
                     f"-0.44,-0.44,{round(2.3 * k, 2)},0.00\n")
            fh.write(f"{k},Entry long,2025-01-02 01:00,Long Entry,3389.11,0.0295,99.97,2.3,2.30,2.52,2.52,"
                     f"-0.44,-0.44,{round(2.3 * k, 2)},0.00\n")


def run(statement: Path, fmt: str, journal: Path) -> dict:
    args = [sys.executable, "-m", "addin", "fill", str(statement), "--journal", str(journal), "--no-progress"]
    if fmt == "csv":
        args[4:4] = ["--format", "csv", "--mapping", str(MAPPING)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux; the largest child so far
    err = p.stderr.strip().splitlines()
    return {"rc": p.returncode, "seconds": elapsed, "peak_mb": peak / 1024, "grew": peak > before,
            "message": err[0] if err else p.stdout.strip().splitlines()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1_048_576)
    ap.add_argument("--format", choices=("csv", "tradingview"), default="csv")
    a = ap.parse_args()
    write = write_csv if a.format == "csv" else write_tradingview
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # the small reference first: ru_maxrss of children is a running maximum
        small = tmp / "small.csv"
        write(small, 1000)
        ref = run(small, a.format, tmp / "small.xlsx")
        big = tmp / "big.csv"
        write(big, a.n)
        size = big.stat().st_size / 2**20
        huge = run(big, a.format, tmp / "big.xlsx")
        print(f"format {a.format}: {a.n:,} trades, {size:,.0f} MB file")
        print(f"  1,000 trades: exit {ref['rc']}, {ref['seconds']:.1f} s, peak {ref['peak_mb']:,.0f} MB")
        shown = f"{huge['peak_mb']:,.0f} MB" if huge["grew"] else f"at most {huge['peak_mb']:,.0f} MB"
        print(f"  {a.n:,} trades: exit {huge['rc']}, {huge['seconds']:.1f} s "
              f"({huge['seconds'] / ref['seconds']:.1f}x the 1,000-trade fill), peak {shown}")
        print(f"  message: {huge['message']}")
        print(f"  journal written: {(tmp / 'big.xlsx').exists()}")


if __name__ == "__main__":
    main()
