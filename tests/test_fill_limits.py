"""Excel's limits (1,048,576 rows per worksheet, 32,767 characters per cell) are checked before the fill
writes: a journal that would run past them is refused with exit 2, one line naming the place, the
figure and the limit, and the journal unchanged. Also the command's exit codes, through a fresh
interpreter as a trader's shell sees them.

A journal "near the limit" is built cheaply from a real one: its Trades sheet (rows, cell references,
relative references in formulas) and its Trades table are moved down so the header sits on row
1,048,500, as a trader's journal of a million trades would have them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from openpyxl.utils import get_column_letter
import pytest
from test_fill import ROOT, cli, cli_inprocess, folder_listing

from addin.journal.columns import COLUMNS
from addin.fill import fill_journal, sample_statement
from addin.fill.limits import EXCEL_CELL_CHARS, EXCEL_ROWS
from addin.statements import read_statement
from addin.statements.model import StatementError
from addin.statements.safety import Limits

MAPPING = ROOT / "addin" / "statements" / "example_mapping.json"
HEAD = "Ticket,Instrument,Direction,Lots,Open time,Open price,Close time,Close price,Stop loss,Take profit," \
       "Commission,Swap,Profit,Comment\n"


def write_csv(path: Path, n: int, first: int = 70_000_000, comment: str = "") -> Path:
    """A statement in the example mapping's CSV layout: ``n`` closed EURUSD trades."""
    with path.open("w", newline="") as fh:
        fh.write(HEAD)
        for k in range(n):
            fh.write(f"{first + k},EURUSD,Buy,0.10,2025-03-03 09:15:22,1.04712,2025-03-03 15:40:05,1.04958,,,"
                     f"-0.70,0.00,24.60,{comment}\n")
    return path


def fill_csv(statement: Path, journal: Path) -> tuple[int, str, str]:
    return cli_inprocess(statement, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")


# ----------------------------------------------------------------------------- a journal near the limit

_CELL = re.compile(r'(<c\b[^>]*?\br=")([A-Z]{1,3})(\d+)(")')
_ROW = re.compile(r'(<row\b[^>]*?\br=")(\d+)(")')
_FORMULA = re.compile(r"(<f\b[^>]*>)([^<]*)(</f>)")
_REF = re.compile(r"(?<![A-Za-z_\[.\d])(\$?[A-Z]{1,3}\$?)(\d+)(?![\d(])")


def _shift_part(xml: str, by: int) -> str:
    xml = _ROW.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + by}{m.group(3)}", xml)
    xml = _CELL.sub(lambda m: f"{m.group(1)}{m.group(2)}{int(m.group(3)) + by}{m.group(4)}", xml)
    xml = _FORMULA.sub(lambda m: m.group(1) + _REF.sub(lambda r: f"{r.group(1)}{int(r.group(2)) + by}",
                                                         m.group(2)) + m.group(3), xml)
    return re.sub(r'((?:dimension|autoFilter) ref="|sqref=")([A-Z]+)(\d+):([A-Z]+)(\d+)"',
                  lambda m: f'{m.group(1)}{m.group(2)}{int(m.group(3)) + by}:{m.group(4)}{int(m.group(5)) + by}"',
                  xml)


def move_trades_down(journal: Path, header_row: int) -> None:
    """Rewrite ``journal`` with its Trades sheet and table starting on ``header_row``."""
    by = header_row - 1
    with zipfile.ZipFile(journal) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    table = next(n for n, b in parts.items() if n.startswith("xl/tables/") and b'name="Trades"' in b)
    rels = next(n for n, b in parts.items() if n.startswith("xl/worksheets/_rels/")
                and table.rsplit("/", 1)[1].encode() in b)
    sheet = "xl/worksheets/" + rels.rsplit("/", 1)[1].removesuffix(".rels")
    parts[sheet] = _shift_part(parts[sheet].decode(), by).encode()
    parts[table] = _shift_part(re.sub(r'(<table\b[^>]*?\bref=")([A-Z]+)(\d+):([A-Z]+)(\d+)"',
                                      lambda m: f'{m.group(1)}{m.group(2)}{int(m.group(3)) + by}:'
                                                f'{m.group(4)}{int(m.group(5)) + by}"',
                                      parts[table].decode()), 0).encode()
    parts[table] = re.sub(rb'(<autoFilter ref=")([A-Z]+)(\d+):([A-Z]+)(\d+)"',
                          lambda m: m.group(1) + m.group(2) + str(int(m.group(3)) + by).encode() + b":"
                          + m.group(4) + str(int(m.group(5)) + by).encode() + b'"', parts[table])
    tmp = journal.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    tmp.replace(journal)


