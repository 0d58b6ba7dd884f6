"""A journal saved once by LibreOffice itself, then filled again.

LibreOffice rewrites the whole package when it saves an .xlsx: it drops the tables'
calculatedColumnFormula entries, renumbers styles, and writes its own sheet XML. The next fill must
still give every new trade all the program's calculated columns (from the schema, not from the
table XML) and write cached values that LibreOffice's
own recalculation agrees with (Stats counts every closed trade).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_fill_routes import split_sample
from lo_uno import office
from test_journal_locales import _uno_available

from addin.fill import fill_journal
from addin.journal import columns as C

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not _uno_available(),
                       reason="LibreOffice with python3-uno is not installed: apt-get install libreoffice-calc"),
]


def lo(job: dict, folder: Path) -> dict | None:
    """One LibreOffice job (see tests/lo_uno.py) in the session's LibreOffice; its dump, if any."""
    return office().run(job)


def test_a_journal_saved_by_libreoffice_gets_every_formula_on_the_next_fills_trades(tmp_path):
    first, second = split_sample(tmp_path)[1:]
    journal = tmp_path / "J.xlsx"
    fill_journal([first], journal, progress=False)
    # The trader opens the journal in LibreOffice and saves it there.
    wb = load_workbook(journal)
    ws = wb["Trades"]
    n_before = ws.max_row
    wb.close()
    saved = tmp_path / "Saved.xlsx"
    lo({"input": str(journal), "steps": [["calculate_all"]], "save": str(saved)}, tmp_path)
    with zipfile.ZipFile(saved) as zf:
        tables = [zf.read(n) for n in zf.namelist() if n.startswith("xl/tables/")]
    assert not any(b"calculatedColumnFormula" in t for t in tables)  # what LibreOffice does

    report = fill_journal([second], saved, progress=False)
    added = report.files[0].added
    assert added >= 15
    wb = load_workbook(saved)
    ws = wb["Trades"]
    header = [c.value for c in ws[1]]
    last = ws.max_row
    assert last == n_before + added
    for row in range(n_before + 1, last + 1):
        for col in C.CALCS:
            cell = ws.cell(row, header.index(col.name) + 1)
            assert isinstance(cell.value, str) and cell.value.startswith("="), (row, col.name, cell.value)
    assert ws.cell(last, header.index("Net P/L") + 1).value == "=" + C.row_formula(C.BY_NAME["Net P/L"], last)
    wb.close()

    # LibreOffice's own recalculation agrees with the cached values the fill wrote, on Trades and Stats.
    ours = load_workbook(saved, data_only=True)
    dump = lo({"input": str(saved), "steps": [["calculate_all"]], "dump": str(tmp_path / "d.json")}, tmp_path)
    bad = []
    for sheet in ("Trades", "Stats"):
        ws = ours[sheet]
        for ref, (kind, value, text, formula) in dump[sheet]["cells"].items():
            if formula is None:
                continue
            cached = ws[ref].value
            if kind == "n" and isinstance(cached, (int, float)) and not isinstance(cached, bool):
                if abs(cached - value) > 1e-6 * max(1.0, abs(value)):
                    bad.append((sheet, ref, cached, value))
            elif kind == "e":
                bad.append((sheet, ref, cached, text))
    ours.close()
    assert not bad, bad[:10]
    closed = sum(1 for r in load_workbook(saved, read_only=True)["Trades"].iter_rows(min_row=2, values_only=True)
                 if r[header.index("Exit")] is not None and r[header.index("Profit")] is not None)
    assert dump["Stats"]["cells"]["B4"][1] == closed
