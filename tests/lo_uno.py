"""Drive LibreOffice Calc the way a trader does, through UNO, and report what it shows.

Run by Debian's own ``/usr/bin/python3`` (python3-uno ships with libreoffice-calc and is not
importable from a virtualenv), as a subprocess of the tests::

    /usr/bin/python3 tests/lo_uno.py JOB.json

JOB.json::

    {"input": "J.xlsx",                  # the workbook to open
     "locale": "de-DE",                  # the profile's locale (Tools > Options > Language Settings)
     "recalc_on_load": false,            # false: open as a user with default settings (cached values shown)
     "steps": [                          # done in order, as a user would
        ["type", "Settings", "B3", "1:30"],          # setFormula: parsed as typed input in the locale
        ["delete_rows", "Trades", 5, 1],             # (sheet, first row 1-based, count)
        ["insert_rows", "Trades", 5, 1],
        ["sort", "Trades", "Symbol", true],          # the Trades table's data rows by a header, ascending?
        ["calculate_all"]],                          # hard recalculation (Ctrl+Shift+F9)
     "dump": "out.json",                 # every sheet's used area: value, text and formula of each cell
     "save": "saved.xlsx"}               # optional: save as Excel 2007-365 (.xlsx)

The dump holds, per sheet, ``{"cells": {"A1": [kind, value, text, formula]}}`` with kind ``n``
(number), ``s`` (text), ``e`` (error: the text LibreOffice shows, e.g. ``#REF!`` or ``Err:502``)
for every non-empty cell.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uno  # noqa: F401  (python3-uno)
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>{locale}</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooLocale" oor:op="fuse"><value>en-US</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{recalc}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{recalc}</value></prop></item>
</oor:items>
"""


def _prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _start(profile: Path, locale: str, recalc: bool):
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(
        _XCU.format(locale=locale, recalc=0 if recalc else 1), encoding="utf-8")
    pipe = "lo_uno_" + uuid.uuid4().hex
    proc = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         f"-env:UserInstallation={profile.as_uri()}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + 120
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("LibreOffice did not start")
            time.sleep(0.3)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return proc, desktop


def _sheet(doc, name):
    return doc.Sheets.getByName(name)


def _used(sheet):
    cur = sheet.createCursor()
    cur.gotoEndOfUsedArea(False)
    return cur.RangeAddress.EndRow, cur.RangeAddress.EndColumn


def _col_letters(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return s


def _dump(doc) -> dict:
    out = {}
    for name in doc.Sheets.ElementNames:
        sh = _sheet(doc, name)
        last_row, last_col = _used(sh)
        cells = {}
        rng = sh.getCellRangeByPosition(0, 0, last_col, last_row)
        formulas = rng.getFormulaArray()
        for r in range(last_row + 1):
            for c in range(last_col + 1):
                f = formulas[r][c]
                if f == "":
                    continue
                cell = sh.getCellByPosition(c, r)
                text = cell.getString()
                if f.startswith("=") or f.startswith("{="):
                    err = cell.getError()
                    if err:
                        kind, value = "e", text
                    elif cell.FormulaResultType2 == 2:  # com.sun.star.sheet.FormulaResult.STRING
                        kind, value = "s", text
                    else:
                        kind, value = "n", cell.getValue()
                    cells[f"{_col_letters(c)}{r + 1}"] = [kind, value, text, f]
                else:
                    t = cell.getType().value  # EMPTY, VALUE, TEXT, FORMULA
                    kind = "n" if t == "VALUE" else "s"
                    value = cell.getValue() if kind == "n" else text
                    cells[f"{_col_letters(c)}{r + 1}"] = [kind, value, text, None]
        out[name] = {"cells": cells, "last_row": last_row + 1, "last_col": last_col + 1}
    return out


def _header_col(sheet, header: str, row: int = 0) -> int:
    last_row, last_col = _used(sheet)
    for c in range(last_col + 1):
        if sheet.getCellByPosition(c, row).getString() == header:
            return c
    raise SystemExit(f"no column {header!r} in row {row + 1} of {sheet.Name}")


def _step(doc, step):
    op, *args = step
    if op == "type":
        name, ref, text = args
        _sheet(doc, name).getCellRangeByName(ref).setFormula(text)
    elif op == "delete_rows":
        name, first, count = args
        _sheet(doc, name).Rows.removeByIndex(first - 1, count)
    elif op == "insert_rows":
        name, first, count = args
        _sheet(doc, name).Rows.insertByIndex(first - 1, count)
    elif op == "sort":
        name, header, ascending = args
        sh = _sheet(doc, name)
        col = _header_col(sh, header)
        last_row, last_col = _used(sh)
        rng = sh.getCellRangeByPosition(0, 1, last_col, last_row)
        field = uno.createUnoStruct("com.sun.star.table.TableSortField")
        field.Field = col
        field.IsAscending = bool(ascending)
        desc = rng.createSortDescriptor()
        for p in desc:
            if p.Name == "SortFields":
                p.Value = uno.Any("[]com.sun.star.table.TableSortField", (field,))
            elif p.Name == "ContainsHeader":
                p.Value = False
        rng.sort(desc)
    elif op == "calculate_all":
        doc.calculateAll()
    else:
        raise SystemExit(f"unknown step {op!r}")


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    profile = Path(tempfile.mkdtemp(prefix="lo_uno_profile_"))
    proc, desktop = _start(profile, job.get("locale", "en-US"), bool(job.get("recalc_on_load", False)))
    try:
        src = Path(job["input"]).resolve()
        doc = desktop.loadComponentFromURL(src.as_uri(), "_blank", 0, (_prop("Hidden", True),))
        for step in job.get("steps", []):
            _step(doc, step)
        if job.get("dump"):
            Path(job["dump"]).write_text(json.dumps(_dump(doc)), encoding="utf-8")
        if job.get("save"):
            doc.storeToURL(Path(job["save"]).resolve().as_uri(), (_prop("FilterName", "Calc MS Excel 2007 XML"),))
        doc.close(True)
    finally:
        try:
            desktop.terminate()
        except Exception:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
