"""Run xlwings' real Windows UDF code (udfs.py, com_server.py, _xlwindows.py, conversion/) on Linux.

pywin32 (pythoncom, pywintypes, win32api, win32com, ...) and the Windows parts of ctypes are
replaced by small stand-ins; xlwings is imported with ``sys.platform`` set to "win32" so that
``xw.func``/``xw.arg`` are ``xlwings.udfs.xlfunc``/``xlarg``; then ``addin.udfs`` is imported and
decorated by them exactly as it is on a trader's PC. Fake COM objects play Excel's part: a
``Range`` whose ``Value`` is what pywin32 would hand over (a scalar for one cell, a tuple of row
tuples for a range, an ``int`` error code for an error cell, ``None`` for an empty cell), and a
workbook whose ``VBProject.VBComponents.Import`` and ``Application.MacroOptions`` record what
``xlwings.udfs.import_udfs`` sends to Excel.

This replaces modules process-wide, so it runs ONLY in a fresh interpreter (a subprocess):

    python tests/_winstubs.py CASES.pickle RESULT.pickle

reads the call cases, loads everything, and writes a pickle with the generated VBA module, the
``Application.MacroOptions`` calls and each ``XLPython().CallUDF`` result. xlwings' PRO code
(``xlwings.pro``, ``xlwings.server``) is blocked, which also proves this path never needs it.
What this does not check: VBA compilation, the xlwings DLL, Excel's own calculation.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import pickle
import sys
import traceback
import types
from pathlib import Path

RANGE_IID = "{00020846-0000-0000-C000-000000000046}"
DISP_E_PARAMNOTFOUND = -2147352572  # what VBA passes for an omitted Optional argument
# pywin32 hands an Excel error value over as this int (the SCODE of the CVErr)
ERROR_CODES = {
    "#DIV/0!": -2146826281,
    "#N/A": -2146826246,
    "#NAME?": -2146826259,
    "#NULL!": -2146826288,
    "#NUM!": -2146826252,
    "#REF!": -2146826265,
    "#VALUE!": -2146826273,
}


# --- pywin32 stand-ins --------------------------------------------------------------------------

class _Anything:
    """An object every attribute and call of which returns another _Anything (0 when called)."""

    def __init__(self, name: str = "stub"):
        self._name = name

    def __getattr__(self, item):
        if item.startswith("__"):
            raise AttributeError(item)
        return _Anything(f"{self._name}.{item}")

    def __call__(self, *args, **kwargs):
        return 0

    def __setattr__(self, key, value):
        object.__setattr__(self, key, value)


class TimeType(dt.datetime):
    """pywintypes.TimeType: pywin32's date type (a datetime subclass)."""


class com_error(Exception):  # noqa: N801 - pywin32's name
    @property
    def hresult(self):
        return self.args[0] if self.args else None


class PyIDispatch:
    """pythoncom's PyIDispatch: the raw COM pointer that arrives in XLPython.CallUDF."""

    def __init__(self, dispatch: object, type_name: str, iid: str):
        self._dispatch, self._type_name, self._iid = dispatch, type_name, iid

    def GetTypeInfo(self):  # noqa: N802 - COM name
        outer = self

        class _TypeInfo:
            def GetDocumentation(self, index):  # noqa: N802
                return (outer._type_name, None, 0, None)

            def GetTypeAttr(self):  # noqa: N802
                return types.SimpleNamespace(iid=outer._iid)

        return _TypeInfo()


