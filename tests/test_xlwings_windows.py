"""The functions through xlwings' own Windows UDF machinery, on Linux.

A subprocess (tests/_winstubs.py) imports xlwings as on Windows with pywin32 (stand-ins for
pywin32 and ctypes' Windows parts; xlwings PRO blocked), imports ``addin.udfs`` under xlwings'
real ``xlfunc``/``xlarg`` decorators, runs ``xlwings.udfs.import_udfs`` ("Import Functions")
against a fake add-in workbook and calls every function through
``xlwings.com_server.XLPython().CallUDF`` with fake COM ranges: what each cell's VBA wrapper does.

Checked here: the VBA module Excel would import (golden file), the names and argument names are
valid VBA and usable in formulas, the function-wizard texts, and that every call returns what the
Python function returns for the values xlwings hands it. Not checked (needs Excel): VBA
compilation, the xlwings DLL, recalculation.

Regenerate the golden file after a deliberate change:  UPDATE_GOLDEN=1 pytest tests/test_xlwings_windows.py
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import os
import pickle
import re
import subprocess
import sys
import types
from decimal import Decimal
from pathlib import Path

import pytest

import addin.udfs as udfs
from addin.setup import ADDIN_NAME
from addin.udf_meta import CATEGORY, EXCEL_TEXT_LIMIT, REGISTRY

from conftest import SHARED

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "xlwings_udfs.bas"
sys.path.insert(0, str(HERE))
import _winstubs  # noqa: E402  (only its constants and TimeType; it installs nothing on import)

NA = _winstubs.ERROR_CODES["#N/A"]
DIV0 = _winstubs.ERROR_CODES["#DIV/0!"]

# --- inputs per argument name: a valid cell value (what pywin32 gives for a cell) -----------------
VALID: dict[str, object] = {
    "margin_rate": 0.02, "leverage": 30.0, "quantity": 1.0, "price": 1.1, "contract_size": 100000.0,
    "fx_rate": 1.0, "notional": 5000.0, "equity": 10000.0, "used_margin": 2000.0, "pnl": 100.0,
    "margin": 220.0, "free_margin": 5000.0, "lot_step": 0.01, "pip_size": 0.0001, "stop_out_level": 0.5,
    "side": "long", "entry": 100.0, "level": 1.0, "other_margin": 0.0, "initial_margin": 0.5,
    "maintenance_margin": 0.25, "multiplier": 50.0, "contracts": 2.0, "maintenance_rate": 0.005,
    "inverse": False, "quantity_coins": 1.0, "wallet_balance": 1000.0, "other_maintenance": 0.0,
    "other_upnl": 0.0, "risk_pct": 0.01, "risk_amount": 100.0, "stop_price": 95.0, "point_value": 1.0,
    "commission": 0.0, "min_size": 0.0, "max_size": 0.0, "exit_price": 110.0, "target": 110.0,
    "drawdown": 0.2, "risk_per_trade": 0.01, "losses": 5.0, "win_rate": 0.55, "capital_units": 20.0,
    "mark_price": 100.0, "funding_rate": 0.0001, "periods": 3.0, "borrowed": 10000.0,
    "annual_rate": 0.08, "days": 30.0, "day_count": 365.0, "regime": "ESMA", "instrument": "EURUSD",
    "as_of": _winstubs.TimeType(2025, 6, 30), "atr_pct": 0.006, "atr_multiple": 3.0, "account_is_base": False,
}
SECOND: dict[str, object] = {"leverage": "1:30", "side": "sell", "instrument": "GOLD", "regime": "FCA",
                             "inverse": True}
OVERRIDES: dict[str, dict[str, object]] = {
    "FUTURES_MARGIN_CALL_PRICE": {"maintenance_margin": 5000.0, "equity": 20000.0, "entry": 5000.0},
    "MARGIN_CALL_PRICE": {"quantity": 100.0, "equity": 1000.0},
    "STOP_OUT_PRICE": {"quantity": 100.0, "equity": 1000.0},
    "LIQUIDATION_PRICE_TIERED": {"entry": 30000.0, "quantity": 0.5},
}
TIERS = [[0.0, 50000.0, 0.004, 0.0], [50000.0, 250000.0, 0.005, 50.0], [250000.0, 1000000.0, 0.01, 1300.0]]
CURVE = [10000.0, 11000.0, None, 9900.0, 12000.0, 9000.0]
# The arguments that are whole ranges (a column each), and the one-cell arguments beside them.
RANGES: dict[str, list] = {
    "pnls": [120.0, -50.0, None, 80.0, 0.0, -40.0, 30.0],
    "values": [1.5, -1.0, None, 2.0, -1.0],
    "r_multiples": [0.86, 4.40, -0.72, 0.44, 1.57, 1.13, -1.70, -0.58],
    "notionals": [100000.0, 50000.0, None],
    "margins": [3333.33, 1666.67, None],
    "symbols": ["EURUSD", "USDJPY", None],
    "sides": ["long", "sell", None],
    "highs": [48.70, 48.72, 48.90, 48.87, 48.82, 49.05, 49.20, 49.35, 49.92, 50.19, 50.12, 49.66, 49.88, 50.19,
              50.36],
    "lows": [47.79, 48.14, 48.39, 48.37, 48.24, 48.635, 48.94, 48.86, 49.50, 49.87, 49.20, 48.90, 49.43, 49.725,
             49.26],
    "closes": [48.16, 48.61, 48.75, 48.63, 48.74, 49.03, 49.07, 49.32, 49.91, 50.13, 49.53, 49.50, 49.75, 50.03,
               50.31],
}
VALID.update({"payoff_ratio": 2.0, "period": 14.0, "multiple": 2.0, "atr": 0.006, "account_currency": "USD"})
SECOND.update({"account_currency": "EUR", "payoff_ratio": 1.0})
OVERRIDES.update({"ATR_STOP": {"entry": 1.1}})
# MAE, MFE (over the bars above) and LOWEST_MARGIN_LEVEL
VALID.update({"adverse_price": 95.0})


def _valid(fname: str, arg: str) -> object:
    return OVERRIDES.get(fname, {}).get(arg, VALID[arg])


def _params(fname: str) -> list[inspect.Parameter]:
    return list(inspect.signature(getattr(udfs, fname)).parameters.values())


def _special(fname: str, arg: str):
    if arg == "tiers":
        return ("grid", TIERS)
    if arg == "equity_curve":
        return ("col", CURVE)
    if arg in RANGES:
        return ("col", RANGES[arg])
    return None


def _cases_for(fname: str) -> list[tuple[str, str, list]]:
    """(label, fname, specs) per case; specs as _winstubs.to_com understands them."""
    params = _params(fname)
    required = [p.name for p in params if p.default is inspect.Parameter.empty]
    first = next(a for a in required if _special(fname, a) is None) if any(
        _special(fname, a) is None for a in required) else None

    def build(kind_for):
        return [(_special(fname, p.name) or kind_for(p)) for p in params]

    cases = [
        ("cells, optional omitted", build(lambda p: ("cell", _valid(fname, p.name)) if p.name in required else ("missing",))),
        ("cells, optional given", build(lambda p: ("cell", _valid(fname, p.name)))),
        ("literal values", build(lambda p: ("value", _valid(fname, p.name)) if p.name in required else ("missing",))),
        ("optional as empty cells", build(lambda p: ("cell", _valid(fname, p.name)) if p.name in required else ("cell", None))),
        ("optional as error cells", build(lambda p: ("cell", _valid(fname, p.name)) if p.name in required else ("cell", NA))),
    ]
    if first is not None:
        def col(p):
            v = _valid(fname, p.name)
            if p.name == first:
                return ("col", [v, SECOND.get(p.name, v), None, "oops", NA, True])
            return ("cell", v)
        cases += [
            ("first argument a column with empty, text, error, TRUE", build(col)),
            ("all arguments columns", build(lambda p: ("col", [_valid(fname, p.name), SECOND.get(p.name, _valid(fname, p.name))]))),
            ("first argument a row", build(lambda p: ("row", [_valid(fname, p.name)] * 2) if p.name == first else ("cell", _valid(fname, p.name)))),
            ("first argument an empty cell", build(lambda p: ("cell", None) if p.name == first else ("cell", _valid(fname, p.name)))),
            ("first argument an error cell", build(lambda p: ("cell", DIV0) if p.name == first else ("cell", _valid(fname, p.name)))),
            ("first argument an error value", build(lambda p: ("value", NA) if p.name == first else ("cell", _valid(fname, p.name)))),
            ('first argument ""', build(lambda p: ("cell", "") if p.name == first else ("cell", _valid(fname, p.name)))),
            ("first argument a date cell", build(lambda p: ("cell", _winstubs.TimeType(2025, 1, 2)) if p.name == first else ("cell", _valid(fname, p.name)))),
        ]
    return [(label, fname, specs) for label, specs in cases]


CASES = [c for name in REGISTRY for c in _cases_for(name)]
# Cells that once broke the Windows path (each has its test at the end):
EXTRA = [
    ("optional error cell must not fall back to the default", "NOTIONAL",
     [("cell", 1.0), ("cell", 100.0), ("cell", NA), ("missing",)]),
    ("currency-formatted cell (pywin32 gives Decimal)", "MARGIN_LEVEL",
     [("cell", Decimal("10000")), ("cell", Decimal("2000"))]),
]


@pytest.fixture(scope="module")
def windows(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("xlwings_windows")
    cases_path, out_path = tmp / "cases.pickle", tmp / "report.pickle"
    with open(cases_path, "wb") as fh:
        pickle.dump([(f, specs) for _, f, specs in CASES + EXTRA], fh)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    env.pop("XLWINGS_ON_SERVER", None)
    proc = subprocess.run([sys.executable, str(HERE / "_winstubs.py"), str(cases_path), str(out_path)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp)
    assert proc.returncode == 0, f"the Windows code path failed to load:\n{proc.stdout}\n{proc.stderr}"
    with open(out_path, "rb") as fh:
        return pickle.load(fh)


# --- the VBA module Excel imports -----------------------------------------------------------------

def test_vba_module_matches_golden_file(windows):
    assert len(windows["vba"]) == 1, "import_udfs should import exactly one module (xlwings_udfs)"
    vba = windows["vba"][0]
    if os.environ.get("UPDATE_GOLDEN") == "1" or not GOLDEN.exists():
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(vba)
        if os.environ.get("UPDATE_GOLDEN") != "1":
            pytest.fail(f"{GOLDEN} did not exist; written now: review and commit it")
    assert vba == GOLDEN.read_text(), (
        f"The VBA module that 'Import Functions' writes into the add-in changed ({GOLDEN.name}). "
        "If the change is intended, regenerate with:  UPDATE_GOLDEN=1 pytest tests/test_xlwings_windows.py  "
        "and review the diff.")


def test_every_contract_function_has_a_vba_wrapper(windows):
    vba = windows["vba"][0]
    declared = re.findall(r"^Function (\w+)\(", vba, flags=re.M)
    assert sorted(declared) == sorted(REGISTRY), "VBA wrappers and REGISTRY differ"
    assert sorted(windows["xlfunc"]) == sorted(REGISTRY)
    contract = SHARED / "reference" / "functions.md"
    if contract.exists():
        names = set(re.findall(r"^\| `([A-Z_]+)\(", contract.read_text(), flags=re.M))
        assert names, "no function names found in functions.md"
        assert names <= set(declared), f"contract functions without a wrapper: {sorted(names - set(declared))}"
    for name in declared:  # each wrapper calls Python with the module and its own name
        assert f'{name} = XLPy.CallUDF("addin.udfs", "{name}", ' in vba


# --- names that VBA and Excel's formula bar accept --------------------------------------------------

VBA_KEYWORDS = {k.upper() for k in """
    AddressOf Alias And Any Append As Attribute Base Binary Boolean ByRef Byte ByVal Call Case CBool CByte
    CCur CDate CDbl CDec CInt CLng CLngLng CLngPtr Close Compare Const CSng CStr Currency CVar CVErr Date
    Debug Decimal Declare DefBool DefByte DefCur DefDate DefDbl DefDec DefInt DefLng DefLngLng DefLngPtr
    DefObj DefSng DefStr DefVar Dim Do DoEvents Double Each Else ElseIf Empty End EndIf Enum Eqv Erase
    Error Event Exit Explicit False Fix For Friend Function Get Global GoSub GoTo If Imp Implements In Input
    Int Integer Is LBound Len LenB Let Lib Like Line Lock Long LongLong LongPtr Loop LSet Me Mid MidB Mod
    Module Name New Next Not Nothing Null Object On Open Option Optional Or Output ParamArray Preserve Print
    Private Property PtrSafe Public Put RaiseEvent Random Read ReDim Rem Reset Resume Return RSet Seek
    Select Set Sgn Shared Single Spc Static Step Stop String Sub Tab Text Then Time To True Type TypeOf
    UBound Unlock Until Variant Wend While Width With WithEvents Write Xor
