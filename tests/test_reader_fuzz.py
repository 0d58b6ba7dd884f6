"""Damaged copies of every real export: cut at many points, bytes changed, rows repeated.

What must hold for every damaged copy, whatever the reader:

* never a traceback: the reader returns a Statement or raises StatementError (the fill then
  exits != 0 with the journal unchanged);
* the row ledger balances (``seen == trade rows + non-trade rows + rejected``);
* never a silently shorter import: when a Statement comes back, its trade + rejected rows are at
  least those the intact file has in the part that is left --
  - a copy cut at byte n: every trade or rejected row of the intact file that starts before n
    (a CSV cut inside its last record, HTML/XML/XLSX cut anywhere before the closing tags are
    refused as a whole; a cut exactly at a line end leaves a shorter but whole CSV, which no
    reader can tell from a complete one unless the format prints totals);
  - a repeated row: at least all the intact file's;
  - k changed bytes: at least the intact count minus k (one changed byte can glue two rows
    into one, which is then rejected), unless the reader reports a totals mismatch, which the
    fill prints with both figures.

Cut points are every byte of a small file and an even sample (plus both sides of line ends) of a
long one; mutations are seeded, so a failure names a case that reproduces. The whole set is
bounded to well under a minute on the 2-core CI machine.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from addin.statements import detect, generic_csv
from addin.statements.model import Statement, StatementError

from conftest import ROOT, STATEMENTS

EXAMPLE_CSV = ROOT / "addin" / "samples" / "example_trades.csv"
EXAMPLE_MAPPING = ROOT / "addin" / "statements" / "example_mapping.json"
SAMPLE = ROOT / "addin" / "samples" / "sample_statement.htm"

FORMATS = ("mt4_statement_html", "mt5_report", "ibkr_flex_xml", "ibkr_activity_statement_csv",
           "tradingview_list_of_trades_csv", "tradovate_performance_csv")
# (cut points, mutations) by file size: reading the 1.3 MB MT5 report takes ~0.5 s
BUDGET = ((1_500, None, 24), (40_000, 80, 16), (400_000, 40, 8), (None, 12, 4))


def _exports() -> list[Path]:
    found = [SAMPLE, EXAMPLE_CSV]
    if STATEMENTS.is_dir():
        for folder in FORMATS:
            found += sorted((STATEMENTS / folder).glob("*"))
    return found


def _id(path: Path) -> str:
    return path.name[:48]


def _reader(path: Path):
    if path == EXAMPLE_CSV:
        return lambda p: generic_csv.read(p, mapping=EXAMPLE_MAPPING)
    return detect(path).read


def _read(read, path: Path) -> Statement | StatementError:
    try:
        st = read(path)
    except StatementError as exc:
        assert str(exc).strip(), "a StatementError says what is wrong"
        return exc
    assert st.ledger is not None and st.ledger.balanced, f"ledger does not balance: {st.ledger}"
    return st


def _accounted(st: Statement) -> int:
    return st.ledger.trade_rows + st.ledger.rejected


def _budget(size: int) -> tuple[int | None, int]:
    for limit, cuts, mutations in BUDGET:
        if limit is None or size <= limit:
            return cuts, mutations
    raise AssertionError


def _cut_points(data: bytes, cuts: int | None, rng: random.Random) -> list[int]:
    if cuts is None:
        return list(range(1, len(data)))
    points = {len(data) * k // cuts for k in range(1, cuts)}
    ends = [i + 1 for i in range(len(data)) if data[i:i + 1] == b"\n"]
    for i in rng.sample(ends, min(len(ends), cuts // 4)):
        points.update((i - 1, i, i + 1))
    return sorted(p for p in points if 0 < p < len(data))


def _rows_started_before(intact: Statement, data: bytes, cut: int) -> int:
    """Trade/rejected rows of the intact file whose line begins before byte ``cut`` (CSV)."""
    prefix = data[:cut]
    lines_begun = prefix.count(b"\n") + (0 if prefix.endswith(b"\n") else 1)
    return sum(1 for _, row in intact.trade_or_rejected_rows() if row <= lines_begun)


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _params():
    exports = _exports()
    if len(exports) <= 2:
        return [pytest.param(p, id=_id(p)) for p in exports] + [pytest.param(
            None, marks=pytest.mark.skip(reason=f"real broker exports not available: {STATEMENTS} does not exist "
                                                "(only the bundled samples are fuzzed)"))]
    return [pytest.param(p, id=_id(p)) for p in exports]


@pytest.mark.parametrize("path", _params())
def test_every_cut_of_the_file_is_refused_or_accounts_for_what_is_left(path, tmp_path):
    read = _reader(path)
    data = path.read_bytes()
    intact = _read(read, path)
    assert isinstance(intact, Statement), f"the intact file must read: {intact}"
    cuts, _ = _budget(len(data))
    rng = random.Random(len(data))
    damaged = tmp_path / path.name
    refused = kept = 0
    for cut in _cut_points(data, cuts, rng):
        damaged.write_bytes(data[:cut])
        got = _read(read, damaged)
        if isinstance(got, StatementError):
            refused += 1
            continue
        kept += 1
        if _is_csv(path):
            need = _rows_started_before(intact, data, cut)
        else:
            need = _accounted(intact)  # HTML/XML/XLSX: refused unless nothing that matters was cut
        assert _accounted(got) >= need, (
            f"cut at byte {cut} of {len(data)}: {_accounted(got)} trade/rejected rows, the intact file has "
            f"{need} in what is left; ledger {got.ledger}; rejected {[r.reason for r in got.rejected][:3]}")
    assert refused + kept > 0


@pytest.mark.parametrize("path", _params())
def test_changed_bytes_and_repeated_rows_never_lose_rows_silently(path, tmp_path):
    read = _reader(path)
    data = path.read_bytes()
    intact = _read(read, path)
    assert isinstance(intact, Statement)
    _, mutations = _budget(len(data))
    rng = random.Random(7 * len(data) + 1)
    damaged = tmp_path / path.name
    lines = data.splitlines(keepends=True)
    for case in range(mutations):
        what = case % 3
        if what == 0 and len(lines) > 2:  # repeat one row (a statement saved twice, lines pasted twice)
            k = rng.randrange(1, len(lines))
            mutated = b"".join(lines[:k + 1] + [lines[k]] + lines[k + 1:])
            allowed_loss = 0
            how = f"line {k + 1} repeated"
        else:  # change, drop or add 1-3 bytes
            mutated = bytearray(data)
            n = rng.randint(1, 3)
            for _ in range(n):
                at = rng.randrange(len(mutated))
                byte = rng.choice(b'\n\r",;<>/\x00 0123456789.-abcXYZ\xff\xfe')
                op = rng.randrange(3)
                if op == 0:
                    mutated[at] = byte
                elif op == 1:
                    del mutated[at]
                else:
                    mutated.insert(at, byte)
            mutated = bytes(mutated)
            allowed_loss = n
            how = f"{n} bytes changed (seed case {case})"
        damaged.write_bytes(mutated)
        got = _read(read, damaged)
        if isinstance(got, StatementError):
            continue
        if got.mismatches:
            continue  # reported with both figures: not silent
        assert _accounted(got) >= _accounted(intact) - allowed_loss, (
            f"{how}: {_accounted(got)} trade/rejected rows, the intact file has {_accounted(intact)}; "
            f"ledger {got.ledger}")
