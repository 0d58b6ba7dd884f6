"""Benchmark: what the Stats and Account sheets cost, in the build and in a spreadsheet's recalculation.

    python bench/bench_stats.py [N ...]     (default 1000 10000)

For each journal size N (sample trades, 20 symbols, every fourth trade with a setup, tags on most):

* build: ``build_journal`` with and without the Stats and Account sheets (their builders swapped
  for no-ops), the ratio of the two times, and the share of the build spent in them;
* counts: the Stats sheet's formula cells, and its add-in calls (0: the journal's cost model);
* recalculation: LibreOffice opening the journal with every cached value in place (the baseline:
  it calculates nothing), against the same file with the Stats sheet's cached values removed, so
  it calculates every Stats cell over the N Trades rows. The difference is the sheet's full
  recalculation in LibreOffice, a proxy for Excel's (which has no headless mode here).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main(sizes: list[int]) -> None:
    import openpyxl

    from addin import udfs
    from addin.journal import account as A
    from addin.journal import stats as S
    from addin.journal import workbook as W
    from tools.render_docs import convert, soffice
    from tools.sample_trades import sample_trades
    from test_journal_stats import strip_cached

    names = {n for n in dir(udfs) if n.isupper()}
    for n in sizes:
        trades = sample_trades(n, seed=42)
        original = W.trades_sheet.input_columns

        def labelled(ts, inst):
            cols = original(ts, inst)
            cols["Setup"] = [("breakout", None, "pullback", "range")[i % 4] for i in range(len(ts))]
            cols["Tags"] = [("news", "london, news", None, "asia")[i % 4] for i in range(len(ts))]
            return cols
        W.trades_sheet.input_columns = labelled
        with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
            tmp = Path(tmp)
            full = tmp / "full.xlsx"
            t0 = time.perf_counter()
            W.build_journal(full, trades)
            t_full = time.perf_counter() - t0
            spent = [0.0]
            sheets = list(W.SHEETS)
            measured = {S.TITLE, A.TITLE}

            def swap(make):  # the Stats and Account builders replaced by make(builder)
                W.SHEETS[:] = [(t, make(b) if t in measured else b) for t, b in sheets]

            def timed(fn):
                def run(*a, **k):
                    t = time.perf_counter()
                    try:
                        return fn(*a, **k)
                    finally:
                        spent[0] += time.perf_counter() - t
                return run
            swap(timed)
            W.build_journal(tmp / "again.xlsx", trades)
            swap(lambda b: lambda *a, **k: None)
            t0 = time.perf_counter()
            W.build_journal(tmp / "bare.xlsx", trades)  # no Account result: the Planner adds no context
            t_bare = time.perf_counter() - t0
            W.SHEETS[:] = sheets
            W.trades_sheet.input_columns = original

            ws = openpyxl.load_workbook(full)["Stats"]
            formulas = [str(getattr(c.value, "text", c.value)) for row in ws.iter_rows() for c in row
                        if str(getattr(c.value, "text", c.value)).startswith("=")]
            calls = sum(len(set(re.findall(r"([A-Z][A-Z0-9_]*)\(", f)) & names) for f in formulas)
            print(f"N={n}: build {t_full:.2f} s with Stats+Account, {t_bare:.2f} s without "
                  f"(ratio {t_full / t_bare:.2f}); their builders {spent[0]:.2f} s of {t_full:.2f} s")
            print(f"N={n}: Stats formula cells {len(formulas)}, add-in calls in them {calls}")
            if soffice() is None:
                print("LibreOffice not installed: recalculation not measured")
                continue
            try:
                t0 = time.perf_counter()
                convert(full, "xlsx:Calc MS Excel 2007 XML", tmp / "lo1", timeout=900)
                t_cached = time.perf_counter() - t0
                stripped = tmp / "stripped.xlsx"
                k = strip_cached(full, stripped, {"Stats": re.compile(r".*")})
                t0 = time.perf_counter()
                convert(stripped, "xlsx:Calc MS Excel 2007 XML", tmp / "lo2", timeout=900)
                t_recalc = time.perf_counter() - t0
            except subprocess.TimeoutExpired as exc:
                print(f"N={n}: LibreOffice took longer than {exc.timeout:.0f} s")
                continue
            print(f"N={n}: LibreOffice open+save {t_cached:.2f} s with cached values, {t_recalc:.2f} s "
                  f"calculating the {k} Stats cells (ratio {t_recalc / t_cached:.2f}; the Stats sheet's full "
                  f"recalculation ~{t_recalc - t_cached:.2f} s)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
