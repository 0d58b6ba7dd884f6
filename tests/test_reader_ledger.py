"""Every statement row accounted for, totals reconciled, hostile files refused safely.

Each test is a damaged or hostile copy of a real export, or a small file a trader could write, and
checks what the trader would look for: the bad row rejected with its place and the rows after it
still read, the statement's own totals compared with both figures shown, the file refused with a
clear message when it cannot be trusted as a whole.
"""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest

from addin.statements import generic_csv, ibkr_flex, ledger, mt4_html, mt5_report, read_statement, tradingview
from addin.statements.ledger import Ledger, LedgerError, settle
from addin.statements.model import NonTradeRow, SourceRef, Statement, StatementError
from addin.statements.parsing import choose_date_formats, detect_decimal, parse_number
from addin.statements.safety import Limits
from conftest import ROOT, STATEMENTS, shared_statement

MT4_EUR = "mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm"
MT4_USD = "mt4_statement_html/jsacap_Tradeslide_Statement.htm"
MT5_HTML = "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"
MT5_XLSX = "mt5_report/Wizard-hash2_ReportHistory.xlsx"
TV_ETH = "tradingview_list_of_trades_csv/AlphaDogsResearch_TRIX_Signal_Strategy_BINANCE_ETHUSDT.P_2026-02-26.csv"
FLEX_01 = "ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile01.xml"


def kinds(st: Statement) -> dict[str, int]:
    out: dict[str, int] = {}
    for n in st.non_trades:
        out[n.kind] = out.get(n.kind, 0) + 1
    return out


# --- the ledger itself ---------------------------------------------------------------------------

def test_a_row_read_but_given_no_outcome_stops_the_reader():
    book = Ledger("f.csv")
    for row in (2, 3, 4):
        book.see("trades", row)
    st = Statement(file="f.csv", format="csv", broker="X",
                   non_trades=[NonTradeRow(kind="blank", source=SourceRef(file="f.csv", row=2, section="trades")),
                               NonTradeRow(kind="blank", source=SourceRef(file="f.csv", row=3, section="trades"))])
    with pytest.raises(LedgerError, match="rows 4 were read but are neither"):
        settle(st, book)


def test_a_row_counted_twice_stops_the_reader():
    book = Ledger("f.csv")
    book.see("trades", 2)
    ref = SourceRef(file="f.csv", row=2, section="trades")
    st = Statement(file="f.csv", format="csv", broker="X",
                   non_trades=[NonTradeRow(kind="blank", source=ref), NonTradeRow(kind="note", source=ref)])
    with pytest.raises(LedgerError, match="more than one outcome"):
        settle(st, book)


@pytest.mark.statements
def test_the_ledger_line_holds_for_every_real_statement(statements_dir):
    read = 0
    for folder in ("mt4_statement_html", "mt5_report", "ibkr_flex_xml", "ibkr_activity_statement_csv",
                   "tradingview_list_of_trades_csv", "tradovate_performance_csv"):
        for path in sorted((statements_dir / folder).glob("*")):
            st = read_statement(path)
            assert st.ledger.balanced and st.ledger.seen > 0, path
            assert st.ledger.seen == st.ledger.trade_rows + st.ledger.non_trade_rows + st.ledger.rejected
            assert st.mismatches == [], [c.describe() for c in st.mismatches]
            read += 1
    assert read == 18


# --- MT5: one bad row never ends a table ---------------------------------------------------------

@pytest.mark.statements
def test_mt5_a_malformed_deal_and_open_position_are_rejected_and_the_tables_go_on(tmp_path):
    text = shared_statement(MT5_HTML).read_text("ascii")
    intact = mt5_report.read(shared_statement(MT5_HTML))
    # a deal whose date cell was mangled, and an open position whose ticket and date were
    deal = "<td nowrap>2023.06.26 16:37:00</td><td nowrap>1750642112</td>"
    assert text.count(deal) == 1
    broken = text.replace(deal, "<td nowrap>2023.06.26 16:3x:00</td><td nowrap>1750642112</td>")
    position = "<td>2023.06.26 16:37:00</td><td>1775310313</td><td>EURUSD</td><td>buy</td><td>0.01</td>"
    assert broken.count(position) == 1
    broken = broken.replace(position, "<td>??</td><td>17753l0313</td><td>EURUSD</td><td>buy</td><td>0.01</td>")
    path = tmp_path / "report.html"
    path.write_text(broken, "ascii")
    st = mt5_report.read(path)
    assert {r.source.section for r in st.rejected} == {"Deals", "Open Positions"}
    assert all("not a date/time" in r.reason for r in st.rejected)
    # nothing else lost: one deal and one open position moved from read to rejected
    assert kinds(intact)["deal"] - kinds(st)["deal"] == 1
    open_intact = sum(1 for t in intact.trades if not t.is_closed)
    assert sum(1 for t in st.trades if not t.is_closed) == open_intact - 1 == 84
    assert st.ledger.seen == intact.ledger.seen and st.ledger.rejected == 2