""".split()}
# Names the generated wrapper body uses: an argument of that name would shadow them.
WRAPPER_NAMES = {"XLPY", "ARRAY", "ACTIVEWORKBOOK", "THISWORKBOOK", "APPLICATION", "ERR", "RANGE", "FAILED"}
# VBA keywords used as argument names would be a compile error in the whole module (no function
# would work in desktop Excel): stop and exit were renamed stop_price and exit_price for this.
KNOWN_BAD_ARGS: set[tuple[str, str]] = set()


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def is_cell_reference(name: str) -> bool:
    """A1 (up to XFD1048576) or R1C1 style: Excel reads such a name as a reference, not a function."""
    m = re.fullmatch(r"([A-Za-z]{1,3})([0-9]+)", name)
    if m and _column_number(m[1]) <= 16384 and 1 <= int(m[2]) <= 1048576:
        return True
    return re.fullmatch(r"[Rr][0-9]*[Cc][0-9]*|[RrCc]", name) is not None


def xlwings_vba_procedures() -> set[str]:
    """Every module-level name the xlwings VBA (add-in and custom add-in template) declares."""
    import xlwings

    root = Path(xlwings.__file__).parent
    names: set[str] = set()
    pattern = re.compile(r"^\s*(?:Public |Private |Friend )?(?:Static )?(?:Declare (?:PtrSafe )?)?"
                         r"(?:Function|Sub|Property (?:Get|Let|Set)|Const)\s+(\w+)", re.M | re.I)
    for bas in [root / "xlwings.bas", root / "xlwings_custom_addin.bas", *sorted((root / "addin").glob("*.bas"))]:
        names |= {n.upper() for n in pattern.findall(bas.read_text(errors="replace"))}
    return names


def test_the_cell_reference_check_itself():
    assert is_cell_reference("POS1") and is_cell_reference("LEV2") and is_cell_reference("XFD1048576")
    assert is_cell_reference("R1C1") and is_cell_reference("RC")
    assert not is_cell_reference("XFE1") and not is_cell_reference("A1048577")
    assert not is_cell_reference("LEVERAGE") and not is_cell_reference("R_MULTIPLE")


def test_function_names_are_valid_vba_and_formula_names(windows):
    xlwings_names = xlwings_vba_procedures()
    assert "RUNPYTHON" in xlwings_names and "XLPY" in xlwings_names  # the parser found them
    for name in windows["xlfunc"]:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,254}", name), f"{name}: not a VBA identifier"
        assert name.upper() not in VBA_KEYWORDS, f"{name}: a VBA keyword"
        assert not is_cell_reference(name), f"{name}: Excel reads it as a cell reference"
        assert name.upper() not in xlwings_names, f"{name}: clashes with xlwings' own VBA procedure"
        assert name.upper() != "PY", f"{name}: reserved for Python in Excel"


def test_argument_names_are_valid_vba(windows):
    bad = set()
    for name, xlf in windows["xlfunc"].items():
        seen = set()
        for a in xlf["args"]:
            arg = a["name"]
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,254}", arg), f"{name}({arg}): not a VBA identifier"
            assert arg.upper() not in seen, f"{name}({arg}): duplicate (VBA is case-insensitive)"
            seen.add(arg.upper())
            if arg.upper() in VBA_KEYWORDS or arg.upper() in WRAPPER_NAMES or arg.upper() == name.upper():
                bad.add((name, arg))
    new = bad - KNOWN_BAD_ARGS
    assert not new, f"argument names VBA cannot compile: {sorted(new)}"
    fixed = KNOWN_BAD_ARGS - bad
    assert not fixed, f"fixed, thank you: remove {sorted(fixed)} from KNOWN_BAD_ARGS"


def test_no_argument_is_a_vba_keyword(windows):
    args = {a["name"].upper() for xlf in windows["xlfunc"].values() for a in xlf["args"]}
    assert not args & VBA_KEYWORDS, sorted(args & VBA_KEYWORDS)


# --- function wizard texts (Application.MacroOptions) --------------------------------------------

def test_function_wizard_texts(windows):
    options = {o["Macro"].split("!")[1]: o for o in windows["macro_options"]}
    assert sorted(options) == sorted(REGISTRY)
    for name, o in options.items():
        info = REGISTRY[name]
        assert o["Macro"] == f"'{ADDIN_NAME}'!{name}"
        assert o["Category"] == CATEGORY == info.category
        desc = o["Description"]
        assert desc.strip() and len(desc) <= EXCEL_TEXT_LIMIT
        assert desc == info.description, f"{name}: wizard text is not the one-paragraph REGISTRY text"
        assert o["ArgumentDescriptions"] == [a.doc for a in info.args], f"{name}: argument docs differ"
        for a in o["ArgumentDescriptions"]:
            assert a.strip() and not a.startswith("Positional argument") and len(a) <= EXCEL_TEXT_LIMIT


def test_every_argument_is_read_as_a_2d_range(windows):
    for name, xlf in windows["xlfunc"].items():
        for a in xlf["args"]:
            assert a["options"].get("ndim") == 2, f"{name}({a['name']}): ndim is not 2"
            assert "convert" not in a["options"], f"{name}({a['name']}): a type hint became a converter"
        assert xlf["async_mode"] is None and not xlf["volatile"] and not xlf["sub"]


# --- calls through XLPython().CallUDF ---------------------------------------------------------------

def _python_value(spec, default):
    """What xlwings' conversion hands the function (ndim=2) for one COM argument."""
    def clean(v):
        if v == "" or v is None:
            return None  # empty cells and "" arrive as None
        if type(v) is int and v in _winstubs.ERROR_CODES.values():
            # err_to_str=True (addin/udf_meta.py): an error cell arrives as its text, e.g. "#N/A"
            return next(k for k, code in _winstubs.ERROR_CODES.items() if code == v)
        if isinstance(v, _winstubs.TimeType):
            return dt.datetime(v.year, v.month, v.day, v.hour, v.minute, v.second)
        return v

    kind = spec[0]
    if kind == "missing":
        return default
    if kind in ("cell", "value"):
        return [[clean(spec[1])]]
    if kind == "col":
        return [[clean(v)] for v in spec[1]]
    if kind == "row":
        return [[clean(v) for v in spec[1]]]
    return [[clean(v) for v in row] for row in spec[1]]