def Dispatch(obj, userName=None, resultCLSID=None, *args, **kwargs):  # noqa: N802, N803
    """win32com.client.Dispatch: wraps a PyIDispatch into the object scripts use."""
    if isinstance(obj, PyIDispatch):
        return obj._dispatch
    if isinstance(obj, (FakeWorkbook, FakeRange)):
        return obj
    raise com_error(-2147221005, "Invalid class string (no Excel here)", None, None)


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__file__ = f"<stub {name}>"
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def install_pywin32_stubs() -> None:
    class CDispatch:
        pass

    class DispatchBaseClass:
        pass

    class CoClassBaseClass:
        pass

    def unwrap(obj):
        raise ValueError("not a wrapped Python COM object")

    _module("pywintypes", IID=lambda s: s.upper(), TimeType=TimeType, com_error=com_error,
            error=com_error, Time=TimeType)
    iid_dispatch = "{00020400-0000-0000-C000-000000000046}"
    _module("pythoncom", CoInitialize=lambda *a: None, CoUninitialize=lambda *a: None,
            IID_IDispatch=iid_dispatch, IID_IEnumVARIANT="{00020404-0000-0000-C000-000000000046}",
            TypeIIDs={iid_dispatch: PyIDispatch}, ole_error=com_error, com_error=com_error,
            CLSCTX_LOCAL_SERVER=4, REGCLS_MULTIPLEUSE=1, REGCLS_SUSPENDED=4)
    for name in ("win32api", "win32con", "win32event", "win32gui", "win32process"):
        _module(name)
    sys.modules["win32process"].GetWindowThreadProcessId = lambda hwnd: (1, 4242)
    sys.modules["win32api"].GetCurrentThreadId = lambda: 1
    sys.modules["win32timezone"] = _module(
        "win32timezone", TimeZoneInfo=types.SimpleNamespace(utc=lambda: dt.timezone.utc))
    win32com = _module("win32com")
    win32com.__path__ = []
    client = _module("win32com.client", Dispatch=Dispatch, DispatchEx=Dispatch, CDispatch=CDispatch,
                     DispatchBaseClass=DispatchBaseClass, CoClassBaseClass=CoClassBaseClass)
    client.__path__ = []
    client.gencache = _module("win32com.client.gencache", EnsureModule=lambda *a, **k: None)
    win32com.client = client
    server = _module("win32com.server")
    server.__path__ = []
    server.util = _module("win32com.server.util", wrap=lambda obj, *a, **k: obj, unwrap=unwrap)
    server.policy = _module("win32com.server.policy", DefaultPolicy=object)
    server.dispatcher = _module("win32com.server.dispatcher")
    server.exception = _module("win32com.server.exception", COMException=com_error)
    win32com.server = server


def load_windows_xlwings():
    """Import xlwings as on Windows with pywin32; returns the xlwings module."""
    if "xlwings" in sys.modules:
        raise RuntimeError("xlwings is already imported: run this in a fresh interpreter")
    install_pywin32_stubs()
    # PRO code must never be needed: make any import of it fail.
    sys.modules["xlwings.pro"] = None
    sys.modules["xlwings.server"] = None
    # The standard library must keep its Linux face: import what xlwings uses before the switch.
    import asyncio  # noqa: F401
    import concurrent.futures  # noqa: F401
    import subprocess  # noqa: F401
    import tempfile  # noqa: F401

    saved = {k: getattr(ctypes, k, None) for k in ("windll", "oledll", "PyDLL")}
    real_platform = sys.platform
    try:
        ctypes.windll = _Anything("windll")
        ctypes.oledll = _Anything("oledll")
        ctypes.PyDLL = lambda *a, **k: _Anything("PyDLL")
        sys.platform = "win32"
        import xlwings
    finally:
        sys.platform = real_platform
        for k, v in saved.items():
            if v is None:
                delattr(ctypes, k)
            else:
                setattr(ctypes, k, v)
    import xlwings.udfs

    if xlwings.func is not xlwings.udfs.xlfunc or not xlwings.has_pywin32:
        raise RuntimeError("xlwings did not take its Windows code path")
    if xlwings.__pro__:
        raise RuntimeError("xlwings PRO was loaded")
    return xlwings


# --- Excel stand-ins ----------------------------------------------------------------------------

class FakeApplication:
    Hwnd = 4242
    Version = "16.0"

    def __init__(self):
        self.macro_options: list[dict] = []

    def MacroOptions(self, Macro, **kwargs):  # noqa: N802, N803
        self.macro_options.append({"Macro": Macro, **kwargs})

    def Run(self, *args):  # noqa: N802
        raise com_error(-1, "Application.Run is not expected here")


class FakeSheet:
    def __init__(self, name: str, book: "FakeWorkbook"):
        self.Name, self.Parent = name, book