@pytest.mark.statements
@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_mt5_a_report_missing_position_rows_is_refused_by_its_total_trades(tmp_path):
    wb = openpyxl.load_workbook(shared_statement(MT5_XLSX))
    ws = wb.worksheets[0]
    for cell in ws[9]:  # one closed position gone: 8 listed, "Total Trades: 9"
        if not isinstance(cell, openpyxl.cell.cell.MergedCell):
            cell.value = None
    path = tmp_path / "report.xlsx"
    wb.save(path)
    with pytest.raises(StatementError, match="Total Trades 9.*only 8"):
        mt5_report.read(path)


# --- MT4: a ticket that is not a number is a bad row, not a subtotal -----------------------------

@pytest.mark.statements
def test_mt4_a_closed_trade_with_a_non_digit_ticket_is_rejected_not_hidden(tmp_path):
    text = shared_statement(MT4_EUR).read_text("ascii")
    path = tmp_path / "statement.htm"
    path.write_text(text.replace(">61937658<", ">6193765B<", 1), "ascii")
    st = mt4_html.read(path)
    (rej,) = st.rejected
    assert "'Ticket'" in rej.reason and "6193765B" in rej.reason and rej.source.section == "Closed Transactions"
    assert len([t for t in st.trades if t.is_closed]) == 129 and st.totals.closed_trades == 130
    (pnl,) = [c for c in st.mismatches if c.name == "closed trade P/L"]
    assert pnl.stated == 24.17 and "24.17" in pnl.describe() and "MISMATCH" in pnl.describe()


@pytest.mark.statements
def test_mt4_a_changed_profit_is_reported_with_both_figures(tmp_path):
    text = shared_statement(MT4_USD).read_text("ascii")
    st0 = mt4_html.read(shared_statement(MT4_USD))
    first = next(t for t in st0.trades if t.is_closed and t.profit)
    old = f"{first.profit:.2f}".replace("-", "-")
    assert text.count(f">{old}<") >= 1
    path = tmp_path / "statement.htm"
    path.write_text(text.replace(f">{old}<", f">{first.profit + 100:.2f}<", 1), "ascii")
    st = mt4_html.read(path)
    (check,) = st.mismatches
    assert check.name == "closed trade P/L" and check.stated == 8205.65
    assert round(check.computed, 2) == 8305.65 and "8,205.65" in check.describe() and "8,305.65" in check.describe()


# --- CSV: locale-aware numbers and dates, never guessed per cell --------------------------------

