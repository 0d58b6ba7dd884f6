"""How much the Excel layer costs on top of the arithmetic: a plain script, not a test.

    /tmp/venv/bin/python bench/bench_udfs.py

Array cases: one call of POSITION_SIZE, WIPEOUT_PIPS and MARGIN_REQUIRED over 100,000 rows, each
range passed as xlwings passes it (a list of one-item rows of floats), against a bare Python loop of
the same formula with no validation over the very same lists (reading ``r[0]``, building a list).
Scalar cases: one single-cell call through the Excel layer against the bare function of
:mod:`addin.risk`. Both sides are measured in the same run, best of several repeats
(time.perf_counter). Prints a table and exits 1 when a target is missed.
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addin import risk  # noqa: E402
from addin.udfs import LEVERAGE, MARGIN_REQUIRED, POSITION_SIZE, WIPEOUT_PIPS  # noqa: E402

ROWS = 100_000
REPEATS = 5
ARRAY_RATIO = 3.0      # at most 3x the bare loop
ARRAY_SECONDS = 0.25   # and under a quarter of a second
SCALAR_RATIO = 3.0     # a single cell at most 3x the bare risk function
SCALAR_CALLS = 20_000  # calls per timed scalar repeat


def best(fn, repeats: int = REPEATS) -> float:
    """Fastest of ``repeats`` runs of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def per_call(fn, calls: int = SCALAR_CALLS) -> float:
    """Seconds per call of ``fn()``, best of the repeats of ``calls`` calls."""
    def loop():
        for _ in range(calls):
            fn()
    return best(loop) / calls


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

    # --- array cases: ours vs the bare formula over the same lists ---------------------------------
    def ours_position_size():
        return POSITION_SIZE(risk_col, entry_col, stop_col, [[point_value]], [[lot_step]])

    def bare_position_size():
        # risk / (stop distance x point value + commission), rounded down to the lot step the way
        # risk.round_down does it (floor with a 1e-9 tolerance, then round() to the step's digits).
        floor, tol, commission = math.floor, 1 + 1e-9, 0.0
        digits = max(0, -math.floor(math.log10(lot_step))) + 6
        return [round(floor(r[0] / (abs(e[0] - s[0]) * point_value + commission) / lot_step * tol) * lot_step, digits)
                for r, e, s in zip(risk_col, entry_col, stop_col)]

    def ours_wipeout_pips():
        return WIPEOUT_PIPS(margin_col, qty_col, [[pip]], [[contract]])

    def bare_wipeout_pips():
        return [m[0] / (abs(q[0]) * contract * pip * fx) for m, q in zip(margin_col, qty_col)]

    def ours_margin_required():
        return MARGIN_REQUIRED(qty_col, entry_col, lev_col, [[contract]])

    def bare_margin_required():
        return [abs(q[0]) * contract * p[0] * fx / lev[0] for q, p, lev in zip(qty_col, entry_col, lev_col)]

    # The two sides must agree, number for number, before their times mean anything.
    for ours, bare in ((ours_position_size, bare_position_size), (ours_wipeout_pips, bare_wipeout_pips),
                       (ours_margin_required, bare_margin_required)):
        got, want = ours(), bare()
        assert len(got) == len(want) == ROWS
        assert [g[0] for g in got] == want, f"{ours.__name__} and its baseline disagree"

    results = []  # (case, ours, baseline, ratio, target text, passed)
    for case, ours, bare in (
        (f"POSITION_SIZE {ROWS:,} rows", ours_position_size, bare_position_size),
        (f"WIPEOUT_PIPS {ROWS:,} rows", ours_wipeout_pips, bare_wipeout_pips),
        (f"MARGIN_REQUIRED {ROWS:,} rows", ours_margin_required, bare_margin_required),
    ):
        # Interleave the two sides so that machine noise hits both alike.
        t_ours, t_bare = math.inf, math.inf
        for _ in range(REPEATS):
            t_bare = min(t_bare, best(bare, 1))
            t_ours = min(t_ours, best(ours, 1))
        ratio = t_ours / t_bare
        passed = ratio <= ARRAY_RATIO and t_ours < ARRAY_SECONDS
        results.append((case, f"{t_ours * 1e3:8.1f} ms", f"{t_bare * 1e3:8.1f} ms", ratio,
                        f"<= {ARRAY_RATIO:g}x, < {ARRAY_SECONDS * 1e3:g} ms", passed))

    # --- scalar cases: one cell through the Excel layer vs the bare risk function -----------------
    scalar_cases = (
        ("LEVERAGE(0.02)", lambda: LEVERAGE(0.02), lambda: risk.leverage(0.02)),
        ("LEVERAGE([[0.02]])", lambda: LEVERAGE([[0.02]]), lambda: risk.leverage(0.02)),
        ("MARGIN_REQUIRED(10000, 1.1, 50)", lambda: MARGIN_REQUIRED(10_000.0, 1.1, 50.0),
         lambda: risk.margin_required(10_000.0, 1.1, 50.0)),
        ("MARGIN_REQUIRED([[..]] cells)", lambda: MARGIN_REQUIRED([[10_000.0]], [[1.1]], [[50.0]]),
         lambda: risk.margin_required(10_000.0, 1.1, 50.0)),
        ("POSITION_SIZE(100, 1.1, 1.095, 1e5, 0.01)", lambda: POSITION_SIZE(100.0, 1.1, 1.095, 1e5, 0.01),
         lambda: risk.position_size(100.0, 1.1, 1.095, 1e5, 0.01)),
    )
    for case, ours, bare in scalar_cases:
        assert ours() == bare(), case
        t_ours, t_bare = math.inf, math.inf
        for _ in range(REPEATS):
            t_bare = min(t_bare, per_call(bare, SCALAR_CALLS // REPEATS))
            t_ours = min(t_ours, per_call(ours, SCALAR_CALLS // REPEATS))
        ratio = t_ours / t_bare
        results.append((case, f"{t_ours * 1e6:8.2f} us", f"{t_bare * 1e6:8.2f} us", ratio,
                        f"<= {SCALAR_RATIO:g}x", ratio <= SCALAR_RATIO))

    width = max(len(r[0]) for r in results)
    print(f"{'case':<{width}}  {'ours':>11}  {'baseline':>11}  {'ratio':>6}  {'target':<22}  result")
    for case, ours, base, ratio, target, passed in results:
        print(f"{case:<{width}}  {ours:>11}  {base:>11}  {ratio:5.2f}x  {target:<22}  {'PASS' if passed else 'FAIL'}")
    failed = [r[0] for r in results if not r[5]]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
