"""The ``record_plan`` script through xlwings' own code, without Excel: the workbook as the Office.js
client sends it (``xw.Book(json=...)``, xlwings' remote Book: the values of every sheet and its tables'
addresses), and the actions xlwings sends back, which the client applies to the workbook. Once as a
plain call (the book passed in), once through xlwings' ``@script`` wrapper as xlwings Lite and xlwings
Server run it (``XLWINGS_ON_SERVER=true``: an async wrapper called with the user and the book)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, time as dtime
from pathlib import Path

import openpyxl
import pytest

from addin.journal import plans as PL
from addin.journal.workbook import build_journal
from addin.plans import plan_record, planner_values
from conftest import ROOT

xw = pytest.importorskip("xlwings")


def client_json(path: Path) -> dict:
    """The workbook ``path`` as xlwings' Office.js client sends it (values of the used range, tables)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for ws in wb.worksheets:
        # a date as an ISO string; a 0 serial under a date format (the Accounts block's Counted from
        # of an empty journal) reads as a time of day: its ISO string too
        values = [["" if c.value is None else c.value.isoformat(timespec="milliseconds") + "Z" if isinstance(c.value, datetime)
                   else c.value.isoformat() if isinstance(c.value, dtime) else c.value
                   for c in r] for r in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column)]
        tables = []
        for t in ws.tables.values():
            (ca, ra), (cb, rb) = (re.match(r"([A-Z]+)(\d+)", x).groups() for x in t.ref.split(":"))
            tables.append({"name": t.displayName, "range_address": t.ref, "header_row_range_address": f"{ca}{ra}:{cb}{ra}",
                           "data_body_range_address": f"{ca}{int(ra) + 1}:{cb}{rb}", "total_row_range_address": None,
                           "show_headers": True, "show_totals": False, "show_autofilter": True, "table_style": ""})
        sheets.append({"name": ws.title, "values": values, "pictures": [], "tables": tables, "shapes": [],
                       "charts": [], "notes": []})
    return {"client": "Office.js", "version": xw.__version__, "sheets": sheets, "names": [],
            "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"}}


RUN = r"""
import asyncio, json, os, sys
# xlwings' remote Book asks for a key when xlwings is imported; xlwings Server's own wasm runtime sets
# this one (tests/pyodide/lite_runtime.py)
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
if sys.argv[2] == "server":
    os.environ["XLWINGS_ON_SERVER"] = "true"
import xlwings as xw
import addin.plans as P
book = xw.Book(json=json.load(open(sys.argv[1])))
if sys.argv[2] == "server":  # xlwings' @script wrapper: async, called with the user and the book
    got = asyncio.run(P.record_plan(None, book))
    record, meta = None, getattr(P.record_plan, "__xlscript__", None) is not None
else:
    record, meta, got = P.record_plan(book), None, book
print(json.dumps({"record": record, "meta": meta, "same_book": got is book, "actions": book.json()["actions"],
                  "sheets": [s.name for s in book.sheets]}, default=str))
"""


def run(path: Path, mode: str) -> dict:
    (path.parent / "book.json").write_text(json.dumps(client_json(path)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", RUN, str(path.parent / "book.json"), mode], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _planner(path: Path) -> dict:
    ws = openpyxl.load_workbook(path, data_only=True)["Planner"]
    return planner_values([[c.value for c in r] for r in ws.iter_rows(max_col=2)])


def test_record_plan_writes_the_row_into_the_tables_empty_row(tmp_path):
    path = tmp_path / "j.xlsx"
    build_journal(path, [])
    out = run(path, "plain")
    recorded = datetime.fromisoformat(out["record"]["Recorded"])
    want = plan_record(_planner(path), recorded)
    assert want["Size"] == 0.2 and want["Risk amount"] == 100.0
    assert {k: v for k, v in out["record"].items() if k != "Recorded"} == {k: v for k, v in want.items()
                                                                         if k != "Recorded"}
    actions = out["actions"]
    assert [a["func"] for a in actions] == ["setValues"]
    a = actions[0]
    assert out["sheets"][a["sheet_position"]] == "Plans" and (a["start_row"], a["start_column"]) == (1, 0)
    row = a["values"][0]
    assert len(row) == len(PL.HEADERS)
    for head, v in zip(PL.HEADERS, row):
        if head in PL.FORMULAS:
            assert v == "=" + PL.FORMULAS[head]
        elif head == "Recorded":
            assert datetime.fromisoformat(str(v)) == recorded
        else:
            assert v == ("" if want[head] is None else want[head]), head


def test_record_plan_below_a_full_table_resizes_it(tmp_path):
    from addin.plans import record_into_journal

    path = tmp_path / "j.xlsx"
    build_journal(path, [])
    record_into_journal(path, now=datetime(2024, 1, 2, 9, 0))  # the empty row is taken
    actions = run(path, "plain")["actions"]
    assert [a["func"] for a in actions] == ["resizeTable", "setValues"]
    last = openpyxl.utils.get_column_letter(len(PL.HEADERS))
    assert actions[0]["args"][1].replace("$", "") == f"A1:{last}3"
    assert actions[1]["start_row"] == 2


def test_record_plan_through_xlwings_script_wrapper_as_lite_runs_it(tmp_path):
    path = tmp_path / "j.xlsx"
    build_journal(path, [])
    out = run(path, "server")
    assert out["meta"] and out["same_book"]
    assert [a["func"] for a in out["actions"]] == ["setValues"]
    assert out["actions"][0]["values"][0][1:3] == ["EURUSD", "long"]
