"""Benchmark: what the per-account running figures cost a recalculation, counted in cells read.

    python bench/bench_accounts.py [N ...]        (default N: 1000 10000)

The Trades running columns (Cumulative P/L, Peak P/L) add a row's figure to the row above's when
that row is of the same account: O(1), a few cells. A row whose row above is another account's
(or blank, or inserted) takes the long way: its account's sums over the ranges from the header to
itself (SUMPRODUCT, COUNTIFS, LOOKUP over every row above). The cost model: a range operand of
SUMPRODUCT, COUNTIFS, COUNT, MAX or LOOKUP reads every cell it covers; INDEX(range, ROWS(range))
reads one. The operands are counted from the formulas themselves (addin/journal/columns.py), and the
path each row takes from the same rule the formulas and their twins follow.

For N trades in one account, in 2 accounts traded in turn (the worst case: every row's row above is
the other account's), and in 5 accounts in blocks of 20 trades, printed: rows on the long way, cells
read by a full recalculation of the two columns, the ratio to one account, and the cells read when
a trade is typed at the bottom. Target: one account takes the long way on its first row only (the
cost of a journal of one account is what it was before accounts), and typing a trade at the bottom
recalculates that row only (its cells read are those of one row, whatever it costs).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addin.journal import columns as C  # noqa: E402

RANGE = re.compile(r"\{(to|prev):[^{}]+\}")
FAST_CELLS = 12  # the fast path: this row's cells and INDEX(...) of the row above, a dozen cells at most


def _range_operands(formula: str) -> int:
    """Range operands read in full: every {to:...}/{prev:...} placeholder that is not the argument
    of INDEX(range,ROWS(range)) (one cell) or ROWS(range) (no cell read)."""
    text = re.sub(r"INDEX\((\{(?:to|prev):[^{}]+\}),ROWS\(\1\)(-1)?\)", "", formula)
    text = re.sub(r"ROWS\(\{(?:to|prev):[^{}]+\}\)", "", text)
    return len(RANGE.findall(text))


# The long way of each column: the operands its slow branch evaluates.
SLOW = {
    "Cumulative P/L": _range_operands(C._SUM_NET) + 1,  # + MAX over No.
    "Peak P/L": (_range_operands(C._OOO_ABOVE) + 2  # COUNTIFS over Entry, COUNT over the cumulative column
                 + _range_operands(C._OTHERS) + max(1, _range_operands(C._LAST_PEAK))),
}


def layout(n: int, accounts: int, block: int) -> list[str]:
    """The account of each of ``n`` rows: ``accounts`` accounts in turns of ``block`` trades."""
    return [f"A{(i // block) % accounts}" for i in range(n)]


def cost(keys: list[str]) -> tuple[int, int]:
    """(rows on the long way, cells read) for both running columns over the table."""
    slow = cells = 0
    for i, k in enumerate(keys):
        if i == 0 or keys[i - 1] != k:
            slow += 1
            cells += sum(SLOW.values()) * (i + 2)  # the ranges from the header (row 1) to this row
        else:
            cells += 2 * FAST_CELLS
    return slow, cells


def main(sizes: list[int]) -> int:
    ok = True
    print(f"range operands on the long way: {SLOW}")
    print(f"{'N':>7} {'accounts':>22} {'long-way rows':>14} {'cells read':>14} {'x one account':>14} "
          f"{'typed at bottom':>16}")
    for n in sizes:
        base = None
        for label, keys in (("1", layout(n, 1, n)), ("2, in turn", layout(n, 2, 1)),
                            ("5, blocks of 20", layout(n, 5, 20))):
            slow, cells = cost(keys)
            base = base or cells
            # a trade typed at the bottom: one row, of the last row's account (fast) or another's (slow)
            same = 2 * FAST_CELLS
            other = sum(SLOW.values()) * (n + 2)
            print(f"{n:>7} {label:>22} {slow:>14,} {cells:>14,} {cells / base:>14.1f} "
                  f"{same:>7,} / {other:,}")
            if label == "1" and slow != 1:
                ok = False
    print("one account takes the long way on its first row only" if ok else "TARGET MISSED: one account takes the long way")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [1000, 10000]))
