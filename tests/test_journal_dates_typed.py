"""A date typed as text the spreadsheet cannot read affects its own row only, and that row says so.

A trader types "31/02/2025 10:00" (no such day) or "yesterday" into Open time or Close time:
LibreOffice (and Excel) keep it as text. The journal must then compute every other row and every
summary as if that cell were empty, and the row itself must say why its time counts for nothing.
The text is typed through LibreOffice (UNO's setFormula parses input as typing does, see
tests/lo_uno.py), the workbook is recalculated (Ctrl+Shift+F9), and the result is compared with the
same journal whose cells were cleared instead.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from addin.fill import fill_journal
from addin.journal import columns as C
from addin.journal.schema import letter
from addin.journal.workbook import build_journal
from test_journal_locales import _uno_available, run_lo
from tools.sample_trades import sample_cash, sample_trades
from conftest import STATEMENTS

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not _uno_available(),
                       reason="LibreOffice with python3-uno is not installed: apt-get install libreoffice-calc"),
]

OPEN, CLOSE, SOURCE = (letter(C.INDEX[k]) for k in ("Open time", "Close time", "Leverage source"))
# (cell, typed text): an impossible day in Open time, a word in another row's Close time.
TYPED = ((f"{OPEN}5", "31/02/2025 10:00"), (f"{OPEN}9", "yesterday"), (f"{CLOSE}7", "31/02/2025 10:00"))
SUMMARIES = ("Stats", "Dashboard", "Account")


@pytest.fixture(scope="module")
def journal(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dates") / "journal.xlsx"
    trades = sample_trades(40, seed=3)
    build_journal(path, trades, cash=sample_cash(trades))
    return path


@pytest.fixture(scope="module")
def typed_and_cleared(journal, tmp_path_factory) -> tuple[dict, dict]:
    tmp = tmp_path_factory.mktemp("dates_lo")
    typed = run_lo({"input": str(journal), "steps": [["type", "Trades", ref, text] for ref, text in TYPED]
                    + [["calculate_all"]], "dump": str(tmp / "typed.json")}, tmp)
    cleared = run_lo({"input": str(journal), "steps": [["type", "Trades", ref, ""] for ref, _ in TYPED]
                      + [["calculate_all"]], "dump": str(tmp / "cleared.json")}, tmp)
    return typed, cleared


def test_the_typed_text_stays_text(typed_and_cleared):
    typed, _ = typed_and_cleared
    for ref, text in TYPED:
        assert typed["Trades"]["cells"][ref][:3] == ["s", text, text], ref  # LibreOffice could not read it


def test_no_error_cell_anywhere(typed_and_cleared):
    typed, _ = typed_and_cleared
    errors = [f"{sheet}!{ref}: {c[2]} {c[3]}" for sheet, d in typed.items() for ref, c in d["cells"].items()
              if c[0] == "e"]
    assert not errors, "\n".join(errors[:20])


def test_the_summaries_equal_those_without_the_times(typed_and_cleared):
    typed, cleared = typed_and_cleared
    for sheet in SUMMARIES:
        a, b = typed[sheet]["cells"], cleared[sheet]["cells"]
        assert len(a) > 20
        differ = [f"{sheet}!{ref}: {a.get(ref)} vs {b.get(ref)}" for ref in set(a) | set(b)
                  if (a.get(ref) or [None] * 3)[:3] != (b.get(ref) or [None] * 3)[:3]]
        assert not differ, "\n".join(sorted(differ)[:20])


def test_only_the_rows_own_leverage_source_says_why(typed_and_cleared):
    typed, cleared = typed_and_cleared
    a, b = typed["Trades"]["cells"], cleared["Trades"]["cells"]
    differ = {ref for ref in set(a) | set(b) if (a.get(ref) or [None] * 3)[:3] != (b.get(ref) or [None] * 3)[:3]}
    rows = {ref[len(OPEN):] for ref, _ in TYPED}
    assert differ == {ref for ref, _ in TYPED} | {f"{SOURCE}{r}" for r in rows}
    assert a[f"{SOURCE}5"][2] == a[f"{SOURCE}9"][2] == C.NOT_DATE["Open time"]
    assert a[f"{SOURCE}7"][2] == C.NOT_DATE["Close time"]


def test_a_fill_keeps_the_typed_text_and_writes_what_the_formulas_show(journal, tmp_path):
    """The fill reads the text back, keeps it, and its twins write the message as the cached value."""
    saved = tmp_path / "saved.xlsx"
    run_lo({"input": str(journal), "steps": [["type", "Trades", ref, text] for ref, text in TYPED]
            + [["calculate_all"]], "dump": str(tmp_path / "d.json"), "save": str(saved)}, tmp_path)
    statement = STATEMENTS / "mt5_report" / "Wizard-hash2_ReportHistory.xlsx"
    if not statement.exists():
        pytest.skip(f"real broker export not available: {statement}")
    fill_journal([statement], saved, progress=False)
    ws = openpyxl.load_workbook(saved, data_only=True)["Trades"]
    assert ws.max_row > 41  # the statement's trades were added
    for ref, text in TYPED:
        assert ws[ref].value == text, ref
    assert ws[f"{SOURCE}5"].value == ws[f"{SOURCE}9"].value == C.NOT_DATE["Open time"]
    assert ws[f"{SOURCE}7"].value == C.NOT_DATE["Close time"]
    assert ws[f"{SOURCE}6"].value not in C.NOT_DATE.values()