def mapping(tmp_path, **extra) -> str:
    data = {"broker": "Broker X", "delimiter": ";",
            "columns": {"trade_id": "id", "symbol": "sym", "side": "dir", "quantity": "qty", "entry": "price"}}
    data.update(extra)
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_decimal_comma_file_is_read_as_such_never_1000_times_too_large(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("id;sym;dir;qty;price\nA1;EURUSD;buy;1;1,2345\nA2;EURUSD;sell;2;1,234\nA3;DAX;buy;1;18.000,5\n")
    st = generic_csv.read(f, mapping=mapping(tmp_path))
    assert [(t.trade_id, t.entry) for t in st.trades] == [("A1", 1.2345), ("A2", 1.234), ("A3", 18000.5)]


def test_a_number_the_file_cannot_decide_is_rejected_with_its_cell(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("id;sym;dir;qty;price\nA1;EURUSD;buy;1;1,234\nA2;EURUSD;sell;2;18000\n")
    st = generic_csv.read(f, mapping=mapping(tmp_path))
    assert [t.trade_id for t in st.trades] == ["A2"]
    (rej,) = st.rejected
    assert rej.source.row == 2 and "'price'" in rej.reason and "ambiguous" in rej.reason
    # the mapping decides it
    st = generic_csv.read(f, mapping=mapping(tmp_path, decimal=","))
    assert [t.entry for t in st.trades] == [1.234, 18000]


def test_day_first_or_month_first_is_decided_per_file(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("id;sym;dir;qty;price;opened\nA1;X;buy;1;2;03/04/2025\nA2;X;buy;1;2;25/04/2025\n")
    m = mapping(tmp_path, date_format=["%m/%d/%Y", "%d/%m/%Y"],
                columns={"trade_id": "id", "symbol": "sym", "side": "dir", "quantity": "qty",
                         "entry": "price", "open_time": "opened"})
    st = generic_csv.read(f, mapping=m)
    assert [t.open_time.month for t in st.trades] == [4, 4]  # 25/04 proves day-first for the whole file
    f.write_text("id;sym;dir;qty;price;opened\nA1;X;buy;1;2;03/04/2025\n")
    with pytest.raises(StatementError, match="both day-first and month-first"):
        generic_csv.read(f, mapping=m)


@pytest.mark.statements
def test_a_tradovate_export_resaved_day_first_with_decimal_commas_reads_the_same(tmp_path):
    from addin.statements import tradovate

    # December 16-26: "16/12/2025" can only be day-first, which decides the whole file
    path = shared_statement("tradovate_performance_csv/arielSofer_Performance_1.csv")
    import csv as _csv
    rows = list(_csv.reader(path.read_text().splitlines()))
    out = []
    for n, row in enumerate(rows):
        if n:
            for c in (10, 11):  # MM/DD/YYYY -> DD/MM/YYYY
                m, d, rest = row[c].split("/", 2)
                row[c] = f"{d}/{m}/{rest}"
            row = [v.replace(".", ",") if c in (6, 7, 8, 9) else v for c, v in enumerate(row)]
        out.append(";".join(row))
    f = tmp_path / "Performance.csv"
    f.write_text("\n".join(out) + "\n")
    a, b = tradovate.read(path), tradovate.read(f)
    assert b.rejected == []
    assert [(t.open_time, t.close_time, t.entry, t.profit) for t in a.trades] == [
        (t.open_time, t.close_time, t.entry, t.profit) for t in b.trades]


def test_number_and_date_evidence_helpers():
    assert detect_decimal([("a", "1,5")], ";")[0] == ","
    assert detect_decimal([("a", "1,234")], ";")[0] is None
    assert detect_decimal([("a", "1,234")], ",")[0] == "."
    assert parse_number("1.234,5", ",") == 1234.5
    with pytest.raises(ValueError, match="ambiguous"):
        parse_number("1.234", None)
    assert choose_date_formats([("x", "2025-01-02")], ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y")) == (
        "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y")


@pytest.mark.statements
def test_a_tradingview_export_from_a_decimal_comma_locale_reads_the_same(tmp_path):
    path = shared_statement(TV_ETH)
    lines = path.read_text("utf-8-sig").splitlines()
    local = [";".join(c.replace(".", ",") for c in line.split(",")) for line in lines]
    f = tmp_path / path.name
    f.write_text("\n".join(local) + "\n", "utf-8")
    assert read_statement(f).format == "tradingview"  # detected with its ';' delimiter
    a, b = tradingview.read(path), tradingview.read(f)
    assert [(t.entry, t.exit, t.profit) for t in a.trades] == [(t.entry, t.exit, t.profit) for t in b.trades]
    assert b.rejected == [] and b.totals.closed_pnl == a.totals.closed_pnl


def test_an_unclosed_quote_costs_one_line_not_the_rest_of_the_file(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text('id;sym;dir;qty;price\nA1;X;buy;1;2\nA2;"X;buy;1;2\nA3;X;buy;1;2\nA4;X;sell;1;2\n')
    st = generic_csv.read(f, mapping=mapping(tmp_path))
    assert [t.trade_id for t in st.trades] == ["A1", "A3", "A4"]
    (rej,) = st.rejected
    assert rej.source.row == 3 and "quote" in rej.reason


# --- IBKR Flex: the same execution twice is read once ------------------------------------------

@pytest.mark.statements
def test_overlapping_flex_queries_pasted_together_read_each_execution_once(tmp_path):
    text = shared_statement(FLEX_01).read_text("utf-8")
    start, end = text.index("<Trades>"), text.index("</Trades>") + len("</Trades>")
    doubled = text[:end] + text[start:end] + text[end:]  # the Trades section twice
    path = tmp_path / "flex.xml"
    path.write_text(doubled, "utf-8")
    once, twice = ibkr_flex.read(shared_statement(FLEX_01)), ibkr_flex.read(path)
    assert [t.key for t in twice.trades] == [t.key for t in once.trades]
    assert kinds(twice)["duplicate execution"] == len(once.trades) == 14
    assert twice.ledger.balanced


@pytest.mark.statements
def test_overlapping_flex_files_merge_on_the_execution_id(tmp_path):
    from addin.fill import fill_journal

    text = shared_statement(FLEX_01).read_text("utf-8")
    head, rest = text.split("<Trades>", 1)
    body, tail = rest.split("</Trades>", 1)
    rows = [r for r in body.split("\n") if r.strip().startswith("<Trade ")]
    assert len(rows) == 14
    early, late = tmp_path / "flex_jan.xml", tmp_path / "flex_feb.xml"  # rows 1-9 and 6-14
    early.write_text(head + "<Trades>\n" + "\n".join(rows[:9]) + "\n</Trades>" + tail, "utf-8")
    late.write_text(head + "<Trades>\n" + "\n".join(rows[5:]) + "\n</Trades>" + tail, "utf-8")
    a, b = ibkr_flex.read(early), ibkr_flex.read(late)
    report = fill_journal([early, late], tmp_path / "Journal.xlsx", progress=False)
    assert report.total_trades == 14 and [f.added for f in report.files] == [len(a.trades), 14 - len(a.trades)]
    assert report.files[1].unchanged == 4 and len(b.trades) == 9


@pytest.mark.statements
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8"])
def test_a_flex_file_declaring_entities_is_refused_in_any_encoding(tmp_path, encoding):
    xml = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
           '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
           '<FlexQueryResponse><FlexStatements><FlexStatement accountId="U1"><Trades>'
           '<Trade symbol="&b;" buySell="BUY" quantity="1" tradePrice="1" tradeDate="20240102" fxRateToBase="1"/>'
           '</Trades></FlexStatement></FlexStatements></FlexQueryResponse>')
    path = tmp_path / "flex.xml"
    path.write_bytes(xml.encode(encoding))
    with pytest.raises(StatementError, match="DTD or entities"):
        ibkr_flex.read(path)


# --- size limits and zip bombs -------------------------------------------------------------------

def test_an_xlsx_that_would_expand_a_thousand_times_is_refused_before_extraction(tmp_path):
    path = tmp_path / "ReportHistory.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (8 * 1024 * 1024))
    with pytest.raises(StatementError, match="zip bomb") as err:
        read_statement(path)
    assert str(path) in str(err.value) and "LEVERAGE_MAX_ZIP_RATIO" in str(err.value)
    with pytest.raises(StatementError, match="expands to"):
        read_statement(path, limits=Limits(max_unzipped_mb=1))


def test_a_file_over_the_size_limit_is_refused_with_the_way_to_raise_it(tmp_path, monkeypatch):
    path = ROOT / "addin" / "samples" / "sample_statement.htm"
    with pytest.raises(StatementError, match="LEVERAGE_MAX_FILE_MB"):
        read_statement(path, limits=Limits(max_file_mb=0.001))
    monkeypatch.setenv("LEVERAGE_MAX_FILE_MB", "0.001")
    with pytest.raises(StatementError, match="more than the 0 MB"):
        read_statement(path)
    monkeypatch.setenv("LEVERAGE_MAX_FILE_MB", "50")
    assert read_statement(path).ledger.balanced


def test_many_rejected_rows_are_summarised_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "MAX_LISTED_REJECTED", 500)
    f = tmp_path / "export.csv"
    f.write_text("id;sym;dir;qty;price\nA1;X;buy;1;2\n" + "".join(f"bad{i};X;buy;1;\n" for i in range(2000)))
    st = generic_csv.read(f, mapping=mapping(tmp_path))
    assert len(st.rejected) == 500 and st.rejected_not_listed == 1500 and len(st.trades) == 1
    assert st.ledger.rejected == 2000 and st.ledger.balanced
    assert str(st.ledger) == "2,001 rows: 1 trade rows, 0 non-trade, 2,000 rejected"


def test_a_junk_file_is_refused_after_a_thousand_rows_without_a_trade(tmp_path):
    f = tmp_path / "junk.csv"
    f.write_text("id;sym;dir;qty;price\n" + "".join(f"junk{i};;;;\n" for i in range(50_000)))
    with pytest.raises(StatementError, match="first 1,000 rows were all rejected"):
        generic_csv.read(f, mapping=mapping(tmp_path))


@pytest.mark.statements
def test_an_xlsx_whose_xml_declares_entities_is_refused(tmp_path):
    src = zipfile.ZipFile(shared_statement(MT5_XLSX))
    path = tmp_path / "ReportHistory.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                text = data.decode("utf-16")  # the terminal writes this part as UTF-16
                data = text.replace("?>", '?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]>', 1).encode("utf-16")
                assert b"<!DOCTYPE" not in data  # invisible to a byte search
            out.writestr(item, data)
    with pytest.raises(StatementError, match="cannot open as an Excel workbook") as err:
        mt5_report.read(path)
    assert "Forbidden" in str(err.value)  # defusedxml's DTDForbidden / EntitiesForbidden


@pytest.mark.statements
def test_a_cut_xlsx_is_refused_as_a_whole(tmp_path):
    data = shared_statement(MT5_XLSX).read_bytes()
    path = tmp_path / "ReportHistory.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StatementError, match="cut short") as err:
        mt5_report.read(path)
    assert str(path) in str(err.value)
