"""The journal computes the same figures whatever the trader's locale.

LibreOffice (like Excel) reads the text of a criterion such as ``">=1.5"`` in the user's locale: in
de-DE or fr-FR ``1.5`` is not a number, so a COUNTIFS over it counts nothing. The journal writes no
number inside a string; this test proves it the way a trader would meet it: a journal filled from
real statements is opened in LibreOffice with the profile's locale set to en-US, de-DE, fr-FR and
ja-JP, recalculated (Ctrl+Shift+F9), and every formula cell of every sheet must show the same number
(or the same error-free text) in all four.

Driven through UNO by ``tests/lo_uno.py`` under Debian's python3 (python3-uno).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from addin.fill import fill_journal
from conftest import ROOT, STATEMENTS
from lo_uno import UNO_PYTHON, office

DRIVER = ROOT / "tests" / "lo_uno.py"
LOCALES = ("de-DE", "fr-FR", "ja-JP")
REAL = ("mt4_statement_html/jsacap_Tradeslide_Statement.htm",
        "tradovate_performance_csv/arielSofer_Performance.csv")


def _uno_available() -> bool:
    if shutil.which("soffice") is None or not Path(UNO_PYTHON).exists():
        return False
    return subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not _uno_available(),
                       reason="LibreOffice with python3-uno is not installed: apt-get install libreoffice-calc"),
]


def run_lo(job: dict, tmp: Path) -> dict:
    """Run one LibreOffice job (see tests/lo_uno.py) and return its dump. The jobs run in the
    session's LibreOffice (one started per locale, kept for the next jobs: lo_uno.office())."""
    job = dict(job)
    job.setdefault("dump", str(tmp / f"dump-{job.get('locale', 'en-US')}.json"))
    return office().run(job)


_DIGITS = re.compile(r"\d")


def _same(a: list, b: list) -> bool:
    ka, va, ta, _ = a
    kb, vb, tb, _ = b
    if ka != kb:
        return False
    if ka == "n":
        return math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-12)
    if ka == "e":
        return va == vb
    # Text results: a message may show a number in the locale's own digits and separators
    # ("got 1,5" in de-DE); compare the words around the numbers.
    return _DIGITS.sub("#", re.sub(r"(?<=\d)[.,\s\u00a0\u202f](?=\d)", "", ta)) == \
        _DIGITS.sub("#", re.sub(r"(?<=\d)[.,\s\u00a0\u202f](?=\d)", "", tb))


@pytest.fixture(scope="module")
def journal(tmp_path_factory) -> Path:
    paths = [STATEMENTS / r for r in REAL]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"real broker exports not available: {', '.join(missing)}")
    out = tmp_path_factory.mktemp("locales") / "Journal.xlsx"
    fill_journal(paths, out, progress=False)
    return out


@pytest.mark.statements
def test_every_formula_cell_is_the_same_in_four_locales(journal, tmp_path):
    base = run_lo({"input": str(journal), "locale": "en-US", "steps": [["calculate_all"]]}, tmp_path)
    compared = 0
    for locale in LOCALES:
        other = run_lo({"input": str(journal), "locale": locale, "steps": [["calculate_all"]]}, tmp_path)
        bad = []
        for sheet, data in base.items():
            for ref, cell in data["cells"].items():
                if cell[3] is None:
                    continue
                compared += 1
                theirs = other[sheet]["cells"].get(ref)
                if theirs is None or not _same(cell, theirs):
                    bad.append(f"{sheet}!{ref} {cell[3]}: en-US {cell[2]!r}, {locale} {theirs and theirs[2]!r}")
        assert not bad, f"{len(bad)} cells differ in {locale}:\n" + "\n".join(bad[:20])
    assert compared > 3 * 5000  # the Trades, Stats and Account formulas of a few hundred trades, per locale
