"""``python -m addin runtime {lite,classic} JOURNAL``: the journal's add-in calls in the form each
Excel runtime stores, and nothing else in the workbook changed.

Checked on real journals: the template (``python -m addin template``) and one filled from the
bundled sample statement (``python -m addin fill --sample``). What cannot be checked here (no
Excel): that Excel binds ``_xldudf_NAME`` to xlwings Lite's function when the file opens - the
form is Microsoft's (their custom-functions issues), see the README.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.worksheet.formula import ArrayFormula
import pytest

from addin.runtime_switch import SwitchError, function_names, rewrite_formula, switch_runtime
from addin.udf_meta import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
NAMES = function_names()


def lite(text: str, namespace: str = "") -> str:
    return rewrite_formula(text, "lite", NAMES, namespace)[0]


def classic(text: str, namespace: str = "") -> str:
    return rewrite_formula(text, "classic", NAMES, namespace)[0]


# --- one formula ----------------------------------------------------------------------------------

def test_a_call_gets_the_prefix_and_loses_it_again():
    assert lite("LEVERAGE(A2)") == "_xldudf_LEVERAGE(A2)"
    assert classic("_xldudf_LEVERAGE(A2)") == "LEVERAGE(A2)"
    assert rewrite_formula("LEVERAGE(A2)+NOTIONAL(1,2)", "lite", NAMES) == (
        "_xldudf_LEVERAGE(A2)+_xldudf_NOTIONAL(1,2)", 2)


def test_nested_calls_and_excel_functions_around_them():
    f = 'IF(ISNUMBER(B2),EFFECTIVE_LEVERAGE(B2,MAX(C2,MARGIN_REQUIRED(1,B2,30))),"")'
    assert lite(f) == 'IF(ISNUMBER(B2),_xldudf_EFFECTIVE_LEVERAGE(B2,MAX(C2,_xldudf_MARGIN_REQUIRED(1,B2,30))),"")'
    assert classic(lite(f)) == f


def test_only_calls_of_our_functions_change():
    untouched = [
        '"LEVERAGE(2)"&A1',                      # text that looks like a call
        "'LEVERAGE(x)'!A1+1",                    # a sheet called that
        "Trades[[#This Row],[LEVERAGE(used)]]",  # a table column called that
        "LEVERAGE",                              # a defined name, not a call
        "LEVERAGE_CAP(A1)+XLEVERAGE(A1)",        # other functions that contain the name
        "SUM(A1:B2)*1.5E+3",
        "CONTOSO.LEVERAGE(A1)",                  # another add-in's namespaced function
    ]
    for f in untouched:
        assert lite(f) == f, f
        assert classic(f) == f, f


def test_quotes_inside_literals_and_names():
    f = '"he said ""LEVERAGE(1)"""&LEVERAGE(\'It\'\'s\'!A1)'
    assert lite(f) == '"he said ""LEVERAGE(1)"""&_xldudf_LEVERAGE(\'It\'\'s\'!A1)'


def test_any_case_is_written_as_excel_writes_it():
    assert lite("leverage(A2)") == "_xldudf_LEVERAGE(A2)"
    assert classic("_XLDUDF_leverage(A2)") == "LEVERAGE(A2)"


def test_excel_external_form_of_a_classic_add_in_call():
    """Excel may save a call into an add-in workbook as [n]!NAME( with an external-link part."""
    assert lite("[1]!LEVERAGE(A2)*2") == "_xldudf_LEVERAGE(A2)*2"
    assert classic("[1]!LEVERAGE(A2)") == "[1]!LEVERAGE(A2)"
    assert lite("[1]Sheet1!A1+[2]!OTHER(1)") == "[1]Sheet1!A1+[2]!OTHER(1)"


def test_a_namespace_is_joined_with_an_underscore():
    assert lite("LEVERAGE(A2)", "Trade") == "_xldudf_TRADE_LEVERAGE(A2)"
    assert classic("_xldudf_TRADE_LEVERAGE(A2)", "trade") == "LEVERAGE(A2)"
    assert classic("_xldudf_TRADE_LEVERAGE(A2)") == "_xldudf_TRADE_LEVERAGE(A2)"  # unknown namespace: left


def test_lite_twice_changes_nothing_more():
    once, n1 = rewrite_formula("LEVERAGE(A1)", "lite", NAMES)
    twice, n2 = rewrite_formula(once, "lite", NAMES)
    assert (twice, n1, n2) == (once, 1, 0)


# --- a whole journal --------------------------------------------------------------------------------

def _journal(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.xlsx"
    args = ["template", str(path)] if kind == "template" else \
        ["fill", "--sample", "--journal", str(path), "--no-progress"]
    proc = subprocess.run([sys.executable, "-m", "addin", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="module", params=["template", "sample"])
def journal(request, tmp_path_factory) -> Path:
    return _journal(tmp_path_factory.mktemp(request.param), request.param)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _calls(path: Path) -> list[str]:
    """Every formula text in the workbook that calls one of our functions (plain or prefixed)."""
    pattern = re.compile(r"(?<![A-Za-z0-9_.])(?:_xldudf_)?(" + "|".join(sorted(NAMES)) + r")\(")
    found = []
    for part, data in _parts(path).items():
        if part.endswith(".xml"):
            for body in re.findall(r"<(?:\w+:)?(?:f|calculatedColumnFormula|definedName|formula1?)\b[^>]*>([^<]*)<", data.decode()):
                if pattern.search(body):
                    found.append(body)
    return found


def _formula_text(v):
    """A cell's value, an array formula (the Stats sheet's {=MAX(IF(...))}) as its text."""
    return v.text if isinstance(v, ArrayFormula) else v


def test_switching_to_lite_and_back_on_a_real_journal(journal, tmp_path):
    original = _parts(journal)
    calls = _calls(journal)
    assert calls, "the journal has no add-in formula to switch"
    assert not any("_xldudf_" in c for c in calls), "the builder writes the classic form"

    out = tmp_path / "lite.xlsx"
    report = switch_runtime(journal, "lite", out)
    assert _parts(journal) == original, "--out must leave the journal itself untouched"
    switched = _parts(out)
    assert list(switched) == list(original), "same parts, same order"
    changed = {p for p in original if switched[p] != original[p]}
    assert changed == set(report.changed) and changed, changed
    assert all(p.startswith(("xl/worksheets/", "xl/tables/", "xl/workbook.xml")) for p in changed)
    for p in changed:  # the only difference is the prefix in front of our function names
        assert switched[p].decode().replace("_xldudf_", "") == original[p].decode(), p
    lite_calls = _calls(out)
    assert len(lite_calls) == len(calls)
    plain = re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(sorted(NAMES)) + r")\(")
    assert not any(plain.search(c) for c in lite_calls), "a call was missed"
    assert report.total == sum(len(re.findall(r"_xldudf_", c)) for c in lite_calls)

    # the workbook still opens, every sheet and table as before
    before, after = openpyxl.load_workbook(journal), openpyxl.load_workbook(out)
    assert before.sheetnames == after.sheetnames
    for ws in before.worksheets:
        other = after[ws.title]
        assert list(ws.tables) == list(other.tables)
        for row_a, row_b in zip(ws.iter_rows(), other.iter_rows()):
            for a, b in zip(row_a, row_b):
                va, vb = _formula_text(a.value), _formula_text(b.value)
                assert (vb.replace("_xldudf_", "") if isinstance(vb, str) else vb) == va, a.coordinate

    back = tmp_path / "classic.xlsx"
    switch_runtime(out, "classic", back)
    assert _parts(back) == original, "lite and back gives the very same parts"


def test_in_place_and_idempotent(journal, tmp_path):
    path = tmp_path / "j.xlsx"
    path.write_bytes(journal.read_bytes())
    assert switch_runtime(path, "classic").total == 0
    assert path.read_bytes() == journal.read_bytes(), "nothing to do: the file is not rewritten"
    first = switch_runtime(path, "lite").total
    assert first > 0 and switch_runtime(path, "lite").total == 0


def test_command_line(tmp_path):
    from addin.journal.workbook import build_journal

    path = tmp_path / "journal.xlsx"
    build_journal(path, [])
    run = lambda *a: subprocess.run([sys.executable, "-m", "addin", "runtime", *a], capture_output=True,
                                    text=True, cwd=ROOT, timeout=120)
    proc = run("lite", str(path))
    assert proc.returncode == 0 and "add-in calls rewritten to the lite form _xldudf_NAME(...)" in proc.stdout
    assert switch_runtime(path, "lite").total == 0  # already in the lite form
    (tmp_path / f"~${path.name}").write_text("lock")
    proc = run("lite", str(path))
    assert proc.returncode == 1 and "open in Excel" in proc.stderr
    (tmp_path / "notes.xlsx").write_text("not a workbook")
    proc = run("lite", str(tmp_path / "notes.xlsx"))
    assert proc.returncode == 1 and "not an .xlsx workbook" in proc.stderr
    with pytest.raises(SwitchError, match="no such file"):
        switch_runtime(tmp_path / "missing.xlsx", "lite")
    help_ = run("--help")
    assert help_.returncode == 0 and "_xldudf_NAME" in help_.stdout and "--namespace" in help_.stdout


def test_refuses_bad_arguments(tmp_path):
    path = tmp_path / "journal.xlsx"  # arguments are checked before the file is read
    with pytest.raises(SwitchError, match="runtime must be"):
        switch_runtime(path, "server")
    with pytest.raises(SwitchError, match="namespace"):
        switch_runtime(path, "lite", namespace="my.ns")


def test_every_function_name_is_known():
    assert NAMES == frozenset(REGISTRY) and len(NAMES) >= 32


def test_a_fill_keeps_the_runtime_form_the_journal_has(tmp_path):
    """What the README tells a Lite user: a fill edits the journal in place and leaves
    the add-in's calls in the form `runtime lite` wrote; switching once is enough."""
    path = _journal(tmp_path, "sample")
    assert switch_runtime(path, "lite").total > 0
    example = ROOT / "addin" / "samples" / "example_trades.csv"
    mapping = ROOT / "addin" / "statements" / "example_mapping.json"
    proc = subprocess.run([sys.executable, "-m", "addin", "fill", str(example), "--format", "csv", "--mapping",
                           str(mapping), "--journal", str(path), "--no-progress"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "added:" in proc.stdout
    calls = _calls(path)
    assert calls and all("_xldudf_" in c for c in calls)
    assert switch_runtime(path, "lite").total == 0
