"""LibreOffice, headless, opens a filled journal and shows the values the build cached.

LibreOffice does not know the add-in's functions: had it recalculated on opening, every function
cell would read #NAME?. It re-saves the journal as xlsx with the values it displays, which must be
the cached values, cell for cell, on Trades, Dashboard and Planner. A CSV export of the Dashboard
(what a user sees, as formatted text) is checked too.

The balance columns use no add-in function, so LibreOffice can calculate them itself: with their
cached values removed it recalculates them (and the Dashboard's cash and balance cells) from the
Cash table and must land on what the build cached.
"""

from __future__ import annotations

import csv
import math
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from addin.journal.render import convert, render_sheet_png, soffice
from addin.journal import columns as C
from addin.journal.sample import edge_trades, sample_cash, sample_trades
from addin.journal.workbook import build_journal

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not on PATH: apt-get install libreoffice-calc"),
]


def _same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, datetime) or isinstance(b, datetime):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    path = tmp_path_factory.mktemp("lo") / "journal.xlsx"
    trades = sample_trades(200, seed=5) + edge_trades()
    build_journal(path, trades, cash=sample_cash(trades))
    return path


def test_libreoffice_shows_the_cached_values(journal, tmp_path):
    out = convert(journal, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    ours = openpyxl.load_workbook(journal, data_only=True)
    theirs = openpyxl.load_workbook(out, data_only=True)
    formulas = openpyxl.load_workbook(journal)
    count, bad = 0, []
    for title in ("Trades", "Dashboard", "Planner"):
        for row in formulas[title].iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                count += 1
                a, b = ours[title][cell.coordinate].value, theirs[title][cell.coordinate].value
                if not _same(a, b):
                    bad.append(f"{title}!{cell.coordinate}: cached {a!r}, LibreOffice {b!r}")
    assert count > 206 * 20
    assert not bad, "\n".join(bad[:20])
    assert not any(isinstance(c.value, str) and c.value.startswith(("#NAME", "Err:"))
                   for r in theirs["Trades"].iter_rows() for c in r)


def test_dashboard_as_text(journal, tmp_path):
    one = tmp_path / "dash.xlsx"
    from addin.journal.render import only_sheet
    only_sheet(journal, "Dashboard", one)
    out = convert(one, "csv:Text - txt - csv (StarCalc):44,34,76,1", tmp_path)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    text = {r[3]: r[4] for r in rows if len(r) > 4 and r[3]}
    ws = openpyxl.load_workbook(journal, data_only=True)["Dashboard"]
    assert rows[2][1] == ws["B3"].value  # the selected trade (the last one)
    assert text["Notional"] and not text["Notional"].startswith("#")
    assert text["Margin"] == f"{ws['E11'].value:,.2f}"
    assert text["Risk, % of equity"].endswith("%")


def test_render_dashboard_png(journal, tmp_path):
    png = render_sheet_png(journal, "Dashboard", tmp_path / "dash.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_a_journal_saved_by_libreoffice_reads_back(journal, tmp_path):
    """A journal a user opened and saved in another application (shared strings, relative part
    paths, 15-digit numbers) still reads back into the same trades."""
    from addin.journal.read import read_journal

    saved = convert(journal, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    want, got = read_journal(journal), read_journal(saved)
    assert len(got.trades) == len(want.trades) and got.settings == want.settings
    assert got.instruments == want.instruments and got.rejected == want.rejected
    for a, b in zip(want.trades, got.trades):
        da, db = a.model_dump(), b.model_dump()
        for k, v in da.items():
            if isinstance(v, float):
                assert math.isclose(v, db[k], rel_tol=1e-13), (a.trade_id, k)
            else:
                assert v == db[k], (a.trade_id, k)


def _strip_cached(src: Path, dest: Path, cells: dict[str, re.Pattern]) -> int:
    """Copy ``src`` with the cached value of the formula cells whose reference matches, per sheet."""
    with zipfile.ZipFile(src) as z:
        names = re.findall(r'<sheet [^>]*name="([^"]*)"', z.read("xl/workbook.xml").decode())
        parts = {f"xl/worksheets/sheet{names.index(title) + 1}.xml": pat for title, pat in cells.items()}
        stripped = 0
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                data = z.read(info.filename)
                if info.filename in parts:
                    pat = parts[info.filename]

                    def strip(m: re.Match) -> str:
                        nonlocal stripped
                        if not pat.fullmatch(m.group(1)):
                            return m.group(0)
                        stripped += 1
                        return f'<c r="{m.group(1)}"{m.group(2)}><f>{m.group(3)}</f></c>'
                    xml = re.sub(r'<c r="([A-Z]+\d+)"((?: s="\d+")?)(?: t="\w+")?><f>([^<]*)</f><v>[^<]*</v></c>',
                                 strip, data.decode())
                    data = xml.encode()
                out.writestr(info, data)
    return stripped


def test_libreoffice_recalculates_the_cash_driven_balance(journal, tmp_path):
    trades_cols = [C.letter(C.INDEX[n]) for n in ("Net P/L", "Cumulative P/L", "Cash in/out", "Balance", "Drawdown")]
    dash = openpyxl.load_workbook(journal)["Dashboard"]
    top = next(c.row for c in dash["A"] if c.value == "The account")
    dash_cells = [f"B{c.row}" for c in dash["A"]
                  if c.row > top and c.value in ("Net P/L", "Cash in/out since 1st trade", "Balance")]
    assert len(dash_cells) == 3
    bare = tmp_path / "bare.xlsx"
    n = _strip_cached(journal, bare, {"Trades": re.compile("(" + "|".join(trades_cols) + r")\d+"),
                                      "Cash": re.compile("G1"), "Dashboard": re.compile("|".join(dash_cells))})
    assert n == 5 * 206 + 1 + 3
    out = convert(bare, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    ours = openpyxl.load_workbook(journal, data_only=True)
    theirs = openpyxl.load_workbook(out, data_only=True)
    cells = [("Trades", f"{x}{r}") for x in trades_cols for r in range(2, 208)]
    cells += [("Cash", "G1")] + [("Dashboard", c) for c in dash_cells]
    bad = [f"{t}!{c}: cached {ours[t][c].value!r}, LibreOffice {theirs[t][c].value!r}" for t, c in cells
           if not _same(ours[t][c].value, theirs[t][c].value)]
    assert not bad, "\n".join(bad[:20])
    flows = {theirs["Trades"][f"{trades_cols[2]}{r}"].value for r in range(2, 208)}
    assert len(flows) >= 4  # the deposits, the credit and the withdrawal each move the balance