def _as_excel_gets_it(ret):
    """conversion.write + CallUDF's unwrapping: 1×1 → scalar, 1×n → row, None → ""."""
    rows = ret if isinstance(ret, list) and ret and isinstance(ret[0], list) else (
        [ret] if isinstance(ret, list) else [[ret]])
    rows = [["" if v is None else v for v in r] for r in rows]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    return rows[0] if len(rows) == 1 else rows


def _expected(fname, specs):
    params = _params(fname)
    args = [_python_value(s, p.default) for s, p in zip(specs, params)]
    return _as_excel_gets_it(getattr(udfs, fname)(*args))


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{f}-{label}" for label, f, _ in CASES])
def test_call_udf_returns_what_python_returns(windows, index):
    label, fname, specs = CASES[index]
    status, got = windows["calls"][index]
    assert status == "ok", f"CallUDF raised (Excel would show this text in the cell):\n{got}"
    assert got == _expected(fname, specs)
    flat = got if isinstance(got, list) else [got]
    flat = [v for r in flat for v in (r if isinstance(r, list) else [r])]
    for v in flat:
        assert isinstance(v, (float, int, str)) and not isinstance(v, bool), f"{v!r} is not a cell value"
        if isinstance(v, str):
            assert "Traceback" not in v and "Error:" not in v, v
    if label.startswith("first argument an e") or label in ("first argument an empty cell", 'first argument ""'):
        assert isinstance(got, str) and got, f"{label}: expected a message, got {got!r}"


