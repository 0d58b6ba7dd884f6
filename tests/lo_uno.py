"""Drive LibreOffice Calc the way a trader does, through UNO, and report what it shows.

Run by Debian's own ``/usr/bin/python3`` (python3-uno ships with libreoffice-calc and is not
importable from a virtualenv), as a subprocess of the tests::

    /usr/bin/python3 tests/lo_uno.py JOB.json       # one job, then LibreOffice ends
    /usr/bin/python3 tests/lo_uno.py --serve        # jobs as JSON lines on stdin, LibreOffice stays up

The tests' own Python (the virtualenv) imports this file too, for :class:`Office` and
:func:`office`: a job runner that keeps one ``--serve`` process (and the LibreOffice it started) for
the whole test session, so each job costs its document's load and not LibreOffice's start;
:func:`convert` (``soffice --convert-to`` as a job) and :func:`available` build on it.

JOB.json::

    {"input": "J.xlsx",                  # the workbook to open
     "locale": "de-DE",                  # the profile's locale (Tools > Options > Language Settings)
     "recalc_on_load": false,            # false: open as a user with default settings (cached values shown)
     "steps": [                          # done in order, as a user would
        ["type", "Settings", "B3", "1:30"],          # setFormula: parsed as typed input in the locale
        ["delete_rows", "Trades", 5, 1],             # (sheet, first row 1-based, count)
        ["insert_rows", "Trades", 5, 1],
        ["sort", "Trades", "Symbol", true],          # the Trades table's data rows by a header, ascending?
        ["sort_columns", "Trades", 7, true, 40],     # rows 2.. of the first 40 columns by column 7 (0-based)
        ["fill_formulas", "Trades", [8, 9], 20, 39], # rows 8, 9 get columns 20..39 (0-based) of the row
                                                     # above, references moved (Excel's table row insert)
        ["calculate_all"],                           # hard recalculation (Ctrl+Shift+F9)
        ["dump", "before.json"]],                    # the dump (below) of the document as it stands now
     "sheets": ["Stats"],                # optional: the sheets a dump holds (default every sheet)
     "dump": "out.json",                 # every sheet's used area: value, text and formula of each cell
     "save": "saved.xlsx",               # optional: save as Excel 2007-365 (.xlsx)
     "save_filter": "calc_pdf_Export",   # optional: save with another export filter (PDF, CSV, ...)
     "save_options": "44,34,76,1"}       # optional: that filter's options (CSV: separator, quote, ...)

The dump holds, per sheet, ``{"cells": {"A1": [kind, value, text, formula]}}`` with kind ``n``
(number), ``s`` (text), ``e`` (error: the text LibreOffice shows, e.g. ``#REF!`` or ``Err:502``)
for every non-empty cell, and the used area's ``last_row`` and ``last_col`` (1-based).

Exit codes of a single job: 0 done; 1 the job failed (the reason on stderr). ``--serve`` answers
each line with one line ``{"ok": true}`` or ``{"ok": false, "error": "..."}``.

Speed: the dump reads every cell (kind, value, displayed text, formula), a few UNO calls each.
Across the process boundary each call is a round trip through the pipe (milliseconds for a
journal's tens of thousands of calls: most of a job's time). So the dump runs inside LibreOffice:
this same file is loaded there by LibreOffice's own Python component loader (``python3-uno``'s
``com.sun.star.loader.Python``) as a ``com.sun.star.task.XJob`` that returns the dump as JSON. It is
the same :func:`_dump` code, so the output is the same; where the loader is missing the dump runs
over the pipe as before.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

try:  # python3-uno: Debian's /usr/bin/python3 and LibreOffice's own Python have it, a virtualenv does not
    import uno
    import unohelper
    from com.sun.star.beans import NamedValue, PropertyValue
    from com.sun.star.connection import NoConnectException
    from com.sun.star.task import XJob
except ImportError:
    uno = None

UNO_PYTHON = "/usr/bin/python3"
_IMPL = "lo_uno.Dump"  # the in-process dump's implementation name

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


class _Soffice:
    """One headless LibreOffice with its own profile (locale and recalculation mode are profile
    settings read at its start) and its own pipe: parallel test processes never share one."""

    def __init__(self, locale: str, recalc: bool):
        self.profile = Path(tempfile.mkdtemp(prefix="lo_uno_profile_"))
        (self.profile / "user").mkdir(parents=True, exist_ok=True)
        (self.profile / "user" / "registrymodifications.xcu").write_text(
            _XCU.format(locale=locale, recalc=0 if recalc else 1), encoding="utf-8")
        pipe = "lo_uno_" + uuid.uuid4().hex
        self.proc = subprocess.Popen(
            ["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             f"-env:UserInstallation={self.profile.as_uri()}", f"--accept=pipe,name={pipe};urp;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("LibreOffice did not start")
                time.sleep(0.3)
        self.desktop = self.ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", self.ctx)
        self._dumper = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def dump(self, doc, sheets) -> dict:
        """:func:`_dump` of ``doc``, run inside LibreOffice when its Python loader is there."""
        if self._dumper is None:
            try:
                loader = self.ctx.ServiceManager.createInstanceWithContext("com.sun.star.loader.Python", self.ctx)
                factory = loader.activate(_IMPL, "", Path(__file__).resolve().as_uri(), None)
                self._dumper = factory.createInstanceWithContext(self.ctx)
            except Exception as exc:  # no python loader in this LibreOffice: over the pipe, slower
                print(f"lo_uno: the dump runs over the pipe ({exc})", file=sys.stderr)
                self._dumper = False
        if self._dumper is False:
            return _dump(doc, sheets)
        args = (NamedValue("doc", doc), NamedValue("sheets", json.dumps(sheets)))
        return json.loads(self._dumper.execute(args))

    def stop(self) -> None:
        try:
            if getattr(self, "desktop", None) is not None:
                self.desktop.terminate()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


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


def _dump(doc, sheets=None) -> dict:
    out = {}
    for name in doc.Sheets.ElementNames:
        if sheets is not None and name not in sheets:
            continue
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


if uno is not None:
    class _DumpJob(unohelper.Base, XJob):
        """:func:`_dump` inside LibreOffice (loaded there by its Python component loader): the
        document arrives as the argument ``doc``, the sheets as JSON (null: every sheet)."""

        def __init__(self, ctx):
            self.ctx = ctx

        def execute(self, args):
            named = {a.Name: a.Value for a in args}
            return json.dumps(_dump(named["doc"], json.loads(named.get("sheets", "null"))))

    g_ImplementationHelper = unohelper.ImplementationHelper()
    g_ImplementationHelper.addImplementation(_DumpJob, _IMPL, (_IMPL,))


def _header_col(sheet, header: str, row: int = 0) -> int:
    last_row, last_col = _used(sheet)
    for c in range(last_col + 1):
        if sheet.getCellByPosition(c, row).getString() == header:
            return c
    raise SystemExit(f"no column {header!r} in row {row + 1} of {sheet.Name}")


def _write_dump(office: _Soffice, doc, path: str, sheets) -> None:
    Path(path).write_text(json.dumps(office.dump(doc, sheets)), encoding="utf-8")


def _step(office: _Soffice, doc, step, sheets=None):
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
    elif op == "sort_columns":  # as Data > Sort does on rows 2.. of the first ncols columns
        name, col, ascending, ncols = args
        sh = _sheet(doc, name)
        last_row, _ = _used(sh)
        rng = sh.getCellRangeByPosition(0, 1, ncols - 1, last_row)
        field = uno.createUnoStruct("com.sun.star.table.TableSortField")
        field.Field, field.IsAscending, field.IsCaseSensitive = col, bool(ascending), False
        desc = (_prop("SortFields", uno.Any("[]com.sun.star.table.TableSortField", (field,))),
                _prop("ContainsHeader", False))
        uno.invoke(rng, "sort", (desc,))
    elif op == "fill_formulas":  # Excel's insert of a table row: the calculated columns from the row above
        name, rows, first, last = args
        sh = _sheet(doc, name)
        for row in rows:
            src = sh.getCellRangeByPosition(first, row - 2, last, row - 2).RangeAddress
            sh.copyRange(sh.getCellByPosition(first, row - 1).CellAddress, src)
    elif op == "calculate_all":
        doc.calculateAll()
    elif op == "dump":
        _write_dump(office, doc, args[0], sheets)
    else:
        raise SystemExit(f"unknown step {op!r}")


def run_job(office: _Soffice, job: dict) -> None:
    """Open the job's document in ``office``, do its steps, write its dump and copy; close it."""
    src = Path(job["input"]).resolve()
    doc = office.desktop.loadComponentFromURL(src.as_uri(), "_blank", 0, (_prop("Hidden", True),))
    if doc is None:
        lock = src.with_name(f".~lock.{src.name}#")
        raise SystemExit(f"LibreOffice could not open {src}" + (
            f" ({lock.name} beside it: a LibreOffice that ended without closing it left it)" if lock.exists() else ""))
    try:
        sheets = job.get("sheets")
        for step in job.get("steps", []):
            _step(office, doc, step, sheets)
        if job.get("dump"):
            _write_dump(office, doc, job["dump"], sheets)
        if job.get("save"):
            args = (_prop("FilterName", job.get("save_filter", "Calc MS Excel 2007 XML")),)
            if job.get("save_options"):
                args += (_prop("FilterOptions", job["save_options"]),)
            doc.storeToURL(Path(job["save"]).resolve().as_uri(), args)
    finally:
        doc.close(True)


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    office = _Soffice(job.get("locale", "en-US"), bool(job.get("recalc_on_load", False)))
    try:
        run_job(office, job)
    finally:
        office.stop()
    return 0


