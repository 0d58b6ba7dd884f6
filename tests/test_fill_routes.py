"""One journal whatever the route: a journal made by ``template`` then filled, filled into a new file,
filled one statement at a time or all at once, holds the same cells (values and formulas, every
sheet). A statement filled in two halves gives the trades of the second half the equity the journal
had reached, as the whole statement does. Checked on real exports and on the bundled sample split
in two by :func:`split_sample`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import shared_statement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from addin.fill import fill_journal, sample_statement
from addin.journal.workbook import build_journal

MT4 = ("mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm",  # October 2017, EUR
       "mt4_statement_html/jsacap_Tradeslide_Statement.htm")                  # 2023-2024, USD
TRADOVATE = ("tradovate_performance_csv/arielSofer_Performance.csv",        # 1-9 December 2025
             "tradovate_performance_csv/arielSofer_Performance_1.csv")      # 11-26 December 2025


def split_sample(folder: Path, parts: int = 2) -> list[Path]:
    """The bundled sample statement and its ``parts`` parts (halves by default), cut at quantiles of
    the time of its dated rows (trades by open time, deposits by time; the open trade goes with its
    open time). Each part's Summary states its own number of closed trades; the other totals (Closed
    P/L, balance) no longer match, so each part's fill lists them on the Rejected sheet."""
    whole = folder / "sample_statement.htm"
    shutil.copyfile(sample_statement(), whole)
    lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)

    def when(line: str) -> str:
        return re.search(r"class=msdate nowrap>([^<]+)<", line).group(1)

    def part(line: str) -> int:
        return sum(when(line) >= c for c in cuts)

    dated = sorted(when(ln) for ln in lines if ln.startswith("<tr") and "class=msdate" in ln)
    cuts = [dated[len(dated) * k // parts] for k in range(1, parts)]
    out = [whole]
    for k in range(parts):
        text = "".join(ln for ln in lines if not (ln.startswith("<tr") and "class=msdate" in ln) or part(ln) == k)
        closed = len(re.findall(r"<td>(?:buy|sell)</td>", text[:text.index("<b>Open Trades:")]))
        text = re.sub(r"(Total Trades:</b></td>\s*<td[^>]*><b>)\d+", lambda m: m.group(1) + str(closed), text)
        (folder / f"part{k + 1}.htm").write_text(text, encoding="utf-8")
        out.append(folder / f"part{k + 1}.htm")
    return out


def cells(path: Path) -> dict[tuple[str, str, str], object]:
    """Every non-empty cell of every sheet: (sheet, cell, "formula") -> the formula or value as
    stored, (sheet, cell, "cached") -> the value a reader that does not calculate sees."""
    out = {}
    for mode, data_only in (("formula", False), ("cached", True)):
        wb = load_workbook(path, data_only=data_only)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if v is None:
                        continue
                    out[(ws.title, c.coordinate, mode)] = getattr(v, "text", v)  # an array formula's text
        names = {n: d.attr_text for n, d in wb.defined_names.items()}
        out[("", "defined names", mode)] = tuple(sorted(names.items()))
        wb.close()
    return out


def source_cells(path: Path) -> set[tuple[str, str]]:
    """The cells that name the statement file: the Trades and Cash Source columns, the Rejected sheet."""
    wb = load_workbook(path, read_only=True)
    out = set()
    for title in ("Trades", "Cash"):
        ws = wb[title]
        header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]
        col = header.index("Source")
        for row in ws.iter_rows(min_row=2):
            if col < len(row) and getattr(row[col], "coordinate", None):
                out.add((title, row[col].coordinate))
    wb.close()
    return out


def differences(a: Path, b: Path, ignore_sources: bool = False) -> list:
    ca, cb = cells(a), cells(b)
    skip = source_cells(a) | source_cells(b) if ignore_sources else set()
    return [(k, ca.get(k), cb.get(k)) for k in sorted(set(ca) | set(cb), key=str)
            if ca.get(k) != cb.get(k) and (k[0], k[1]) not in skip and not (ignore_sources and k[0] == "Rejected")]


def fill(journal: Path, *statements: Path) -> None:
    fill_journal(list(statements), journal, progress=False)


def routes(folder: Path, statements: list[Path]) -> dict[str, Path]:
    """The four routes to a journal of ``statements``, each its own file."""
    out = {}
    out["new"] = folder / "new.xlsx"
    fill(out["new"], *statements)
    out["template"] = folder / "template.xlsx"
    build_journal(out["template"], [])
    fill(out["template"], *statements)
    out["one by one"] = folder / "one_by_one.xlsx"
    for s in statements:
        fill(out["one by one"], s)
    out["template, one by one"] = folder / "template_one_by_one.xlsx"
    build_journal(out["template, one by one"], [])
    for s in statements:
        fill(out["template, one by one"], s)
    return out


def real_pair(pair: tuple[str, str], folder: Path) -> list[Path]:
    out = []
    for relative in pair:
        path = folder / Path(relative).name
        shutil.copyfile(shared_statement(relative), path)
        out.append(path)
    return out


@pytest.mark.statements
@pytest.mark.parametrize("pair", [MT4, TRADOVATE], ids=["mt4", "tradovate"])
def test_every_route_to_a_journal_of_two_real_exports_gives_the_same_cells(tmp_path, pair):
    statements = real_pair(pair, tmp_path)
    got = routes(tmp_path, statements)
    for name, path in got.items():
        assert differences(got["new"], path) == [], name


def test_every_route_to_a_journal_of_the_sample_halves_gives_the_same_cells(tmp_path):
    _, first, second = split_sample(tmp_path)
    got = routes(tmp_path, [first, second])
    for name, path in got.items():
        assert differences(got["new"], path) == [], name


def test_the_sample_filled_in_two_halves_is_the_sample_filled_whole(tmp_path):
    whole, first, second = split_sample(tmp_path)
    fill(tmp_path / "whole.xlsx", whole)
    build_journal(tmp_path / "halves.xlsx", [])
    fill(tmp_path / "halves.xlsx", first)
    fill(tmp_path / "halves.xlsx", second)
    # Source names the file and row each figure comes from; the halves' own totals differ (Rejected).
    assert differences(tmp_path / "whole.xlsx", tmp_path / "halves.xlsx", ignore_sources=True) == []


def test_the_second_halfs_trades_take_the_equity_the_journal_had_reached(tmp_path):
    whole, first, second = split_sample(tmp_path)
    fill(tmp_path / "whole.xlsx", whole)
    fill(tmp_path / "halves.xlsx", first)
    fill(tmp_path / "halves.xlsx", second)

    def equity(path: Path) -> dict[str, float]:
        wb = load_workbook(path, read_only=True)
        rows = wb["Trades"].iter_rows(values_only=True)
        header = list(next(rows))
        tid, eq = header.index("Trade ID"), header.index("Equity")
        out = {r[tid]: r[eq] for r in rows if r[tid]}
        wb.close()
        return out

    whole_eq, halves_eq = equity(tmp_path / "whole.xlsx"), equity(tmp_path / "halves.xlsx")
    second_ids = set(re.findall(r'<td title="[^"]*">(\d+)</td>', second.read_text("utf-8")))
    later = [t for t in halves_eq if t in second_ids]
    assert len(later) >= 15
    assert {t: halves_eq[t] for t in later} == {t: whole_eq[t] for t in later}
    assert all(halves_eq[t] != 10_000 for t in later)  # not the template's starting balance


def test_template_then_fill_takes_the_statements_settings(tmp_path):
    journal = tmp_path / "J.xlsx"
    build_journal(journal, [])
    fill(journal, sample_statement())
    wb = load_workbook(journal, read_only=True)
    s = wb["Settings"]
    values = {row[0]: row[1] for row in s.iter_rows(min_row=3, max_col=2, values_only=True) if row[0]}
    wb.close()
    assert values["Starting balance"] == 10_000  # the sample's deposit before its first trade
    assert values["Account leverage"] == 30 and values["Account currency"] == "USD"


def test_a_setting_the_trader_typed_is_not_replaced_by_the_statements(tmp_path):
    journal = tmp_path / "J.xlsx"
    build_journal(journal, [])
    wb = load_workbook(journal)
    wb["Settings"]["B4"] = 12_345  # Starting balance, typed by the trader
    wb.save(journal)
    fill(journal, *real_pair(MT4[:1], tmp_path))
    wb = load_workbook(journal, read_only=True)
    s = wb["Settings"]
    assert s["B4"].value == 12_345
    assert s["B3"].value == "EUR"  # the statement's currency: the template's default was still there
    wb.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_route_through_the_sample_halves_gives_the_same_journal(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("routes")
    statements = split_sample(folder, parts=3)[1:]
    reference = folder / "reference.xlsx"
    fill(reference, *statements)
    # A route: optionally the template first, then the statements in order, cut into fills anywhere,
    # each fill possibly repeated (a re-fill of what the journal holds changes nothing).
    journal = folder / "route.xlsx"
    if data.draw(st.booleans(), label="template first"):
        build_journal(journal, [])
    cuts = data.draw(st.sets(st.integers(1, len(statements) - 1)), label="cuts")
    bounds = [0, *sorted(cuts), len(statements)]
    for a, b in zip(bounds, bounds[1:]):
        for _ in range(data.draw(st.integers(1, 2), label="times")):
            fill(journal, *statements[a:b])
    assert differences(reference, journal) == []


# Trade ids: one normalisation for the key and for what is written -----------------------------------

MAPPING = ('{"broker": "B", "account": "1", "date_format": "%Y-%m-%d %H:%M:%S", "columns": {"trade_id": "Ticket", '
           '"symbol": "Instrument", "side": "Direction", "quantity": "Lots", "entry": "Open price", '
           '"exit": "Close price", "open_time": "Open time", "close_time": "Close time", "profit": "Profit"}, '
           '"sides": {"long": ["buy"], "short": ["sell"]}}')
HEAD = "Ticket,Instrument,Direction,Lots,Open time,Open price,Close time,Close price,Profit\n"


def csv_statement(folder: Path, name: str, ids: list[str]) -> Path:
    path = folder / name
    path.write_text(HEAD + "".join(f"{tid},EURUSD,buy,1,2024-01-0{k + 2} 10:00:00,1.1,2024-01-0{k + 2} 12:00:00,"
                                   f"1.1010,100\n" for k, tid in enumerate(ids)), encoding="utf-8")
    return path


def trade_rows(journal: Path) -> list[tuple]:
    wb = load_workbook(journal, read_only=True)
    rows = wb["Trades"].iter_rows(values_only=True)
    header = list(next(rows))
    out = [(r[header.index("Trade ID")], r[header.index("Flags")]) for r in rows if r[header.index("Entry")]]
    wb.close()
    return out


def test_an_id_with_a_control_character_is_one_trade_fill_after_fill(tmp_path):
    (tmp_path / "m.json").write_text(MAPPING)
    statement = csv_statement(tmp_path, "s.csv", ["H\x07009", "H010"])
    journal = tmp_path / "J.xlsx"
    first = fill_journal([statement], journal, fmt="csv", mapping=tmp_path / "m.json", progress=False)
    again = fill_journal([statement], journal, fmt="csv", mapping=tmp_path / "m.json", progress=False)
    assert first.files[0].added == 2
    assert (again.changed, again.files[0].added, again.files[0].unchanged) == (False, 0, 2)
    assert [tid for tid, _ in trade_rows(journal)] == ["H009", "H010"]  # written without the control character


def test_two_rows_of_one_statement_on_one_key_are_reported_not_merged(tmp_path):
    (tmp_path / "m.json").write_text(MAPPING)
    statement = csv_statement(tmp_path, "s.csv", ["H009", "h009 ", "H010"])
    journal = tmp_path / "J.xlsx"
    report = fill_journal([statement], journal, fmt="csv", mapping=tmp_path / "m.json", progress=False)
    assert (report.files[0].added, report.files[0].same_key) == (2, 1)
    assert [tid for tid, _ in trade_rows(journal)] == ["H009", "H010"]
    wb = load_workbook(journal, read_only=True)
    reasons = [r[3] for r in wb["Rejected"].iter_rows(min_row=2, values_only=True) if r[3]]
    wb.close()
    [reason] = [r for r in reasons if "same trade key" in r]
    assert "'H009'" in reason and "'h009'" in reason and "s.csv" in reason
    # A later statement holding the same trade twice again reports it again, and adds nothing.
    later = fill_journal([statement], journal, fmt="csv", mapping=tmp_path / "m.json", progress=False)
    assert (later.files[0].added, later.files[0].unchanged, later.files[0].same_key) == (0, 2, 1)


# Calculated columns on new rows come from the schema, not only from the table XML -------------------

def test_a_journal_saved_without_calculated_column_formulas_gets_them_on_new_rows(tmp_path):
    """LibreOffice drops every calculatedColumnFormula when it saves an .xlsx: the program's own
    columns get their formula from the schema, the trader's own calculated column the formula of the
    last row, moved down."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import TableColumn

    from addin.journal import columns as C

    first, second = split_sample(tmp_path)[1:]
    journal = tmp_path / "J.xlsx"
    fill(journal, first)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    t = ws.tables["Trades"]
    for tc in t.tableColumns:
        tc.calculatedColumnFormula = None
    r1 = ws.max_row
    mine = len(t.tableColumns) + 1
    net = get_column_letter(C.INDEX["Net P/L"] + 1)
    ws.cell(1, mine, "Twice net")
    for r in range(2, r1 + 1):
        ws.cell(r, mine, f"={net}{r}*2")
    t.tableColumns.append(TableColumn(id=mine, name="Twice net"))
    t.ref = f"A1:{get_column_letter(mine)}{r1}"
    t.autoFilter.ref = t.ref
    wb.save(journal)

    report = fill_journal([second], journal, progress=False)
    assert report.files[0].added >= 15
    wb = load_workbook(journal)
    ws = wb["Trades"]
    last = ws.max_row
    assert last == r1 + report.files[0].added
    for col in C.CALCS:
        cell = ws.cell(last, C.INDEX[col.name] + 1)
        assert cell.value == "=" + C.row_formula(col, last), col.name
    assert ws.cell(last, mine).value == f"={net}{last}*2"
    wb.close()


# A column the fill needs, renamed or gone ----------------------------------------------------------

def rename_column(journal: Path, old: str, new: str, new_id: int | None = None) -> None:
    wb = load_workbook(journal)
    ws = wb["Trades"]
    t = ws.tables["Trades"]
    [tc] = [tc for tc in t.tableColumns if tc.name == old]
    tc.name = new
    if new_id is not None:
        tc.id = new_id
    [cell] = [c for c in ws[1] if c.value == old]
    cell.value = new
    wb.save(journal)


def test_a_renamed_trade_id_column_is_found_by_its_table_column_id(tmp_path):
    first, second = split_sample(tmp_path)[1:]
    journal = tmp_path / "J.xlsx"
    fill(journal, first)
    rename_column(journal, "Trade ID", "Ticket")
    rename_column(journal, "Profit", "Gross P/L")
    again = fill_journal([first, second], journal, progress=False)
    assert (again.files[0].added, again.files[0].updated) == (0, 0)
    assert again.files[1].added >= 15
    wb = load_workbook(journal, read_only=True)
    rows = wb["Trades"].iter_rows(values_only=True)
    header = list(next(rows))
    ids = [r[header.index("Ticket")] for r in rows]
    wb.close()
    assert "Trade ID" not in header and len(ids) == len(set(ids)) == again.total_trades


def test_a_needed_column_that_is_gone_is_refused_naming_it(tmp_path, capsys):
    from addin.cli import main as cli_main

    first = split_sample(tmp_path)[1]
    journal = tmp_path / "J.xlsx"
    fill(journal, first)
    rename_column(journal, "Profit", "Gain", new_id=999)  # a column the trader typed: not the program's Profit
    before = journal.read_bytes()
    assert cli_main(["fill", str(first), "--journal", str(journal), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no column 'Profit'" in err.splitlines()[0]
    assert journal.read_bytes() == before
