"""The journal is the trader's: a re-fill keeps every edit, and refuses what it would damage.

Trader edits are made the way a trader's program would make them: the journal opened, changed and
saved with openpyxl (so the file is re-written by another writer, with shared strings, as Excel's
would be). Each re-fill reads real statements.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import shared_statement
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.table import TableColumn, TableFormula
from test_fill import ROOT, cli, cli_inprocess, file_block, folder_listing, summary_value

from addin.fill import fill_journal, sample_statement
from addin.journal import columns as C
from journal_reader import read_journal

TRADOVATE = ("tradovate_performance_csv/arielSofer_Performance.csv",
             "tradovate_performance_csv/arielSofer_Performance_1.csv")
MAPPING = ROOT / "addin" / "statements" / "example_mapping.json"
EXAMPLE = ROOT / "addin" / "samples" / "example_trades.csv"


def header(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1] if c.value is not None}


def row_of(ws, trade_id: str) -> int:
    col = header(ws)["Trade ID"]
    for r in range(2, ws.max_row + 1):
        if str(ws.cell(r, col).value) == trade_id:
            return r
    raise AssertionError(f"trade {trade_id} not in Trades")


def cells(journal: Path, trade_id: str, *names: str) -> tuple:
    wb = load_workbook(journal)
    ws = wb["Trades"]
    h = header(ws)
    r = row_of(ws, trade_id)
    out = tuple(ws.cell(r, h[n]).value for n in names)
    wb.close()
    return out


def trade_ids(journal: Path) -> list[str]:
    wb = load_workbook(journal, read_only=True)
    ws = wb["Trades"]
    rows = ws.iter_rows(values_only=True)
    h = list(next(rows))
    k = h.index("Trade ID")
    ids = [str(r[k]) for r in rows if r[k] is not None]
    wb.close()
    return ids


def extend_table(ws, name: str, values: dict[int, object] | None = None, formula: str | None = None) -> int:
    """Add a column to the Trades table as Excel does when a trader types a header beside it."""
    t = ws.tables["Trades"]
    first, last = t.ref.split(":")
    col = ws.max_column + 1
    from openpyxl.utils import get_column_letter, range_boundaries
    min_col, min_row, max_col, max_row = range_boundaries(t.ref)
    col = max_col + 1
    ws.cell(1, col, name)
    t.tableColumns.append(TableColumn(id=len(t.tableColumns) + 1, name=name,
                                      calculatedColumnFormula=TableFormula(attr_text=formula) if formula else None))
    for r in range(2, max_row + 1):
        if formula:
            ws.cell(r, col, "=" + formula)
        elif values and r in values:
            ws.cell(r, col, values[r])
    t.ref = f"{first}:{get_column_letter(col)}{max_row}"
    t.autoFilter.ref = t.ref
    return col


# ---------------------------------------------------------------------------------------------
# Every edit survives a fill of a newer statement
# ---------------------------------------------------------------------------------------------

@pytest.mark.statements
def test_a_refill_keeps_every_trader_edit_and_appends_the_new_trades(tmp_path):
    a, b = (shared_statement(r) for r in TRADOVATE)
    journal = tmp_path / "Journal.xlsx"
    fill_journal([a], journal, progress=False)
    first_ids = trade_ids(journal)
    t1, t2 = first_ids[0], first_ids[1]

    wb = load_workbook(journal)
    ws = wb["Trades"]
    h = header(ws)
    r1, r2 = row_of(ws, t1), row_of(ws, t2)
    for name, v in (("Setup", "opening range"), ("Tags", "A+, trend"), ("Mistakes", "late entry"),
                    ("Notes", "followed the plan"), ("Screenshot", "https://example.com/shot1.png")):
        ws.cell(r1, h[name], v)
    entry = ws.cell(r2, h["Entry"]).value
    ws.cell(r2, h["Stop"], round(entry * 0.99, 2))
    ws.cell(r2, h["Target"], round(entry * 1.02, 2))
    emotion = extend_table(ws, "Emotion", {r1: "calm", r2: "greedy"})
    double = extend_table(ws, "Twice P/L", formula="Trades[[#This Row],[Net P/L]]*2")
    ws.column_dimensions["F"].width = 31
    ws.cell(r1, h["Entry"]).number_format = "0.000"
    ws.freeze_panes = "C2"
    notes = wb.create_sheet("My notes")
    notes["A1"] = "Week 12: cut size after two losses"
    notes["A2"] = 1
    notes["A3"] = 3
    chart = BarChart()
    chart.add_data(Reference(notes, min_col=1, min_row=2, max_row=3))
    notes.add_chart(chart, "C3")
    settings = wb["Settings"]
    settings["B4"] = "25 000"
    settings["B5"] = "1:100"
    settings["B7"] = "2%"
    wb["Dashboard"]["B3"] = t1
    wb["Planner"]["B6"] = "GBPUSD"
    wb.save(journal)
    wb.close()
    before = zipfile.ZipFile(journal)
    before_parts = {n: before.read(n) for n in before.namelist()}

    run = cli(b, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, b.name)
    added = int(summary_value(block, "added"))
    assert added > 0
    ids = trade_ids(journal)
    assert ids[:len(first_ids)] == first_ids, "existing trades keep their rows"
    assert len(ids) == len(first_ids) + added

    wb = load_workbook(journal)
    ws = wb["Trades"]
    assert header(ws) == {**h, "Emotion": emotion, "Twice P/L": double}
    r1, r2 = row_of(ws, t1), row_of(ws, t2)
    assert [ws.cell(r1, h[n]).value for n in ("Setup", "Tags", "Mistakes", "Notes", "Screenshot")] == [
        "opening range", "A+, trend", "late entry", "followed the plan", "https://example.com/shot1.png"]
    assert ws.cell(r2, h["Stop"]).value == round(entry * 0.99, 2)
    assert ws.cell(r2, h["Target"]).value == round(entry * 1.02, 2)
    assert (ws.cell(r1, emotion).value, ws.cell(r2, emotion).value) == ("calm", "greedy")
    last = ws.max_row
    assert ws.tables["Trades"].ref == f"A1:{ws.cell(1, double).column_letter}{last}"
    # a new trade's row gets every calculated column's formula, the trader's own included
    assert ws.cell(last, double).value == f"=Trades[[#This Row],[Net P/L]]*2"
    assert ws.cell(last, h["Net P/L"]).value == "=" + C.formula(C.BY_NAME["Net P/L"])
    # a running column refers to the row above (the table's formula moved down, as Excel fills it)
    assert ws.cell(last, h["Cumulative P/L"]).value == "=" + C.row_formula(C.BY_NAME["Cumulative P/L"], last)
    assert ws.column_dimensions["F"].width == 31
    assert ws.cell(r1, h["Entry"]).number_format == "0.000"
    assert ws.freeze_panes == "C2"
    assert wb["My notes"]["A1"].value == "Week 12: cut size after two losses"
    assert [wb["Settings"][c].value for c in ("B4", "B5", "B7")] == ["25 000", "1:100", "2%"]
    assert wb["Dashboard"]["B3"].value == t1
    assert wb["Planner"]["B6"].value == "GBPUSD"
    wb.close()

    # Parts the statement does not own are byte-for-byte those the trader saved.
    after = zipfile.ZipFile(journal)
    owned = {"xl/workbook.xml"}
    for name in after.namelist():
        if name in before_parts and after.read(name) != before_parts[name]:
            owned.add(name)
    trader_parts = [n for n in before_parts if "chart" in n or "drawing" in n or "styles" in n or "theme" in n]
    changed_trader = [n for n in trader_parts if n in owned and "chart" not in n]
    assert not changed_trader, changed_trader
    sheets = {n: before_parts[n] for n in before_parts if n.startswith("xl/worksheets/sheet")}
    changed_sheets = {n for n in sheets if n in owned}
    # Trades, Cash, Rejected, the ledger, and the summary sheets laid out again (Dashboard, Stats, Account, Planner)
    assert len(changed_sheets) <= 8, changed_sheets
    notes_part = next(n for n in sheets if b"Week 12" in sheets[n] or b"Week 12" not in b"")
    assert set(before_parts) <= set(after.namelist()) | {"xl/calcChain.xml"}
    # settings typed as text were read with the functions' parsers: the new trades' figures use 1:100
    contents = read_journal(journal)
    assert contents.settings.account_leverage == 100 and contents.settings.starting_balance == 25_000
    assert contents.settings.risk_per_trade == 0.02
    del notes_part


def _example_journal(tmp_path: Path) -> Path:
    journal = tmp_path / "j.xlsx"
    run = cli(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    return journal


def _later(tmp_path: Path, stop: str = "147.300") -> Path:
    """The example's open USDJPY trade, closed in a later export (with the stop the broker recorded)."""
    lines = EXAMPLE.read_text().splitlines()
    row = next(line for line in lines if line.startswith("50123547,"))
    closed = row.replace(",,,147.300,149.000,-3.50,0.00,,still open",
                         f",2025-03-17 10:00:00,148.850,{stop},149.000,-3.50,0.00,335.91,closed")
    assert closed != row
    later = tmp_path / "later.csv"
    later.write_text(lines[0] + "\n" + closed + "\n")
    return later


