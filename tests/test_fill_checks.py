"""The readers' row ledger and totals checks as the fill reports them, in its summary, on the
Rejected sheet and in its exit code: a statement whose own Summary disagrees with its rows is
written, but says so in the summary, on the Rejected sheet and with exit code 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from addin.fill import sample_statement
from addin.fill.side_sheets import cap_rejected
from addin.statements.model import RejectedRow, SourceRef

ROOT = Path(__file__).resolve().parent.parent


def fill(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "addin", "fill", *map(str, args), "--no-progress"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def tampered(tmp_path: Path) -> Path:
    """The sample statement with its Summary's Closed Trade P/L changed from 624.70 to 600.00."""
    html = sample_statement().read_text(encoding="utf-8")
    marker = "<b>Closed Trade P/L:</b></td>\n    <td colspan=2 class=mspt><b>624.70</b>"
    assert marker in html
    out = tmp_path / "tampered.htm"
    out.write_text(html.replace(marker, marker.replace("624.70", "600.00")), encoding="utf-8")
    return out


def test_a_clean_statement_prints_its_ledger_and_checks_and_exits_0(tmp_path):
    proc = fill("--sample", "--journal", tmp_path / "J.xlsx")
    assert proc.returncode == 0, proc.stderr
    assert "  row ledger:           56 rows: 41 trade rows, 15 non-trade, 0 rejected\n" in proc.stdout
    assert "closed trade P/L: statement says 624.70 USD" in proc.stdout and "MISMATCH" not in proc.stdout


def test_a_totals_mismatch_is_written_reported_recorded_and_exits_1(tmp_path):
    journal = tmp_path / "J.xlsx"
    proc = fill(tampered(tmp_path), "--journal", journal)
    assert proc.returncode == 1, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "TOTALS MISMATCH" in ln)
    assert "closed trade P/L: statement says 600.00 USD" in line and "624.70" in line and "+24.70" in line
    assert "the journal was written" in proc.stderr
    ws = load_workbook(journal)["Rejected"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2) if any(c.value for c in r)]
    [row] = [r for r in rows if r[3] and "MISMATCH" in r[3]]
    assert row[0] == "tampered.htm" and row[1] is None and row[2] == "Summary: Closed Trade P/L"
    # a re-fill of the same file records it once, and still exits 1: the file still disagrees
    again = fill(tampered(tmp_path), "--journal", journal)
    assert again.returncode == 1 and "no changes" in again.stdout and "already held" in again.stderr
    ws = load_workbook(journal)["Rejected"]
    assert sum(1 for r in ws.iter_rows(min_row=2) if r[3].value and "MISMATCH" in str(r[3].value)) == 1


def test_nothing_written_is_exit_2(tmp_path):
    bad = tmp_path / "bad.htm"
    bad.write_text("<html>not a statement</html>", encoding="utf-8")
    proc = fill(bad, "--journal", tmp_path / "J.xlsx")
    assert proc.returncode == 2 and "nothing was written" in proc.stderr
    assert not (tmp_path / "J.xlsx").exists()


def test_the_rejected_sheet_stays_within_excels_rows():
    rows = [RejectedRow(source=SourceRef(file="big.csv", row=k), reason="bad number") for k in range(10)]
    assert cap_rejected(rows, used=1, limit=20) == rows
    got = cap_rejected(rows, used=15, limit=20)  # 5 rows left: 4 listed and one for the other 6
    assert len(got) == 5 and got[:4] == rows[:4]
    assert got[4].source.file == "big.csv" and got[4].reason.startswith("6 more rejected rows not listed")
    assert cap_rejected(rows, used=20, limit=20) == []


def one_trade_csv(tmp_path: Path, ticket: str, opened: str, closed: str) -> tuple[Path, Path]:
    csv = tmp_path / f"{ticket}.csv"
    csv.write_text("Ticket,Instrument,Direction,Lots,Open time,Open price,Close time,Close price,Profit\n"
                   f"{ticket},EURUSD,buy,0.1,{opened},1.1000,{closed},1.1010,10\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"broker": "Hand FX", "account": "H-1", "date_format": "%Y-%m-%d %H:%M:%S", '
                       '"columns": {"trade_id": "Ticket", "symbol": "Instrument", "side": "Direction", '
                       '"quantity": "Lots", "entry": "Open price", "exit": "Close price", "open_time": "Open time", '
                       '"close_time": "Close time", "profit": "Profit"}, "sides": {"long": ["buy"], "short": ["sell"]}}',
                       encoding="utf-8")
    return csv, mapping


def test_counted_from_follows_the_first_trade_unless_the_trader_typed_it(tmp_path):
    """Cash!I1 ("Counted from", the CashFrom name) is a date value: a re-fill with an earlier trade
    moves it to that trade's open time; a date the trader typed stays theirs. New trades are
    numbered after the largest No."""
    from datetime import datetime

    from addin.journal.columns import serial

    def counted_from(wb) -> float:
        v = wb["Cash"]["I1"].value  # a serial under the sheet's own format; a datetime once openpyxl wrote it
        return round(v if isinstance(v, float) else serial(v), 6)

    journal = tmp_path / "J.xlsx"
    csv, mapping = one_trade_csv(tmp_path, "T2", "2030-03-01 10:00:00", "2030-03-01 12:00:00")
    assert fill(csv, "--format", "csv", "--mapping", mapping, "--journal", journal).returncode == 0
    assert counted_from(load_workbook(journal)) == round(serial(datetime(2030, 3, 1, 10)), 6)
    csv, _ = one_trade_csv(tmp_path, "T1", "2030-01-15 09:00:00", "2030-01-15 11:00:00")
    assert fill(csv, "--format", "csv", "--mapping", mapping, "--journal", journal).returncode == 0
    wb = load_workbook(journal)
    assert counted_from(wb) == round(serial(datetime(2030, 1, 15, 9)), 6)
    ws = wb["Trades"]
    head = {c.value: c.column for c in ws[1]}
    nos = {ws.cell(r, head["Trade ID"]).value: ws.cell(r, head["No."]).value for r in range(2, ws.max_row + 1)}
    assert nos == {"T2": 1, "T1": 2}
    wb["Cash"]["I1"] = datetime(2029, 12, 31)  # the trader counts cash from the year's end
    wb.save(journal)
    csv, _ = one_trade_csv(tmp_path, "T0", "2030-01-02 09:00:00", "2030-01-02 11:00:00")
    assert fill(csv, "--format", "csv", "--mapping", mapping, "--journal", journal).returncode == 0
    wb = load_workbook(journal)
    assert counted_from(wb) == serial(datetime(2029, 12, 31))
    ws = wb["Trades"]
    assert [ws.cell(r, head["No."]).value for r in range(2, ws.max_row + 1)] == [1, 2, 3]
