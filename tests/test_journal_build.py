"""The trade journal workbook: structure, determinism, the formula-injection guard, the read-back.

The formulas' values are checked by an Excel engine in test_journal_formulas.py and by LibreOffice
in test_journal_libreoffice.py.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from addin.journal import columns as C
from addin.journal.instruments import DEFAULT_INSTRUMENTS, Instrument, lookup
from addin.journal.read import read_journal
from addin.journal.sample import edge_trades, sample_cash, sample_trades
from addin.journal.settings import Settings
from addin.journal.template import write_template
from addin.journal.workbook import CALC_ID, build_journal
from addin.statements.model import RejectedRow, SourceRef

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "TradeJournal.xlsx"

REQUIRED_INPUTS = ["Trade ID", "Account", "Open time", "Close time", "Symbol", "Asset class", "Side", "Quantity",
                   "Contract size", "Entry", "Stop", "Target", "Exit", "Commission", "Swap", "Profit",
                   "FX to account", "Equity", "Leverage", "Broker", "Taxes", "Source", "Flags"]
REQUIRED_CALCS = ["Notional", "Margin", "Effective leverage", "Risk at stop", "Risk %", "Wipe-out pips",
                  "Stop-out price", "Stop beyond stop-out", "R multiple", "Return on margin", "Leverage cap",
                  "Over cap"]
NAMES = {"AccountCurrency": "USD", "StartingBalance": 10000, "AccountLeverage": 30, "Regulator": "ESMA",
         "RiskPerTrade": 0.01, "StopOutLevel": 0.5, "MaxDrawdown": 0.2}
REJECTED = [RejectedRow(source=SourceRef(file="s.csv", row=7, section="Trades"), reason="price is not a number",
                        raw="=HYPERLINK(\"http://evil.example\",\"click\")"),
            RejectedRow(source=SourceRef(file="s.csv", row=9), reason="@SUM(1)", raw="+1-2")]


@pytest.fixture(scope="module")
def trades():
    return sample_trades(200, seed=3) + edge_trades()


@pytest.fixture(scope="module")
def cash(trades):
    return sample_cash(trades)


@pytest.fixture(scope="module")
def journal(tmp_path_factory, trades, cash) -> Path:
    path = tmp_path_factory.mktemp("journal") / "journal.xlsx"
    build_journal(path, trades, rejected=REJECTED, cash=cash)
    return path


@pytest.fixture(scope="module")
def wb(journal):
    return openpyxl.load_workbook(journal)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in sorted(z.namelist())}


def sheet_xml(path: Path, title: str) -> str:
    with zipfile.ZipFile(path) as z:
        wbxml = z.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet [^>]*name="([^"]*)"', wbxml)
        return z.read(f"xl/worksheets/sheet{names.index(title) + 1}.xml").decode()


def test_sheets_and_order(wb):
    assert wb.sheetnames == ["Dashboard", "Trades", "Cash", "Planner", "Instruments", "Settings", "Rejected",
                             "xlwings.conf", "Imported"]
    assert wb.active.title == "Dashboard"


def test_trades_table_headers_and_ref(wb, trades):
    ws = wb["Trades"]
    table = ws.tables["Trades"]
    last = C.letter(len(C.COLUMNS) - 1)
    assert table.ref == f"A1:{last}{len(trades) + 1}"
    headers = [c.value for c in ws[1]]
    assert headers == [c.name for c in C.COLUMNS]
    assert [tc.name for tc in table.tableColumns] == headers
    for h in REQUIRED_INPUTS + REQUIRED_CALCS:
        assert h in headers, h


def test_calculated_column_formulas(wb, trades):
    ws = wb["Trades"]
    table = ws.tables["Trades"]
    for j, (tc, col) in enumerate(zip(table.tableColumns, C.COLUMNS)):
        if col.kind != "calc":
            assert tc.calculatedColumnFormula is None
            continue
        f = tc.calculatedColumnFormula.attr_text
        assert ws.cell(row=2, column=j + 1).value == "=" + f
        assert ws.cell(row=len(trades) + 1, column=j + 1).value.startswith("=")
        assert "[@" not in f and "XLOOKUP" not in f.upper() and "_xlfn" not in f
    uses_udf = [col.name for col in C.CALCS if re.search(r"\b[A-Z_]{4,}\(", col.formula.replace("ISNUMBER(", ""))]
    for name in REQUIRED_CALCS:
        if name not in ("Risk %", "Stop beyond stop-out", "Over cap"):
            assert name in uses_udf, f"{name} does not call an add-in function"
    assert "Trades[[#This Row],[Entry]]" in C.BY_NAME["Notional"].formula


def test_every_formula_has_a_cached_value_and_no_full_calc(journal):
    for title in ("Trades", "Dashboard", "Planner"):
        xml = sheet_xml(journal, title)
        cells = re.findall(r"<c [^>]*>(?:(?!</c>).)*<f>(?:(?!</c>).)*</c>", xml)
        assert cells, title
        for cell in cells:
            assert "<v>" in cell or "<v></v>" in cell, cell[:200]
    wbxml = parts(journal)["xl/workbook.xml"].decode()
    calc = re.search(r"<calcPr[^>]*/>", wbxml).group(0)
    assert f'calcId="{CALC_ID}"' in calc and "fullCalcOnLoad" not in calc


def test_cached_values_readable_without_calculation(journal, trades):
    vals = openpyxl.load_workbook(journal, data_only=True)
    ws = vals["Trades"]
    head = [c.value for c in ws[1]]
    notional = head.index("Notional") + 1
    assert all(isinstance(ws.cell(row=r, column=notional).value, float) for r in range(2, 202))
    assert vals["Dashboard"]["B3"].value == trades[-1].trade_id
    assert isinstance(vals["Planner"]["B22"].value, float)


def test_named_cells(wb):
    for name, default in NAMES.items():
        dn = wb.defined_names[name]
        (sheet, coord), = list(dn.destinations)
        assert sheet == "Settings"
        assert wb[sheet][coord.replace("$", "")].value == default
    assert Settings() == Settings(account_currency="USD", starting_balance=10000, account_leverage=30,
                                  regulator="ESMA", risk_per_trade=0.01, stop_out_level=0.5, max_drawdown=0.2)


def test_hidden_xlwings_conf(wb):
    ws = wb["xlwings.conf"]
    assert ws.sheet_state == "hidden"
    assert [[c.value for c in r] for r in ws.iter_rows()] == [["UDF MODULES", "addin.udfs"]]


def test_dropdown_lists_trade_ids_and_defaults_to_last(wb, trades):
    ws = wb["Dashboard"]
    dvs = [dv for dv in ws.data_validations.dataValidation if "B3" in str(dv.sqref)]
    assert len(dvs) == 1 and dvs[0].type == "list" and dvs[0].formula1 == "TradeIDs"
    assert wb.defined_names["TradeIDs"].attr_text == "Trades[Trade ID]"
    assert ws["B3"].value == trades[-1].trade_id
    assert "MATCH(B3,Trades[Trade ID],0)" in ws["B4"].value


def test_no_newer_excel_functions(journal):
    for name, data in parts(journal).items():
        if name.startswith("xl/worksheets/") or name.startswith("xl/tables/"):
            text = data.decode()
            assert "XLOOKUP" not in text and "_xlfn" not in text and "[@" not in text, name


def test_conditional_formats(wb):
    dash = wb["Dashboard"].conditional_formatting
    rules = [(str(cf.sqref), r.formula[0], r.dxf.fill.fgColor.rgb if r.dxf.fill else None)
             for cf in dash for r in cf.rules]
    stop_out = [r for r in rules if "STOP" not in r[1] and "<=0" in r[1]]
    assert stop_out and all(r[2].endswith("FFC7CE") for r in stop_out)  # a stop beyond the stop-out is red
    assert len(rules) >= 15
    trades_cf = [(str(cf.sqref), r.formula[0]) for cf in wb["Trades"].conditional_formatting for r in cf.rules]
    beyond = C.letter(C.INDEX["Stop beyond stop-out"])
    assert any(sq.startswith(f"{beyond}2:") and "=TRUE" in f for sq, f in trades_cf)


def test_charts(journal):
    names = parts(journal)
    charts = [n for n in names if n.startswith("xl/charts/chart")]
    assert len(charts) == 4
    titles = " ".join(names[c].decode() for c in charts)
    for t in ("Balance, incl. cash in/out", "Drawdown of trading P/L only",
              "Risk %", "Effective leverage"):
        assert t in titles
    assert all("Trades" in names[c].decode() for c in charts)


def test_print_area_and_fit_to_page(wb):
    ws = wb["Dashboard"]
    assert ws.print_area and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToHeight == 1 and ws.page_setup.fitToWidth == 1


def test_committed_template_equals_a_fresh_build(tmp_path):
    fresh = tmp_path / "TradeJournal.xlsx"
    write_template(fresh)
    assert COMMITTED.exists(), "run: python -m addin template"
    got, want = parts(COMMITTED), parts(fresh)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs: rebuild with python -m addin template"


def test_build_is_deterministic(tmp_path, trades):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    build_journal(a, trades[:50])
    build_journal(b, trades[:50])
    assert parts(a) == parts(b)
    assert b"2025-01-01T00:00:00Z" in parts(a)["docProps/core.xml"]


def test_text_from_a_statement_is_never_a_formula(journal, wb):
    edge = edge_trades()[0]
    xml = sheet_xml(journal, "Trades")
    assert "HYPERLINK" not in "".join(re.findall(r"<f>(.*?)</f>", xml))
    ws = wb["Trades"]
    head = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[head.index("Trade ID")].value == "=1+1")
    for col, want in (("Symbol", edge.symbol), ("Notes", "@SUM(1)"), ("Account", "+4412345"),
                      ("Trade ID", "=1+1"), ("Flags", "-2+3; =A1"), ("Source", str(edge.source))):
        cell = row[head.index(col)]
        assert cell.data_type == "s" and cell.value == want, col
    rej = wb["Rejected"]
    assert rej["E2"].data_type == "s" and rej["E2"].value == REJECTED[0].raw
    assert rej["D3"].value == "@SUM(1)" and rej["E3"].value == "+1-2" and rej["E3"].data_type == "s"
    for title in ("Rejected", "Instruments", "Settings", "xlwings.conf"):
        assert "<f>" not in sheet_xml(journal, title)


def test_injection_in_every_text_field_round_trips(tmp_path):
    evil = edge_trades()[:1]
    settings = Settings(account_currency="=EUR")
    path = tmp_path / "evil.xlsx"
    build_journal(path, evil, settings=settings,
                  instruments=list(DEFAULT_INSTRUMENTS) + [Instrument(symbol="@X", asset_class="EQUITY",
                                                                       contract_size=1, pip_size=0.01,
                                                                       quote_currency="-", description="=1")])
    back = read_journal(path)
    assert back.trades == evil
    assert back.settings == settings
    assert back.instruments[-1].symbol == "@X" and back.instruments[-1].description == "=1"


def test_read_journal_round_trip(journal, trades, cash):
    back = read_journal(journal)
    assert back.trades == trades
    assert back.cash == sorted(cash, key=lambda e: (e.time is None, e.time or e.source.row))
    assert back.settings == Settings()
    assert back.instruments == list(DEFAULT_INSTRUMENTS)
    assert back.rejected == REJECTED


def test_round_trip_with_settings_and_custom_instruments(tmp_path):
    settings = Settings(account_currency="EUR", starting_balance=25_000, account_leverage=100, regulator="FCA",
                        risk_per_trade=0.005, stop_out_level=0.3, max_drawdown=0.35)
    inst = [Instrument(symbol="EURUSD", asset_class="FX_MAJOR", contract_size=100_000, pip_size=0.0001,
                       quote_currency="USD", margin_rate=0.05)]
    path = tmp_path / "j.xlsx"
    trades = sample_trades(20, seed=9)
    build_journal(path, trades, settings=settings, instruments=inst)
    back = read_journal(path)
    assert (back.trades, back.settings, back.instruments, back.rejected) == (trades, settings, inst, [])
    # The instrument's margin rate sets the leverage of trades without their own.
    vals = openpyxl.load_workbook(path, data_only=True)["Trades"]
    head = [c.value for c in vals[1]]
    for r in vals.iter_rows(min_row=2, values_only=True):
        rec = dict(zip(head, r))
        if rec["Leverage"] is None:
            assert rec["Leverage used"] == (20.0 if rec["Instrument"] == "EURUSD" else 100)


def test_empty_journal(tmp_path):
    path = tmp_path / "empty.xlsx"
    build_journal(path, [])
    wb = openpyxl.load_workbook(path)
    assert wb["Trades"].tables["Trades"].ref == f"A1:{C.letter(len(C.COLUMNS) - 1)}2"
    vals = openpyxl.load_workbook(path, data_only=True)
    assert all(c.value in (None, "") for c in vals["Trades"][2])
    assert vals["Dashboard"]["B3"].value is None
    assert vals["Dashboard"]["E7"].value in (None, "")
    back = read_journal(path)
    assert back.trades == [] and back.rejected == [] and back.settings == Settings()


def test_incomplete_rows_are_clean(journal):
    vals = openpyxl.load_workbook(journal, data_only=True)["Trades"]
    head = [c.value for c in vals[1]]
    rows = {r[0]: dict(zip(head, r)) for r in vals.iter_rows(min_row=2, values_only=True)}
    bare = rows["bare-1"]  # no stop, no exit, no equity, no leverage, a symbol not in Instruments
    for col in ("Risk at stop", "Risk %", "R multiple", "Return on margin", "Wipe-out pips", "Net P/L",
                "Stop beyond stop-out"):
        assert bare[col] in (None, ""), col
    assert isinstance(bare["Notional"], float) and isinstance(bare["Equity used"], float)
    assert "NOSUCH" in bare["Leverage cap"]  # the message says which symbol it could not classify
    for r in rows.values():
        for col in C.CALCS:
            v = r[col.name]
            assert not (isinstance(v, str) and v.startswith("#")), (r["Trade ID"], col.name, v)
    wide = rows["wide-1"]
    assert 1.0 < wide["Stop-out price"] < 1.1 and wide["Stop beyond stop-out"] is True
    assert rows["mnq-1"]["Leverage cap"].startswith("exchange margin")
    assert rows["mnq-1"]["Point value"] == 2.0


def test_fca_bars_crypto_as_a_message(tmp_path):
    path = tmp_path / "fca.xlsx"
    build_journal(path, edge_trades(), settings=Settings(regulator="FCA"))
    vals = openpyxl.load_workbook(path, data_only=True)["Trades"]
    head = [c.value for c in vals[1]]
    btc = next(dict(zip(head, r)) for r in vals.iter_rows(min_row=2, values_only=True) if r[0] == "btc-1")
    assert btc["Leverage cap"].startswith("FCA bars CRYPTO")
    assert btc["Over cap"] in (None, "")


def test_journal_with_200_trades_has_a_row_each(wb, trades):
    ws = wb["Trades"]
    ids = [r[0] for r in ws.iter_rows(min_row=2, max_col=1, values_only=True)]
    assert ids == [t.trade_id for t in trades]


@pytest.mark.parametrize("symbol, want", [
    ("EURUSD", "EURUSD"), ("EURUSD.m", "EURUSD"), ("EURUSDpro", "EURUSD"), ("EUR/USD", "EURUSD"),
    ("eurusd", "EURUSD"), ("USDJPY", "USDJPY"), ("MNQZ4", "MNQ"), ("MNQZ24", "MNQ"), ("MGCG6", "MGC"),
    ("ESH2025", "ES"), ("CME_MINI:MNQZ2024", "MNQ"), ("MNQ1!", "MNQ"), ("GOLD", "XAUUSD"), ("XAUUSDm", "XAUUSD"),
    ("US30.cash", "US30"), ("GER40", "GER40"), ("DE40", "DE40"), ("SPX500", "SPX500"), ("USTEC", "USTEC"),
    ("NOSUCH", None), ("", None),
])
def test_instrument_lookup(symbol, want):
    got = lookup(symbol)
    assert (got.symbol if got else None) == want


def test_default_instruments():
    by = {i.symbol: i for i in DEFAULT_INSTRUMENTS}
    assert len(by) == len(DEFAULT_INSTRUMENTS)
    assert by["USDJPY"].pip_size == 0.01 and by["EURJPY"].pip_size == 0.01 and by["EURUSD"].pip_size == 0.0001
    assert by["XAUUSD"].contract_size == 100 and by["XAGUSD"].contract_size == 5000
    assert all(by[s].contract_size == 1 for s in ("US30", "US500", "SPX500", "NAS100", "USTEC", "GER40", "DE40",
                                                  "UK100", "JP225", "BTCUSD", "ETHUSD"))
    mult = {"MNQ": 2, "MGC": 10, "ES": 50, "NQ": 20, "MES": 5, "GC": 100, "CL": 1000}
    assert {s: by[s].contract_size for s in mult} == mult
    assert all(by[s].asset_class == "FUTURE" for s in mult)
    assert by["AUDUSD"].asset_class == "FX_MINOR" and by["EURGBP"].asset_class == "FX_MAJOR"