def test_no_xlwings_pro_code_was_loaded(windows):
    assert windows["pro_imported"] is False


def _extra(windows, label):
    i = len(CASES) + [e[0] for e in EXTRA].index(label)
    status, got = windows["calls"][i]
    assert status == "ok", got
    return got


def test_optional_error_cell_gives_a_message(windows):
    got = _extra(windows, "optional error cell must not fall back to the default")
    assert isinstance(got, str) and "#N/A" in got


def test_currency_formatted_cells_compute(windows):
    assert _extra(windows, "currency-formatted cell (pywin32 gives Decimal)") == pytest.approx(5.0)


# --- install: addin/setup.py and install/windows.ps1 (the platform-independent parts) -------------

def _custom_addin_constants() -> dict[str, str]:
    import xlwings

    bas = (Path(xlwings.__file__).parent / "xlwings_custom_addin.bas").read_text(errors="replace")
    return dict(re.findall(r'^Public Const (\w+) As String = "([^"]*)"', bas, flags=re.M))


def test_conf_file_is_written_merged_and_idempotent(tmp_path):
    from addin.setup import SetupError, read_conf, write_conf

    conf = tmp_path / ".leverage-addin" / "leverage-addin.conf"
    assert write_conf(conf, {"INTERPRETER_WIN": r"C:\old\python.exe"}) is True
    conf.write_text(conf.read_text() + '\n"LICENSE_KEY","abc"\n"interpreter_win","C:\\older\\python.exe"\n')
    settings = {"INTERPRETER_WIN": r"C:\Users\t\venv\Scripts\python.exe", "UDF MODULES": "addin.udfs"}
    assert write_conf(conf, settings) is True
    text = conf.read_text()
    assert text.splitlines() == ['"INTERPRETER_WIN","C:\\Users\\t\\venv\\Scripts\\python.exe"', '"LICENSE_KEY","abc"',
                                 '"UDF MODULES","addin.udfs"'], "one line per key, other keys kept"
    assert read_conf(conf) == {"INTERPRETER_WIN": r"C:\Users\t\venv\Scripts\python.exe", "LICENSE_KEY": "abc",
                               "UDF MODULES": "addin.udfs"}
    assert write_conf(conf, settings) is False and conf.read_text() == text  # idempotent
    with pytest.raises(SetupError):
        write_conf(conf, {"PYTHONPATH": 'a"b'})