def test_a_trade_closed_later_keeps_the_traders_notes_and_typed_stop_and_flags_the_conflict(tmp_path):
    journal = _example_journal(tmp_path)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    h = header(ws)
    r = row_of(ws, "50123547")
    ws.cell(r, h["Notes"], "waiting for the BoJ; moved my stop")
    ws.cell(r, h["Stop"], 147.05)
    ws.cell(r, h["Setup"], "carry")
    wb.save(journal)

    run = cli(_later(tmp_path), "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, "later.csv")
    assert (summary_value(block, "added"), summary_value(block, "updated")) == ("0", "1")
    assert summary_value(block, "closed since last import") == "1"
    notes, stop, setup, exit_, profit, flags = cells(journal, "50123547", "Notes", "Stop", "Setup", "Exit",
                                                     "Profit", "Flags")
    assert (notes, stop, setup) == ("waiting for the BoJ; moved my stop", 147.05, "carry")
    assert (exit_, profit) == (148.85, 335.91)
    assert "statement stop 147.3 differs from the 147.05 typed in the journal: the typed one kept" in flags


def test_a_statement_stop_fills_an_empty_stop_but_a_trader_stop_wins_over_an_empty_statement_stop(tmp_path):
    journal = _example_journal(tmp_path)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    h = header(ws)
    r = row_of(ws, "50123547")
    ws.cell(r, h["Stop"], None)
    ws.cell(r, h["Target"], 150.5)
    wb.save(journal)
    later = _later(tmp_path)
    later.write_text(later.read_text().replace(",149.000,", ",,"))  # the later export has no target
    run = cli(later, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    assert cells(journal, "50123547", "Stop", "Target") == (147.3, 150.5)


def test_an_account_typed_differently_a_manual_trade_and_a_deleted_trade(tmp_path):
    journal = _example_journal(tmp_path)
    n = len(trade_ids(journal))
    wb = load_workbook(journal)
    ws = wb["Trades"]
    h = header(ws)
    # the trader re-spelled the account of one trade, deleted another, and typed a trade by hand
    ws.cell(row_of(ws, "50123401"), h["Account"], "  demo-1001 ")
    ws.cell(row_of(ws, "50123401"), h["Broker"], "EXAMPLE FX BROKER")
    gone = row_of(ws, "50123417")
    ws.delete_rows(gone)
    t = ws.tables["Trades"]
    first, last = t.ref.split(":")
    col = "".join(ch for ch in last if ch.isalpha())
    end = int("".join(ch for ch in last if ch.isdigit()))
    manual = end  # the row freed by the deletion is the table's last row now: the trader types there
    for name, v in (("Symbol", "EURUSD"), ("Side", "long"), ("Quantity", 0.2), ("Entry", 1.0812),
                    ("Notes", "phone trade")):
        ws.cell(manual, h[name], v)
    wb.save(journal)

    run = cli(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, EXAMPLE.name)
    assert summary_value(block, "added") == "0"
    assert "deleted in the journal, not re-added: 1" in block
    ids = trade_ids(journal)
    assert "50123417" not in ids and ids.count("50123401") == 1 and len(ids) == n - 1
    wb = load_workbook(journal)
    ws = wb["Trades"]
    assert ws.cell(manual, h["Notes"]).value == "phone trade"
    assert ws.cell(manual, h["Trade ID"]).value is None and ws.cell(manual, h["Entry"]).value == 1.0812
    assert ws.cell(row_of(ws, "50123401"), h["Account"]).value == "  demo-1001 "  # as the trader typed it
    wb.close()
    assert ws.tables["Trades"].ref == f"{first}:{col}{end}"

    run = cli(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress",
              "--restore-deleted")
    assert run.returncode == 0, run.stderr
    assert summary_value(file_block(run.stdout, EXAMPLE.name), "added") == "1"
    assert trade_ids(journal).count("50123417") == 1


# ---------------------------------------------------------------------------------------------
# Settings and options through the pydantic model
# ---------------------------------------------------------------------------------------------

def test_a_setting_that_cannot_be_read_is_an_error_naming_sheet_cell_and_value(tmp_path):
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    wb = load_workbook(journal)
    wb["Settings"]["B4"] = "ten thousand"
    wb.save(journal)
    before = folder_listing(tmp_path)
    rc, out, err = cli_inprocess("--sample", "--journal", journal, "--no-progress")
    assert rc != 0 and out == ""
    assert "Settings!B4 (StartingBalance) holds 'ten thousand'" in err
    assert folder_listing(tmp_path) == before


@pytest.mark.parametrize("args, expect", [
    (("--equity", "nan"), "--equity 'nan' cannot be used: not a finite number"),
    (("--equity", "inf"), "--equity"),
    (("--equity", "-5"), "greater than 0"),
    (("--leverage", "0"), "--leverage"),
    (("--regulator", "NOPE"), "one of ESMA, FCA, ASIC, NFA, JFSA, REGT"),
    (("--stop-out-level", "150%"), "--stop-out-level"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, args, expect):
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    before = folder_listing(tmp_path)
    rc, out, err = cli_inprocess("--sample", "--journal", journal, "--no-progress", *args)
    assert rc == 2 and out == "" and expect in err and "Traceback" not in err
    assert folder_listing(tmp_path) == before


def test_options_typed_the_way_traders_type_them(tmp_path):
    journal = tmp_path / "j.xlsx"
    rc, out, err = cli_inprocess("--sample", "--journal", journal, "--no-progress", "--equity", "25,000.50",
                                 "--leverage", "1:100", "--regulator", "fca", "--stop-out-level", "20%")
    assert rc == 0, err
    s = read_journal(journal).settings
    assert (s.starting_balance, s.account_leverage, s.regulator, s.stop_out_level) == (25000.5, 100, "FCA", 0.2)


# ---------------------------------------------------------------------------------------------
# What the fill refuses: one clear line, exit != 0, the file byte-identical
# ---------------------------------------------------------------------------------------------

def _refused(tmp_path: Path, journal: Path, expect: str) -> None:
    before = folder_listing(tmp_path)
    rc, out, err = cli_inprocess("--sample", "--journal", journal, "--no-progress")
    assert rc == 2 and out == "" and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2 and expect in lines[0], err
    assert folder_listing(tmp_path) == before


def test_a_folder_given_as_the_journal_is_refused(tmp_path):
    (tmp_path / "Journals.xlsx").mkdir()
    _refused(tmp_path, tmp_path / "Journals.xlsx", "is a folder")


def test_a_file_that_is_not_an_xlsx_is_refused(tmp_path):
    (tmp_path / "notes.xlsx").write_text("my notes, not a workbook")
    _refused(tmp_path, tmp_path / "notes.xlsx", "is not an Excel workbook")
    (tmp_path / "notes.txt").write_text("x")
    _refused(tmp_path, tmp_path / "notes.txt", "must end in .xlsx")


def test_a_workbook_that_is_not_a_journal_is_refused(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"] = "my budget"
    wb.save(tmp_path / "Budget.xlsx")
    _refused(tmp_path, tmp_path / "Budget.xlsx", "has no Trades table: it is not a trade journal")


def test_cells_below_the_trades_table_are_refused_not_overwritten(tmp_path):
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    ws.cell(ws.max_row + 2, 3, "my total")
    wb.save(journal)
    before = folder_listing(tmp_path)
    rc, out, err = cli_inprocess(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal,
                                 "--no-progress")
    assert rc == 2 and "below the Trades table is not empty" in err and "sheet 'Trades'" in err
    assert folder_listing(tmp_path) == before


def test_a_journal_open_in_libreoffice_is_refused(tmp_path):
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    (tmp_path / ".~lock.j.xlsx#").write_text("owner")
    _refused(tmp_path, journal, "open in LibreOffice")


def test_a_full_disk_leaves_the_journal_and_folder_as_they_were(tmp_path, monkeypatch):
    import errno
    import zipfile as zf_mod
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    real = zf_mod.ZipFile.writestr

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(zf_mod.ZipFile, "writestr", full)
    before = folder_listing(tmp_path)
    rc, out, err = cli_inprocess(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal,
                                 "--no-progress")
    monkeypatch.setattr(zf_mod.ZipFile, "writestr", real)
    assert rc == 2 and "disk holding" in err and "is full" in err and "Traceback" not in err
    assert folder_listing(tmp_path) == before


def test_a_read_only_folder_is_one_clear_line(tmp_path, monkeypatch):
    """Simulated: the tests may run as root, for whom chmod does not make a folder read-only."""
    import errno
    import os as os_mod

    import addin.fill.lock as lock_mod
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    real = os_mod.open

    def ro(path, flags, *a, **k):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real(path, flags, *a, **k)
    monkeypatch.setattr(lock_mod.os, "open", ro)
    before = folder_listing(tmp_path)
    rc, out, err = cli_inprocess("--sample", "--journal", journal, "--no-progress")
    assert rc == 2 and "must be writable" in err and "Traceback" not in err
    assert folder_listing(tmp_path) == before


def test_temp_files_of_a_killed_fill_are_swept_by_the_next(tmp_path):
    journal = tmp_path / "j.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    (tmp_path / f".~fill-{journal.name}-deadbeef.tmp").write_bytes(b"half a journal")
    (tmp_path / f".~fill-{journal.name}-0badf00d.bak").write_bytes(b"half a backup")
    run = cli(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.xlsx", "j.xlsx.bak1"]


@pytest.mark.libreoffice
def test_libreoffice_opens_a_refilled_journal_with_the_traders_values_and_the_new_trades(tmp_path):
    import csv

    from tools.render_docs import convert, soffice
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    journal = _example_journal(tmp_path)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    h = header(ws)
    ws.cell(row_of(ws, "50123401"), h["Notes"], "kept through the fill")
    wb.save(journal)
    other = tmp_path / "other.csv"
    other.write_text(EXAMPLE.read_text().replace("50123", "60123"))
    rc, out, err = cli_inprocess(other, "--format", "csv", "--mapping", MAPPING, "--journal", journal,
                                 "--no-progress")
    assert rc == 0, err
    n = len(trade_ids(journal))
    # the CSV filter's 12th token picks the sheet to export (LibreOffice 7.2+): Trades is the 2nd
    out_dir = tmp_path / "lo"
    out_dir.mkdir()
    try:
        convert(journal, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2", out_dir)
    except RuntimeError:
        pass  # with a sheet chosen, LibreOffice names the file after the sheet
    [rendered] = list(out_dir.glob("*.csv"))
    with rendered.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    body = [r for r in rows[1:] if any(r)]
    assert len(body) == n
    by_id = {r[head.index("Trade ID")]: r for r in body}
    assert by_id["50123401"][head.index("Notes")] == "kept through the fill"
    assert by_id["60123401"][head.index("Net P/L")] == by_id["50123401"][head.index("Net P/L")]


def test_macros_pivots_comments_and_other_parts_are_copied_byte_for_byte(tmp_path):
    """An .xlsm the trader saved from Excel, with a VBA project, a pivot table and comments: parts
    the fill does not own are copied as they are (openpyxl would drop the VBA and the pivot)."""
    plain = tmp_path / "plain.xlsx"
    fill_journal([sample_statement()], plain, progress=False)
    journal = tmp_path / "Journal.xlsm"
    extra = {"xl/vbaProject.bin": bytes(range(256)) * 40,
             "xl/pivotTables/pivotTable1.xml": b'<?xml version="1.0"?><pivotTableDefinition name="P"/>',
             "xl/comments1.xml": b'<?xml version="1.0"?><comments><commentList/></comments>',
             "customXml/item1.xml": b"<trader-data>keep</trader-data>"}
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(journal, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            out.writestr(info, data)
        for name, data in extra.items():
            out.writestr(name, data)
    before = {n: zipfile.ZipFile(journal).read(n) for n in zipfile.ZipFile(journal).namelist()}
    rc, out, err = cli_inprocess(EXAMPLE, "--format", "csv", "--mapping", MAPPING, "--journal", journal,
                                 "--no-progress")
    assert rc == 0, err
    after = zipfile.ZipFile(journal)
    for name, data in extra.items():
        assert after.read(name) == data, name
    assert after.read("[Content_Types].xml") == before["[Content_Types].xml"]
    changed = sorted(n for n in before if after.read(n) != before[n])
    from addin.fill.xlsx_edit import Package
    pkg = Package.open(journal)
    owned = {pkg.sheet_part(s) for s in ("Trades", "Cash", "Rejected", "Imported")}
    owned |= {t.part for name, t in pkg.tables.items() if name in ("Trades", "Cash", "RejectedRows", "OpenPositions")}
    from addin.fill.summary import SHEETS, _charts_of  # the summary sheets, laid out again, and their charts
    owned |= {pkg.sheet_part(s) for s in SHEETS} | {c for s in SHEETS for c in _charts_of(pkg.zf, pkg.sheet_part(s))}
    pkg.zf.close()
    over_trades = {n for n in before if n.startswith("xl/charts/") and b"'Trades'!" in before[n]}
    assert set(changed) <= {"xl/workbook.xml"} | owned | over_trades, changed
    assert len(read_journal(journal).trades) == 41 + 9


def test_the_template_filled_in_place_grows_its_table_formats_and_charts_with_the_trades(tmp_path):
    from addin.journal.workbook import build_journal
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    rc, out, err = cli_inprocess("--sample", "--journal", journal, "--no-progress")
    assert rc == 0, err
    last = 1 + 41
    with zipfile.ZipFile(journal) as z:
        trades = z.read("xl/worksheets/sheet2.xml").decode()
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    end, beyond = C.letter(len(C.COLUMNS) - 1), C.letter(C.INDEX["Stop beyond stop-out"])
    assert f'<dimension ref="A1:{end}{last}"/>' in trades
    assert f'sqref="{beyond}2:{beyond}{last}"' in trades  # "Stop beyond stop-out" turns red on every trade
    charts = [c for c in charts if "'Trades'!" in c]
    assert len(charts) == 5 and all(f"2:$" in c and f"${last}</f>" in c for c in charts)
    wb = load_workbook(journal, data_only=True)
    ws = wb["Trades"]
    assert ws.tables["Trades"].ref == f"A1:{end}{last}"
    assert ws.cell(2, header(ws)["Trade ID"]).value is not None, "the template's blank row took the first trade"