def table_ref(journal: Path) -> str:
    with zipfile.ZipFile(journal) as zf:
        xml = next(zf.read(n) for n in zf.namelist() if n.startswith("xl/tables/") and b'name="Trades"' in zf.read(n))
    return re.search(rb'<table\b[^>]*?\bref="([^"]+)"', xml).group(1).decode()


HEADER_NEAR_LIMIT = 1_048_500  # with the sample's 41 trades the table ends on row 1,048,541


@pytest.fixture(scope="module")
def near_limit(tmp_path_factory) -> bytes:
    j = tmp_path_factory.mktemp("near") / "Journal.xlsx"
    fill_journal([sample_statement()], j, progress=False)
    move_trades_down(j, HEADER_NEAR_LIMIT)
    last = get_column_letter(len(COLUMNS))  # the Trades table's last column
    assert table_ref(j) == f"A{HEADER_NEAR_LIMIT}:{last}{HEADER_NEAR_LIMIT + 41}"
    return j.read_bytes()


def journal_from(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "journal"
    folder.mkdir()
    j = folder / "Journal.xlsx"
    j.write_bytes(data)
    return j


def test_a_fill_that_fits_exactly_ends_the_table_on_the_last_row(tmp_path, near_limit):
    journal = journal_from(tmp_path, near_limit)
    room = EXCEL_ROWS - (HEADER_NEAR_LIMIT + 41)  # 35 rows left below the table
    rc, out, err = fill_csv(write_csv(tmp_path / "fits.csv", room), journal)
    assert rc == 0, err
    assert table_ref(journal) == f"A{HEADER_NEAR_LIMIT}:{get_column_letter(len(COLUMNS))}{EXCEL_ROWS}"


def test_a_statement_one_trade_over_is_refused_naming_the_table_rows_and_limit(tmp_path, near_limit):
    journal = journal_from(tmp_path, near_limit)
    room = EXCEL_ROWS - (HEADER_NEAR_LIMIT + 41)
    before = folder_listing(journal.parent)

    rc, out, err = fill_csv(write_csv(tmp_path / "over.csv", room + 1), journal)

    assert rc == 2 and "Traceback" not in err
    line = err.splitlines()[0]
    assert "sheet 'Trades', table Trades" in line and f"{EXCEL_ROWS + 1:,} rows" in line
    assert f"{EXCEL_ROWS:,} rows per worksheet" in line and f"header on row {HEADER_NEAR_LIMIT:,}" in line
    assert folder_listing(journal.parent) == before


def test_re_importing_into_a_full_table_takes_no_row_and_is_not_refused(tmp_path, near_limit):
    """The merged table's rows are counted after matching: trades already in the journal are updates."""
    journal = journal_from(tmp_path, near_limit)
    room = EXCEL_ROWS - (HEADER_NEAR_LIMIT + 41)
    statement = write_csv(tmp_path / "fits.csv", room)
    assert fill_csv(statement, journal)[0] == 0
    rc, out, err = fill_csv(statement, journal)
    assert rc == 0, err
    assert table_ref(journal) == f"A{HEADER_NEAR_LIMIT}:{get_column_letter(len(COLUMNS))}{EXCEL_ROWS}"


def test_a_statement_with_more_trades_than_the_sheet_can_ever_take_is_refused_before_completing(tmp_path,
                                                                                                monkeypatch):
    """Right after reading, whatever the format: here an MT4 statement of 41 trades into a journal
    whose Trades header leaves 40 rows. No trade is completed (enrich is never called)."""
    import addin.fill as fill_mod

    j = tmp_path / "Journal.xlsx"
    fill_journal([write_csv(tmp_path / "one.csv", 1)], j, fmt="csv", mapping=MAPPING, progress=False)
    move_trades_down(j, EXCEL_ROWS - 40)
    before = folder_listing(tmp_path)

    def never(*a, **k):
        raise AssertionError("trades were completed before the refusal")
    monkeypatch.setattr(fill_mod, "enrich", never)
    rc, out, err = cli_inprocess("--sample", "--journal", j, "--no-progress")

    assert rc == 2, err
    assert "41 trades cannot fit" in err and "takes at most 40 trades" in err and "sheet 'Trades'" in err
    assert folder_listing(tmp_path) == before


@pytest.mark.parametrize("fmt, per_trade", [("csv", 1), ("tradingview", 2)])
def test_a_csv_reader_counts_its_records_before_parsing_and_refuses_one_over(tmp_path, monkeypatch, fmt, per_trade):
    """The boundary, with a small room: ``max_trades`` trades read, one more refused, and for the
    refusal no Trade is built."""
    import addin.statements.model as model

    def statement(n: int) -> Path:
        if fmt == "csv":
            return write_csv(tmp_path / f"s{n}.csv", n)
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_huge_statement import write_tradingview
        p = tmp_path / f"s{n}.csv"
        write_tradingview(p, n)
        return p

    limits = Limits(max_trades=50)
    mapping = MAPPING if fmt == "csv" else None
    assert len(read_statement(statement(50), fmt, mapping, limits=limits).trades) == 50
    built = []
    real_init = model.Trade.__init__
    monkeypatch.setattr(model.Trade, "__init__", lambda self, **kw: (built.append(1), real_init(self, **kw)))
    with pytest.raises(StatementError) as info:
        read_statement(statement(51), fmt, mapping, limits=limits)
    assert built == []
    assert "51 trades" in str(info.value) and "at most 50 trades" in str(info.value)
    if per_trade == 2:
        assert "102 records, 2 per trade" in str(info.value)


def test_a_million_trade_statement_is_refused_in_seconds_not_minutes(tmp_path):
    """1,048,576 trades: with its header row one more row than a worksheet has. The command line in a
    fresh interpreter; the records are counted, no trade is built (bench/bench_huge_statement.py
    prints the time and peak memory)."""
    statement = write_csv(tmp_path / "huge.csv", EXCEL_ROWS)
    journal = tmp_path / "Journal.xlsx"
    run = cli(statement, "--format", "csv", "--mapping", MAPPING, "--journal", journal, "--no-progress")
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"{EXCEL_ROWS:,} trades cannot fit in the journal" in run.stderr
    assert f"at most {EXCEL_ROWS - 1:,} trades" in run.stderr and "Traceback" not in run.stderr
    assert not journal.exists()


# ----------------------------------------------------------------------------- the cell limit


@pytest.mark.parametrize("length, refused", [(EXCEL_CELL_CHARS, False), (EXCEL_CELL_CHARS + 1, True),
                                             (40_000, True)])
def test_a_comment_longer_than_a_cell_holds_is_refused_naming_file_row_column(tmp_path, length, refused):
    statement = tmp_path / "long.csv"
    write_csv(statement, 3)
    lines = statement.read_text().splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + "x" * length + "\n"  # the second trade, line 3
    statement.write_text("".join(lines))
    journal = tmp_path / "Journal.xlsx"
    rc, out, err = fill_csv(statement, journal)
    if not refused:
        assert rc == 0, err
        return
    assert rc == 2 and "Traceback" not in err
    line = err.splitlines()[0]
    assert "long.csv" in line and "row 3" in line and "trade's comment" in line and "'Notes' column" in line
    assert f"{length:,} characters" in line and f"{EXCEL_CELL_CHARS:,}" in line
    assert not journal.exists()


# ----------------------------------------------------------------------------- exit codes


def _damaged_mt4(tmp_path: Path) -> tuple[Path, int]:
    """The sample MT4 statement with one closed trade's ticket garbled: read, one row rejected, and
    the Summary's Closed Trade P/L no longer matches (exit 1). Returns (file, the row)."""
    text = sample_statement().read_text(encoding="utf-8", errors="replace")
    from addin.statements import mt4_html
    st = mt4_html.read(sample_statement())
    t = next(t for t in st.trades if t.is_closed and abs(t.net_profit) > 1)
    bad = tmp_path / "damaged.htm"
    bad.write_text(text.replace(f">{t.trade_id}<", f">{t.trade_id[:3]}#{t.trade_id[4:]}<", 1), encoding="utf-8")
    return bad, t.source.row


def test_exit_codes_through_the_command_line(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    ok = cli("--sample", "--journal", journal, "--no-progress")
    assert ok.returncode == 0, ok.stderr

    bad, row = _damaged_mt4(tmp_path)
    mismatch = cli(bad, "--journal", tmp_path / "Other.xlsx", "--no-progress")
    assert mismatch.returncode == 1, mismatch.stderr
    assert f"row {row}" in mismatch.stderr and "rejected" in mismatch.stderr and "Traceback" not in mismatch.stderr

    refused = cli(tmp_path / "missing.htm", "--journal", journal, "--no-progress")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[-1] == f"fill: nothing was written; {journal} is unchanged"

    usage = cli("--journal", journal, "--no-progress")  # no statement named
    assert usage.returncode == 2


def test_an_unexpected_error_is_not_exit_1_or_2_and_ends_with_a_plain_line(tmp_path):
    """A bug (here: completing trades raises) must not look like a totals mismatch or a refusal."""
    code = ("import sys, addin.fill as f\n"
            "def boom(*a, **k):\n    raise KeyError('instrument')\n"
            "f.enrich = boom\n"
            "from addin.cli import main\n"
            f"sys.exit(main(['fill', '--sample', '--journal', {str(tmp_path / 'J.xlsx')!r}, '--no-progress']))\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 70, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert "unexpected error (KeyError" in last and "bug in the add-in" in last and "report" in last
    assert not (tmp_path / "J.xlsx").exists()