def test_platform_paths():
    from addin.setup import PRODUCT, SetupError, default_addin_path, user_conf_path, xlstart_dir

    home = Path("/home/t")
    project = PRODUCT  # the add-in's own name, not the template's "myaddin"
    assert project == "leverage-addin"
    assert default_addin_path(platform="win32", home=home) == home / ".leverage-addin" / "leverage-addin.xlam"
    assert user_conf_path(platform="win32", home=home) == home / f".{project}" / f"{project}.conf"
    assert user_conf_path(platform="darwin", home=home).name == f"{project}.conf"
    assert xlstart_dir(platform="win32", env={"APPDATA": r"/appdata"}, home=home) == \
        Path("/appdata") / "Microsoft" / "Excel" / "XLSTART"
    assert xlstart_dir(platform="darwin", env={}, home=home).parts[-2:] == ("Startup", "Excel")
    with pytest.raises(SetupError):
        xlstart_dir(platform="linux", env={}, home=home)


def test_custom_addin_is_built_from_xlwings_template(tmp_path):
    import zipfile

    import xlwings

    from addin.setup import ADDIN_NAME, PRODUCT, TEMPLATE_PROJECT, addin_settings, build_addin, template_path

    consts = _custom_addin_constants()
    assert consts["PROJECT_NAME"] == TEMPLATE_PROJECT, "the template's VBA reads <PROJECT_NAME>.conf"
    assert consts["XLWINGS_VERSION"] == xlwings.__version__, "template VBA and Python package must match"
    out = build_addin(tmp_path / ADDIN_NAME)
    assert out.name == "leverage-addin.xlam"
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(template_path()) as t:
        assert z.testzip() is None
        assert z.namelist() == t.namelist()
        assert z.read("xl/vbaProject.bin") == t.read("xl/vbaProject.bin"), "xlwings' VBA copied byte for byte"
        assert "application/vnd.ms-excel.addin.macroEnabled.main+xml" in z.read("[Content_Types].xml").decode()
        project_stream = z.read("xl/vbaProject.bin").decode("latin-1")
        assert 'Name="MyAddin"' in project_stream and "Module=xlwings" in project_stream
    sheet, settings = addin_settings(out)
    assert sheet == f"{PRODUCT}.conf" == "leverage-addin.conf"  # the template ships it as _myaddin.conf
    assert settings == {"UDF Modules": "addin.udfs"}, "only per-workbook settings: a blank key would hide the user file"
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(out) as z:  # every XML part well-formed; the sheet is the one the workbook names
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                ET.fromstring(z.read(name))
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        assert 'Target="worksheets/sheet1.xml"' in rels and 'Target="vbaProject.bin"' in rels
        for name in z.namelist():  # no part but the VBA (renamed in Excel, see below) says myaddin
            if name != "xl/vbaProject.bin":
                assert b"myaddin" not in z.read(name).lower(), f"{name} still carries the template's name"
        assert "customUI/customUI.xml" not in z.namelist(), "no ribbon tab (the template's would say MyAddin)"
    first = out.read_bytes()
    assert build_addin(out).read_bytes() == first, "rebuilding gives the same file"