def serve(max_running: int = 2) -> int:
    """Jobs as JSON lines on stdin, one answer line each on stdout; a LibreOffice per (locale,
    recalculation mode), started on its first job and kept (the ``max_running`` last used)."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # nothing but the answers on the answer pipe
    running: dict[tuple, _Soffice] = {}
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            key = None
            try:
                job = json.loads(line)
                key = (job.get("locale", "en-US"), bool(job.get("recalc_on_load", False)))
                office = running.pop(key, None)
                if office is not None and not office.alive():
                    office.stop()
                    office = None
                if office is None:
                    while len(running) >= max_running:
                        running.pop(next(iter(running))).stop()
                    office = _Soffice(*key)
                running[key] = office  # the most recently used last
                run_job(office, job)
                answer = {"ok": True}
            except BaseException as exc:  # SystemExit from a step, a UNO exception, a dead LibreOffice
                if isinstance(exc, KeyboardInterrupt):
                    raise
                traceback.print_exc(file=sys.stderr)
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                if key in running and not running[key].alive():
                    running.pop(key).stop()
            answers.write(json.dumps(answer) + "\n")
            answers.flush()
    finally:
        for office in running.values():
            office.stop()
    return 0


# The tests' side (any Python): one --serve process for the whole session ---------------------------

def available() -> bool:
    """LibreOffice on PATH and python3-uno importable by :data:`UNO_PYTHON` (what the jobs need)."""
    if shutil.which("soffice") is None or not Path(UNO_PYTHON).exists():
        return False
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True, env=env).returncode == 0


class Office:
    """Runs jobs (the format above) in one ``lo_uno.py --serve`` process, started on the first job
    and kept until :meth:`close`; each job opens its own document and closes it."""

    def __init__(self, python: str = UNO_PYTHON):
        self.python = python
        self._proc = None
        self._err = None

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # not the venv's paths
        self._err = tempfile.TemporaryFile()
        # its own process group: on a timeout the server and the LibreOffice it started end together
        self._proc = subprocess.Popen([self.python, str(Path(__file__).resolve()), "--serve"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                      text=True, encoding="utf-8", env=env, start_new_session=True)

    def _stderr_tail(self) -> str:
        if self._err is None:
            return ""
        self._err.seek(0)
        return self._err.read().decode("utf-8", "replace")[-3000:]

    def run(self, job: dict, timeout: float = 600) -> dict | None:
        """Do ``job``; its dump (the ``dump`` file read back), or None without one."""
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        self._err.seek(0)
        self._err.truncate()
        self._proc.stdin.write(json.dumps(job) + "\n")
        self._proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                tail = self._stderr_tail()
                self.close(kill=True)
                raise TimeoutError(f"LibreOffice job not done in {timeout} s: {job}\n{tail}")
        line = self._proc.stdout.readline()
        if not line:
            tail = self._stderr_tail()
            self.close(kill=True)
            raise RuntimeError(f"the LibreOffice job runner ended: {job}\n{tail}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"LibreOffice job failed: {answer['error']}\n{job}\n{self._stderr_tail()}")
        if job.get("dump"):
            return json.loads(Path(job["dump"]).read_text(encoding="utf-8"))
        return None

    def close(self, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if not kill:
            try:
                proc.stdin.close()
                proc.wait(timeout=90)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if kill and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        if self._err is not None:
            self._err.close()
            self._err = None


_OFFICE: Office | None = None


def office() -> Office:
    """The test session's :class:`Office` (one per test process: pytest-xdist workers each have theirs)."""
    global _OFFICE
    if _OFFICE is None:
        _OFFICE = Office()
        atexit.register(close_office)
    return _OFFICE


def convert(src: Path, fmt: str, outdir: Path, timeout: float = 600, recalc: bool = False) -> Path:
    """What ``tools.render_docs.convert`` does (``soffice --convert-to fmt``: ``xlsx:FILTER``,
    ``pdf``, ``csv:FILTER:OPTIONS``), as a job in the session's LibreOffice; the converted file's
    path. ``recalc``: LibreOffice recalculates every formula on loading."""
    ext, _, rest = fmt.partition(":")
    name, _, options = rest.partition(":")
    if not name:
        name = {"pdf": "calc_pdf_Export", "xlsx": "Calc MS Excel 2007 XML"}[ext]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    out = outdir / f"{Path(src).stem}.{ext}"
    job = {"input": str(src), "recalc_on_load": recalc, "save": str(out), "save_filter": name}
    if options:
        job["save_options"] = options
    office().run(job, timeout=timeout)
    if not out.exists():
        raise RuntimeError(f"LibreOffice did not write {out}")
    return out


def close_office() -> None:
    global _OFFICE
    if _OFFICE is not None:
        _OFFICE.close()
        _OFFICE = None


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    sys.exit(main(sys.argv[1]))
