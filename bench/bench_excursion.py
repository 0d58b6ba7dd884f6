"""Benchmark: a year of minute bars and 10,000 trades, read and measured.

    python bench/bench_excursion.py [--bars N] [--trades T] [--seed S]   (defaults 370,000 and 10,000)

A MetaTrader 5 bar export of N minute bars (a random walk of EURUSD, weekends left out, the file
format of Symbols → Bars → Export) and T trades of random side, open time and length (a minute to a
few days, a tenth still open) are generated (not timed). Timed, in this process:

* ``read``: :func:`addin.bars.read_bars` of the file (decode, parse, validate, the line ledger);
* ``excursions``: :func:`addin.bars.trade_excursions` of the T statement trades over the series
  (the block index built, one binary search per trade end, MAE/MFE/R per trade);
* the whole job (both), timed without tracing; then run again under ``tracemalloc`` for its peak
  memory (the process's ``ru_maxrss`` is printed too, the file's generation included).

Baselines measured in the same run: ``split`` parses the same file's lines with ``str.split`` and
``float`` only (no dates, no checks, no ledger): the least any reader does; ``naive`` scans the bars
of each trade one by one (``min``/``max`` over the slice of each trade found by a linear search) on
a subset of the trades, extrapolated to T. Targets: the whole job under 5 s and 500 MB.
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_bars(path: Path, n: int, rnd: random.Random) -> None:
    t = datetime(2025, 1, 6)  # a Monday
    price = 1.0800
    out = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"]
    for _ in range(n):
        if t.weekday() >= 5:  # no bars on the weekend
            t += timedelta(days=7 - t.weekday())
            t = t.replace(hour=0, minute=0)
        o = price
        c = max(0.5, o + rnd.gauss(0, 0.00012))
        h = max(o, c) + rnd.random() * 0.00008
        lo = min(o, c) - rnd.random() * 0.00008
        out.append(f"{t:%Y.%m.%d}\t{t:%H:%M:%S}\t{o:.5f}\t{h:.5f}\t{lo:.5f}\t{c:.5f}\t{rnd.randint(1, 500)}\t0\t7")
        price = c
        t += timedelta(minutes=1)
    path.write_text("\r\n".join(out) + "\r\n", encoding="ascii")


def make_trades(series, count: int, rnd: random.Random):
    from addin.bars import from_seconds
    from addin.statements.model import SourceRef, Trade

    trades = []
    n = len(series)
    for k in range(count):
        i = rnd.randrange(n)
        opened = from_seconds(series.times[i] + rnd.randrange(60))
        entry = round(series.lows[i] + (series.highs[i] - series.lows[i]) * rnd.random(), 5) or series.lows[i]
        side = rnd.choice(("long", "short"))
        stop = round(entry - 0.002 if side == "long" else entry + 0.002, 5)
        still_open = rnd.random() < 0.1
        closed = None if still_open else opened + timedelta(minutes=int(rnd.expovariate(1 / 600)) + 1)
        trades.append(Trade(broker="bench", trade_id=str(k), symbol="EURUSD", side=side, quantity=1.0, entry=entry,
                            open_time=opened, close_time=closed, exit=None if still_open else entry, stop=stop,
                            source=SourceRef(file="bench", row=k + 1)))
    return trades


def split_baseline(path: Path) -> float:
    start = time.perf_counter()
    rows = []
    with path.open(encoding="ascii") as fh:
        next(fh)
        for line in fh:
            f = line.split("\t")
            rows.append((float(f[2]), float(f[3]), float(f[4]), float(f[5])))
    return time.perf_counter() - start


def naive_baseline(series, trades, sample: int) -> float:
    from addin.bars import to_seconds

    times, lows, highs = list(series.times), list(series.lows), list(series.highs)
    chosen = trades[:sample]
    start = time.perf_counter()
    for t in chosen:
        a = to_seconds(t.open_time)
        b = math.inf if t.close_time is None else to_seconds(t.close_time)
        idx = [k for k, x in enumerate(times) if x + 60 > a and x <= b]
        if idx:
            min(lows[idx[0]:idx[-1] + 1]), max(highs[idx[0]:idx[-1] + 1])
    return (time.perf_counter() - start) / len(chosen) * len(trades)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=370_000)
    ap.add_argument("--trades", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    from addin.bars import read_bars, trade_excursions

    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "EURUSD_M1.csv"
        write_bars(path, args.bars, rnd)
        size_mb = path.stat().st_size / 2**20

        # timed pass (tracemalloc off: it slows every allocation several times over)
        t0 = time.perf_counter()
        series = read_bars(path)
        t1 = time.perf_counter()
        trades = make_trades(series, args.trades, rnd)  # not timed
        t2 = time.perf_counter()
        found = trade_excursions(trades, [series])
        t3 = time.perf_counter()
        # memory pass: the same job again under tracemalloc (peak of what the job allocates)
        del series, found
        tracemalloc.start()
        series = read_bars(path)
        found = trade_excursions(trades, [series])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        read_s, exc_s = t1 - t0, t3 - t2
        split_s = split_baseline(path)
        naive_s = naive_baseline(series, trades, 50)
    covered = sum(1 for f in found if f.coverage != "none")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {args.bars:,} M1 bars, {size_mb:.1f} MB; {args.trades:,} trades ({covered:,} covered by the bars)")
    print(f"read_bars          {read_s:7.3f} s   {series.ledger}")
    print(f"trade_excursions   {exc_s:7.3f} s")
    print(f"whole job          {read_s + exc_s:7.3f} s   (target < 5 s)")
    print(f"peak memory        {peak / 2**20:7.1f} MB traced for the job; process max RSS {rss_mb:.0f} MB, "
          f"file generation included (target < 500 MB)")
    print(f"baseline split     {split_s:7.3f} s   read_bars / split = {read_s / split_s:.2f}x")
    print(f"baseline naive     {naive_s:7.3f} s   (50 trades scanned bar by bar, extrapolated); "
          f"naive / trade_excursions = {naive_s / exc_s:,.0f}x")
    ok = read_s + exc_s < 5 and rss_mb < 500
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