class _FakeCodeModule:
    """VBIDE.CodeModule: 1-based lines, as Excel's VBA editor exposes them over COM."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    @property
    def CountOfLines(self):  # noqa: N802
        return len(self.lines)

    def Lines(self, start, count):  # noqa: N802
        return "\r\n".join(self.lines[start - 1:start - 1 + count])

    def ReplaceLine(self, number, text):  # noqa: N802
        self.lines[number - 1] = text


class _FakeComponents:
    def __init__(self, modules):
        self.modules = modules

    @property
    def Count(self):  # noqa: N802
        return len(self.modules)

    def Item(self, index):  # noqa: N802
        return types.SimpleNamespace(CodeModule=self.modules[index - 1])


def test_the_vba_project_gets_the_products_name():
    """import-functions renames what the template calls myaddin inside the VBA, through Excel's VBA
    object model, on xlwings' own VBA of the template (xlwings_custom_addin.bas)."""
    import xlwings

    from addin.setup import PRODUCT, VBA_PROJECT_NAME, SetupError, name_vba_project

    bas = (Path(xlwings.__file__).parent / "xlwings_custom_addin.bas").read_text(errors="replace")
    sheet_module, xlwings_module = _FakeCodeModule("Option Explicit"), _FakeCodeModule(bas)
    project = types.SimpleNamespace(Name="MyAddin", VBComponents=_FakeComponents([sheet_module, xlwings_module]))
    number = name_vba_project(project)
    assert project.Name == VBA_PROJECT_NAME == "LeverageAddin"
    after = xlwings_module.lines
    assert after[number - 1] == f'Public Const PROJECT_NAME As String = "{PRODUCT}"'
    before = bas.splitlines()
    assert [i for i, (a, b) in enumerate(zip(before, after)) if a != b] == [number - 1], "one line changed"
    assert not any("myaddin" in line.lower() for line in after if "PROJECT_NAME" in line and "Const" in line)
    # what the renamed VBA reads: <PROJECT_NAME>.conf, in %USERPROFILE%\.<PROJECT_NAME>\
    assert re.search(r'Environ\("USERPROFILE"\) & "\\\." & PROJECT_NAME & "\\" & PROJECT_NAME & "\.conf"', bas)
    assert name_vba_project(project) == number and xlwings_module.lines == after, "idempotent"
    with pytest.raises(SetupError, match="PROJECT_NAME"):
        name_vba_project(types.SimpleNamespace(Name="X", VBComponents=_FakeComponents([sheet_module])))


