"""Fills that run at the same time, fills killed half-way, and random trader edits between fills."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from test_fill import ROOT
from test_fill_edits import EXAMPLE, MAPPING, _later, header, row_of, trade_ids

from addin.fill import fill_journal
from addin.fill.backups import backups
from journal_reader import read_journal


def _renumbered(tmp_path: Path, prefix: str) -> Path:
    """The example export with other ticket numbers: another account's trades."""
    out = tmp_path / f"trades_{prefix}.csv"
    out.write_text(EXAMPLE.read_text().replace("50123", prefix))
    return out


def _command(statement: Path, journal: Path) -> list[str]:
    return [sys.executable, "-m", "addin", "fill", str(statement), "--format", "csv", "--mapping", str(MAPPING),
            "--journal", str(journal), "--no-progress"]


def test_fills_started_together_all_land_none_lost(tmp_path):
    journal = tmp_path / "j.xlsx"
    fill_journal([EXAMPLE], journal, fmt="csv", mapping=MAPPING, progress=False)
    statements = [_renumbered(tmp_path, p) for p in ("60123", "70123", "80123")]
    procs = [subprocess.Popen(_command(s, journal), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for s in statements]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    for out, err, rc in results:
        assert rc == 0, err  # each waited for the lock of the one before it
    ids = trade_ids(journal)
    base = [i for i in ids if i.startswith("50123")]
    for prefix in ("60123", "70123", "80123"):
        assert sorted(i.replace(prefix, "50123") for i in ids if i.startswith(prefix)) == sorted(base)
    assert len(ids) == len(set(ids)) == 4 * len(base)
    assert len(backups(journal)) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_fill_killed_at_random_points_leaves_the_old_or_the_new_journal(tmp_path):
    from tools.make_sample_statement import write_mt4_statement

    big = write_mt4_statement(tmp_path / "big.htm", trades=3000, seed=5)
    base = tmp_path / "base.xlsx"
    fill_journal([EXAMPLE], base, fmt="csv", mapping=MAPPING, progress=False)
    old = {t.key for t in read_journal(base).trades}
    # How long the whole fill takes here (the machine may be busy): kills fall anywhere in it.
    timed = tmp_path / "timed"
    timed.mkdir()
    shutil.copy(base, timed / "j.xlsx")
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "addin", "fill", str(big), "--journal", str(timed / "j.xlsx"),
                    "--no-progress"], cwd=ROOT, check=True, capture_output=True)
    took = time.monotonic() - start
    rnd = random.Random(20261129)
    outcomes = []
    for k in range(4):
        folder = tmp_path / f"run{k}"
        folder.mkdir()
        journal = folder / "j.xlsx"
        shutil.copy(base, journal)
        fill_journal([EXAMPLE], journal, fmt="csv", mapping=MAPPING, progress=False)  # no change: no backup
        proc = subprocess.Popen([sys.executable, "-m", "addin", "fill", str(big), "--journal", str(journal),
                                 "--no-progress"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.2, 1.05) * took)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        keys = {t.key for t in read_journal(journal).trades}  # it opens...
        assert keys == old or (old < keys and len(keys) == len(old) + 3001), "...with the old or the new content"
        outcomes.append("new" if keys != old else "old")
        for b in backups(journal):
            assert zipfile.ZipFile(b).testzip() is None
            check = tmp_path / "backup-as-xlsx.xlsx"  # openpyxl reads only .xlsx names
            shutil.copy(b, check)
            assert {t.key for t in read_journal(check).trades} == old
            check.unlink()
        # the next fill takes the dead fill's lock, sweeps its temporary files and succeeds
        fill_journal([EXAMPLE], journal, fmt="csv", mapping=MAPPING, progress=False)
        left = sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
        assert left == [], left
    print("kill outcomes:", outcomes, f"(a whole fill took {took:.1f} s)")


# ---------------------------------------------------------------------------------------------
# Random trader edits interleaved with re-fills: no trader value lost or moved to another trade
# ---------------------------------------------------------------------------------------------

TRADER_COLUMNS = ("Setup", "Tags", "Mistakes", "Notes", "Screenshot", "Stop", "Target")
words = st.text(alphabet="abcdefghij klmnop=+-@#;,'\"é中", min_size=1, max_size=12).filter(lambda s: s.strip())
edit = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 20), st.sampled_from(TRADER_COLUMNS), words),
    st.tuples(st.just("delete"), st.integers(0, 20), st.none(), st.none()),
    st.tuples(st.just("setting"), st.integers(0, 0), st.sampled_from(["1.5%", "0.02", "2 %"]), st.none()),
    st.tuples(st.just("refill"), st.integers(0, 1), st.none(), st.none()),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=st.lists(edit, min_size=1, max_size=5))
def test_random_trader_edits_survive_every_refill(tmp_path_factory, ops):
    folder = tmp_path_factory.mktemp("prop")
    journal = folder / "j.xlsx"
    fill_journal([EXAMPLE], journal, fmt="csv", mapping=MAPPING, progress=False)
    later = _later(folder, stop="147.300")
    typed: dict[tuple[str, str], object] = {}
    deleted: set[str] = set()
    setting = None

    def check():
        wb = load_workbook(journal)
        ws = wb["Trades"]
        h = header(ws)
        ids = [str(ws.cell(r, h["Trade ID"]).value) for r in range(2, ws.max_row + 1)]
        for tid in deleted:
            assert tid not in ids, f"deleted trade {tid} came back"
        for (tid, col), v in typed.items():
            if tid in deleted:
                continue
            assert ws.cell(row_of(ws, tid), h[col]).value == v, (tid, col)
        if setting is not None:
            assert wb["Settings"]["B7"].value == setting
        wb.close()

    for kind, k, col, value in ops:
        if kind == "refill":
            fill_journal([EXAMPLE if k == 0 else later], journal, fmt="csv", mapping=MAPPING, progress=False)
            check()
            continue
        wb = load_workbook(journal)
        ws = wb["Trades"]
        h = header(ws)
        live = [str(ws.cell(r, h["Trade ID"]).value) for r in range(2, ws.max_row + 1)
                if ws.cell(r, h["Trade ID"]).value is not None]
        if kind == "setting":
            wb["Settings"]["B7"] = col
            setting = col
        elif live:
            tid = live[k % len(live)]
            r = row_of(ws, tid)
            if kind == "cell":
                v = round(random.Random(value).uniform(100, 200), 3) if col in ("Stop", "Target") else value
                ws.cell(r, h[col], v)
                typed[(tid, col)] = v
            else:
                ws.delete_rows(r)
                t = ws.tables["Trades"]
                a, b = t.ref.split(":")
                last = int("".join(ch for ch in b if ch.isdigit()))
                letters = "".join(ch for ch in b if ch.isalpha())
                t.ref = f"{a}:{letters}{max(last - 1, 2)}"
                t.autoFilter.ref = t.ref
                deleted.add(tid)
        wb.save(journal)
    fill_journal([EXAMPLE, later], journal, fmt="csv", mapping=MAPPING, progress=False)
    check()
    assert not [p for p in os.listdir(folder) if p.startswith(".")]