class _Components:
    def __init__(self):
        self.imported: list[str] = []

    def __call__(self, name):
        raise com_error(-2147352565, "Subscript out of range", None, None)

    def Remove(self, component):  # noqa: N802
        pass

    def Import(self, path):  # noqa: N802
        self.imported.append(Path(path).read_text())


class FakeWorkbook:
    def __init__(self, name: str):
        self.Name = name
        self.Application = FakeApplication()
        self.Worksheets = [FakeSheet("Journal", self)]
        self.VBProject = types.SimpleNamespace(VBComponents=_Components())


class FakeRange:
    """The COM Range object xlwings gets for a cell reference (what pywin32's Dispatch returns)."""

    def __init__(self, rows: list[list], sheet: FakeSheet):
        self._rows = rows
        self.Worksheet = sheet
        self.Row, self.Column = 2, 3
        self.Rows = types.SimpleNamespace(Count=len(rows))
        self.Columns = types.SimpleNamespace(Count=len(rows[0]))
        self.Count = len(rows) * len(rows[0])
        self._oleobj_ = PyIDispatch(self, "Range", RANGE_IID)

    @property
    def Value(self):  # noqa: N802 - COM: a scalar for one cell, a tuple of row tuples otherwise
        if self.Count == 1:
            return self._rows[0][0]
        return tuple(tuple(r) for r in self._rows)


def to_com(spec, sheet: FakeSheet):
    """What arrives in XLPython.CallUDF for one argument described by ``spec``:
    ("cell", v), ("col", [v...]), ("row", [v...]), ("grid", [[v...]...]), ("value", v), ("missing",)."""
    kind = spec[0]
    if kind == "missing":
        return DISP_E_PARAMNOTFOUND
    if kind == "value":
        return spec[1]
    rows = {"cell": lambda v: [[v]], "col": lambda vs: [[v] for v in vs],
            "row": lambda vs: [list(vs)], "grid": lambda g: [list(r) for r in g]}[kind](spec[1])
    return FakeRange(rows, sheet)._oleobj_  # COM hands over the raw IDispatch


def run(cases: list[tuple[str, list]]) -> dict:
    xlwings = load_windows_xlwings()
    import addin.udfs
    from xlwings import com_server, udfs

    report: dict = {"xlwings_version": xlwings.__version__}
    # Import Functions, as the ribbon button / ImportPythonUDFsToAddin does it.
    from addin.setup import ADDIN_NAME

    addin_book = FakeWorkbook(ADDIN_NAME)
    udfs.import_udfs("addin.udfs", addin_book)
    report["vba"] = addin_book.VBProject.VBComponents.imported
    report["macro_options"] = addin_book.Application.macro_options
    report["xlfunc"] = {
        name: {k: v for k, v in f.__xlfunc__.items() if k != "argmap"}
        for name in dir(addin.udfs) if hasattr(f := getattr(addin.udfs, name), "__xlfunc__")
    }
    # Then each cell's formula calls its VBA wrapper, which calls this.
    journal = FakeWorkbook("TradeJournal.xlsx")
    sheet = journal.Worksheets[0]
    server = com_server.XLPython()
    results = []
    for fname, specs in cases:
        args = tuple(to_com(s, sheet) for s in specs)
        caller = FakeRange([[None]], sheet)._oleobj_
        try:
            results.append(("ok", server.CallUDF("addin.udfs", fname, args, journal, caller)))
        except Exception:  # what Excel would show: the VBA wrapper puts Err.Description in the cell
            results.append(("raised", traceback.format_exc()))
    report["calls"] = results
    report["pro_imported"] = any(m.startswith("xlwings.pro.") for m in sys.modules)
    return report


def main(argv: list[str]) -> int:
    cases_path, out_path = argv
    with open(cases_path, "rb") as fh:
        cases = pickle.load(fh)
    report = run(cases)
    with open(out_path, "wb") as fh:
        pickle.dump(report, fh)
    return 0


if __name__ == "__main__":
    # Run through the importable module so pickled stand-ins (TimeType) are one and the same class.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _winstubs

    code = _winstubs.main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)  # skip xlwings' atexit COM clean-up: there is no Excel to clean up