def test_setup_help_explains_every_step_and_option():
    from addin.setup import _parser

    proc = subprocess.run([sys.executable, "-m", "addin", "setup", "--help"], capture_output=True, text=True,
                          cwd=HERE.parent, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for step in ("config", "build-addin", "import-functions", "install-addin", "paths"):
        assert step in proc.stdout
    assert "leverage-addin.conf" in proc.stdout and "Trust access to the VBA project object model" in proc.stdout
    choices = _parser()._subparsers._group_actions[0].choices
    for name, sub in choices.items():
        assert sub.description, f"setup {name}: no description"
        for action in sub._actions:
            assert action.help, f"setup {name} {action.option_strings or action.dest}: no help"
        sub.format_help()  # no stray % in a help text


def test_setup_command_line(tmp_path, capsys):
    from addin.setup import main, read_conf

    conf = tmp_path / "leverage-addin.conf"
    assert main(["config", "--file", str(conf), "--interpreter", r"C:\v\Scripts\python.exe"]) == 0
    key = "INTERPRETER_MAC" if sys.platform == "darwin" else "INTERPRETER_WIN"
    assert read_conf(conf) == {key: r"C:\v\Scripts\python.exe", "UDF MODULES": "addin.udfs"}
    assert "updated" in capsys.readouterr().out
    assert main(["config", "--file", str(conf), "--interpreter", r"C:\v\Scripts\python.exe"]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert main(["config", "--file", str(conf), "not-a-pair"]) == 3
    built = tmp_path / "a" / "leverage-addin.xlam"
    assert main(["build-addin", "--out", str(built)]) == 0
    assert "leverage-addin.conf" in capsys.readouterr().out
    xlstart = tmp_path / "XLSTART"
    xlstart.mkdir()
    (xlstart / "leverage.xlam").write_bytes(b"an earlier version")
    (xlstart / "other.xlam").write_bytes(b"someone else's")
    assert main(["install-addin", "--addin", str(built), "--xlstart", str(xlstart)]) == 0
    assert (xlstart / "leverage-addin.xlam").read_bytes() == built.read_bytes()
    assert sorted(p.name for p in xlstart.iterdir()) == ["leverage-addin.xlam", "other.xlam"]
    assert "removed the add-in's earlier version" in capsys.readouterr().out
    if not sys.platform.startswith("win"):
        assert main(["import-functions", "--addin", str(xlstart / "leverage-addin.xlam")]) == 3
        assert "Windows" in capsys.readouterr().err


def test_windows_script_calls_existing_setup_steps():
    from addin.setup import _parser

    script = (HERE.parent / "install" / "windows.ps1").read_text()
    steps = set(re.findall(r'"setup", "([a-z-]+)"|addin setup ([a-z-]+)', script))
    steps = {a or b for a, b in steps}
    assert steps == {"config", "build-addin", "import-functions", "install-addin"}
    choices = _parser()._subparsers._group_actions[0].choices
    assert steps <= set(choices)
    assert "Trust access to the VBA project object model" in script
    assert "$ErrorActionPreference = \"Stop\"" in script
    assert re.search(r"\$[A-Za-z]+: ", script.replace("$env:", "")) is None, "'$Var:' is a PowerShell scope error"
