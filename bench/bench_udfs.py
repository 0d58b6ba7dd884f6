"""What the Excel layer costs for a whole column: a plain script, not a test.

    python bench/bench_udfs.py

One call of POSITION_SIZE, WIPEOUT_PIPS and MARGIN_REQUIRED over 100,000 rows, each range passed as
xlwings passes it (a list of one-item rows of floats), must take under a quarter of a second: the
absolute target a trader feels when a spilled column recalculates. The per-cell overhead of a single
call is not measured: Excel spends milliseconds on each call of an add-in function, so the Excel
layer's microseconds do not show. Best of several repeats (time.perf_counter); each answer is checked
against the risk function called row by row before its time counts. Prints a table and exits 1 when a
target is missed.
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addin import risk  # noqa: E402
from addin.udfs import MARGIN_REQUIRED, POSITION_SIZE, WIPEOUT_PIPS  # noqa: E402

ROWS = 100_000
REPEATS = 5
ARRAY_SECONDS = 0.25   # one call over 100,000 rows: under a quarter of a second


def best(fn, repeats: int = REPEATS) -> float:
    """Fastest of ``repeats`` runs of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def column(values: list[float]) -> list[list[float]]:
    """A range as xlwings passes it with ndim=2: one single-item list per row."""
    return [[v] for v in values]


def main() -> int:
    rnd = random.Random(20260101)
    # Realistic inputs: EUR/USD-like prices, stops 10-300 pips away, risk $10-$1,000, margins, lots.
    entries = [round(rnd.uniform(1.0, 1.3), 5) for _ in range(ROWS)]
    stops = [round(e - rnd.choice((-1, 1)) * rnd.uniform(0.0010, 0.0300), 5) for e in entries]
    risks = [round(rnd.uniform(10, 1_000), 2) for _ in range(ROWS)]
    margins = [round(rnd.uniform(50, 5_000), 2) for _ in range(ROWS)]
    quantities = [round(rnd.uniform(0.01, 10), 2) for _ in range(ROWS)]
    leverages = [float(rnd.choice((2, 5, 10, 20, 30, 50, 100))) for _ in range(ROWS)]

    entry_col, stop_col, risk_col = column(entries), column(stops), column(risks)
    margin_col, qty_col, lev_col = column(margins), column(quantities), column(leverages)
    point_value, lot_step, contract, pip, fx = 100_000.0, 0.01, 100_000.0, 0.0001, 1.0  # fx: the default

    def ours_position_size():
        return POSITION_SIZE(risk_col, entry_col, stop_col, [[point_value]], [[lot_step]])

    def ours_wipeout_pips():
        return WIPEOUT_PIPS(margin_col, qty_col, [[pip]], [[contract]])

    def ours_margin_required():
        return MARGIN_REQUIRED(qty_col, entry_col, lev_col, [[contract]])

    # The answers must be the risk functions' own, row by row, before their times mean anything.
    expected = {
        ours_position_size: [risk.position_size(r, e, s, point_value, lot_step) for r, e, s in zip(risks, entries, stops)],
        ours_wipeout_pips: [risk.wipeout_pips(m, q, pip, contract, fx) for m, q in zip(margins, quantities)],
        ours_margin_required: [risk.margin_required(q, p, lev, contract) for q, p, lev in zip(quantities, entries, leverages)],
    }
    for ours, want in expected.items():
        got = ours()
        assert [g[0] for g in got] == want, f"{ours.__name__} disagrees with the risk function"

    results = []  # (case, time, passed)
    for case, ours in (
        (f"POSITION_SIZE {ROWS:,} rows", ours_position_size),
        (f"WIPEOUT_PIPS {ROWS:,} rows", ours_wipeout_pips),
        (f"MARGIN_REQUIRED {ROWS:,} rows", ours_margin_required),
    ):
        t_ours = best(ours)
        results.append((case, t_ours, t_ours < ARRAY_SECONDS))

    width = max(len(r[0]) for r in results)
    print(f"{'case':<{width}}  {'time':>10}  {'target':<10}  result")
    for case, t, passed in results:
        print(f"{case:<{width}}  {t * 1e3:7.1f} ms  {'< ' + format(ARRAY_SECONDS * 1e3, 'g') + ' ms':<10}  "
              f"{'PASS' if passed else 'FAIL'}")
    failed = [r[0] for r in results if not r[2]]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
