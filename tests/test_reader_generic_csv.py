"""Generic CSV through a JSON mapping: the shipped example, bad rows, bad mappings, foreign files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import shared_statement

import addin
from addin.statements import generic_csv, read_statement
from addin.statements.generic_csv import MappingError
from addin.statements.model import StatementError

PACKAGE = Path(addin.__file__).resolve().parent
EXAMPLE_MAPPING = PACKAGE / "statements" / "example_mapping.json"
EXAMPLE_CSV = PACKAGE / "samples" / "example_trades.csv"


def example_mapping() -> dict:
    return json.loads(EXAMPLE_MAPPING.read_text())


def write_mapping(tmp_path: Path, data: dict, name: str = "mapping.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# --- the shipped example -------------------------------------------------------------------

def test_example_mapping_reads_the_example_trades():
    st = generic_csv.read(EXAMPLE_CSV, mapping=EXAMPLE_MAPPING)
    assert (st.format, st.broker, st.account, st.account_currency) == ("csv", "Example FX Broker", "DEMO-1001", "USD")
    assert [t.trade_id for t in st.trades] == ["50123401", "50123417", "50123452", "50123460", "50123471",
                                               "50123502", "50123519", "50123533", "50123547"]
    first = st.trades[0]
    # 50123401,EURUSD,Buy,0.50,2025-03-03 09:15:22,1.04712,2025-03-03 15:40:05,1.04958,1.04500,1.05000,-3.50,0.00,123.00
    assert (first.symbol, first.side, first.quantity, first.entry, first.exit) == ("EURUSD", "long", 0.5, 1.04712, 1.04958)
    assert (first.stop, first.target, first.commission, first.profit) == (1.045, 1.05, -3.5, 123.0)
    assert first.net_profit == pytest.approx(119.5)
    assert first.open_time == datetime(2025, 3, 3, 9, 15, 22)
    assert first.comment == "London breakout"
    assert first.source.row == 2
    assert {t.side for t in st.trades} == {"long", "short"}
    gold = next(t for t in st.trades if t.trade_id == "50123452")
    assert gold.swap == -1.85  # held overnight: a cost, sign as in the file
    still_open = st.trades[-1]
    assert not still_open.is_closed and still_open.profit is None and still_open.close_time is None


def test_example_bad_row_is_rejected_naming_file_line_and_column():
    st = generic_csv.read(EXAMPLE_CSV, mapping=EXAMPLE_MAPPING)
    assert len(st.rejected) == 1
    bad = st.rejected[0]
    assert bad.source.row == 7 and bad.source.file == str(EXAMPLE_CSV)
    assert str(bad.source).endswith("example_trades.csv, section 'trades', row 7")
    assert "'Lots'" in bad.reason and "1.O" in bad.reason
    assert bad.raw.startswith("50123488,US30,Buy,1.O,")


def test_every_line_of_the_example_is_accounted_for():
    st = generic_csv.read(EXAMPLE_CSV, mapping=EXAMPLE_MAPPING)
    lines = EXAMPLE_CSV.read_text().splitlines()
    assert [(n.kind, n.source.row) for n in st.non_trades] == [("blank", 8)]
    assert len(st.trades) + len(st.non_trades) + len(st.rejected) == len(lines) - 1


def test_read_statement_uses_the_mapping():
    st = read_statement(EXAMPLE_CSV, mapping=EXAMPLE_MAPPING)
    assert st.format == "csv" and len(st.trades) == 9


@pytest.mark.statements
def test_sniff_never_claims_a_file(statements_dir):
    assert not generic_csv.sniff(EXAMPLE_CSV, EXAMPLE_CSV.read_bytes())
    assert not any(generic_csv.sniff(p, p.read_bytes()[:65536]) for p in statements_dir.rglob("*") if p.is_file())


# --- rows a trader gets wrong ----------------------------------------------------------------

def test_each_kind_of_bad_row_names_its_column(tmp_path):
    header = "Ticket,Instrument,Direction,Lots,Open time,Open price,Close time,Close price,Stop loss,Take profit,Commission,Swap,Profit,Comment"
    rows = [
        "1,EURUSD,Hold,0.1,2025-03-03 09:00:00,1.05,2025-03-03 10:00:00,1.06,,,0,0,10,",        # side word
        "2,EURUSD,Buy,-0.1,2025-03-03 09:00:00,1.05,2025-03-03 10:00:00,1.06,,,0,0,10,",        # negative lots
        "3,EURUSD,Buy,0.1,03/03/2025 09:00,1.05,2025-03-03 10:00:00,1.06,,,0,0,10,",            # date format
        "4,EURUSD,Buy,0.1,2025-03-03 09:00:00,1.05,2025-03-03 10:00:00,,,,0,0,10,",             # closed, no exit
        "5,,Buy,0.1,2025-03-03 09:00:00,1.05,2025-03-03 10:00:00,1.06,,,0,0,10,",               # no symbol
        "6,EURUSD,Buy,0.1,2025-03-03 09:00:00,1.05",                                            # cut short
        "7,EURUSD,sell,0.1,2025-03-03 09:00:00,1.05,2025-03-03 10:00:00,1.04,,,0,0,10,=1+1",   # fine
        "7,EURUSD,Buy,0.1,2025-03-03 09:00:00,1.05,2025-03-03 10:00:00,1.06,,,0,0,10,",         # duplicate ticket
        ",,,,,,,,,,,,,",                                                                         # blank
    ]
    f = tmp_path / "broker.csv"
    f.write_text("\n".join([header, *rows]) + "\n")
    st = generic_csv.read(f, mapping=EXAMPLE_MAPPING)
    reasons = {r.source.row: r.reason for r in st.rejected}
    assert "'Direction'" in reasons[2] and "'Hold'" in reasons[2]
    assert "'Lots'" in reasons[3] and "positive" in reasons[3]
    assert "'Open time'" in reasons[4]
    assert "'Close price'" in reasons[5] and "exit price" in reasons[5]
    assert "'Instrument'" in reasons[6] and "empty" in reasons[6]
    assert "cut short" in reasons[7]
    assert "'Ticket'" in reasons[9] and "line 8" in reasons[9]
    assert all(str(r.source).endswith(f"broker.csv, section 'trades', row {r.source.row}") for r in st.rejected)
    assert [t.trade_id for t in st.trades] == ["7"]
    assert st.trades[0].side == "short"
    assert st.trades[0].comment == "=1+1"  # kept as the file wrote it; the journal guards formulas
    assert [n.source.row for n in st.non_trades] == [10]


def test_semicolon_file_with_list_of_date_formats_and_own_side_words(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("id;sym;dir;qty;price;closed at;exit\n"
                 "A1;DAX;L;2;18000,5;;\n"          # decimal comma is not guessed: rejected
                 "A2;DAX;S;2;18000.5;2025-03-03 10:00;17950\n"
                 "A3;DAX;L;1;18000;03.03.2025 11:30:00;18010\n")
    mapping = write_mapping(tmp_path, {
        "broker": "Broker X", "delimiter": ";", "date_format": ["%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S"],
        "columns": {"trade_id": "id", "symbol": "sym", "side": "dir", "quantity": "qty", "entry": "price",
                    "close_time": "closed at", "exit": "exit"},
        "sides": {"long": ["L"], "short": ["S"]},
    })
    st = generic_csv.read(f, mapping=mapping)
    assert [(t.trade_id, t.side, t.exit) for t in st.trades] == [("A2", "short", 17950), ("A3", "long", 18010)]
    assert st.trades[1].close_time == datetime(2025, 3, 3, 11, 30)
    assert "'price'" in st.rejected[0].reason and "18000,5" in st.rejected[0].reason


# --- bad mappings ----------------------------------------------------------------------------

def test_unknown_key_in_the_mapping_names_file_and_key(tmp_path):
    data = example_mapping()
    data["columns"]["exit_price"] = data["columns"].pop("exit")
    path = write_mapping(tmp_path, data)
    with pytest.raises(MappingError) as err:
        generic_csv.read(EXAMPLE_CSV, mapping=path)
    message = str(err.value)
    assert err.value.file == str(path) and message.startswith(str(path))
    assert "'columns.exit_price'" in message and "unknown key" in message and "exit" in message


def test_missing_required_field_in_the_mapping(tmp_path):
    data = example_mapping()
    del data["columns"]["entry"]
    with pytest.raises(MappingError, match=r"'columns\.entry': required"):
        generic_csv.read(EXAMPLE_CSV, mapping=write_mapping(tmp_path, data))


@pytest.mark.parametrize("change, expected", [
    ({"delimiter": ";;"}, "'delimiter'"),
    ({"date_format": "YYYY-MM-DD"}, "'date_format'"),
    ({"sides": {"long": ["buy"], "short": ["buy"]}}, "both long and short"),
    ({"broker": " "}, "'broker'"),
    ({"brokr": "typo"}, "'brokr': unknown key"),
])
def test_other_mapping_mistakes(tmp_path, change, expected):
    data = example_mapping() | change
    with pytest.raises(MappingError, match=expected):
        generic_csv.read(EXAMPLE_CSV, mapping=write_mapping(tmp_path, data))


def test_mapping_that_is_not_json(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text('{"broker": "X", "columns": {')
    with pytest.raises(MappingError, match="not valid JSON") as err:
        generic_csv.read(EXAMPLE_CSV, mapping=path)
    assert err.value.file == str(path)


def test_mapped_column_not_in_the_csv_header(tmp_path):
    data = example_mapping()
    data["columns"]["quantity"] = "Volume"
    path = write_mapping(tmp_path, data)
    with pytest.raises(StatementError) as err:
        generic_csv.read(EXAMPLE_CSV, mapping=path)
    message = str(err.value)
    assert str(EXAMPLE_CSV) in message and str(path) in message
    assert "columns.quantity = 'Volume'" in message and "'Lots'" in message


def test_wrong_delimiter_gets_a_hint(tmp_path):
    path = write_mapping(tmp_path, example_mapping() | {"delimiter": ";"})
    with pytest.raises(StatementError, match="is the delimiter right"):
        generic_csv.read(EXAMPLE_CSV, mapping=path)


def test_no_mapping_at_all():
    with pytest.raises(StatementError, match="needs a mapping file"):
        generic_csv.read(EXAMPLE_CSV)


# --- foreign and damaged files ---------------------------------------------------------------

@pytest.mark.statements
def test_a_real_tradovate_export_without_matching_columns_names_them():
    f = shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    with pytest.raises(StatementError) as err:
        generic_csv.read(f, mapping=EXAMPLE_MAPPING)
    assert str(f) in str(err.value) and "columns.trade_id = 'Ticket'" in str(err.value)


@pytest.mark.statements
def test_a_real_tradovate_export_through_a_mapping():
    f = shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    st = generic_csv.read(f, mapping={
        "broker": "Tradovate", "date_format": "%m/%d/%Y %H:%M:%S",
        "columns": {"trade_id": "buyFillId", "symbol": "symbol", "side": "qty", "quantity": "qty", "entry": "buyPrice"},
    })
    # "qty" holds no side words: every row is rejected, each naming the column, none dropped
    assert st.trades == [] and len(st.rejected) == 43
    assert all("'qty' (side)" in r.reason for r in st.rejected)


def test_truncated_file_is_refused_naming_the_file(tmp_path):
    data = EXAMPLE_CSV.read_bytes()
    f = tmp_path / "example_trades.csv"
    f.write_bytes(data[: data.index(b"50123417") + 40])
    with pytest.raises(StatementError, match="cut short") as err:
        generic_csv.read(f, mapping=EXAMPLE_MAPPING)
    assert str(f) in str(err.value)


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    ("Ticket,Instrument\n".encode("utf-16"), "binary"),
    (b"Ticket,Instr\xe9ment\n", "not utf-8-sig text"),
])
def test_unreadable_files_raise_naming_the_file(tmp_path, content, expected):
    f = tmp_path / "trades.csv"
    f.write_bytes(content)
    with pytest.raises(StatementError, match=expected) as err:
        generic_csv.read(f, mapping=EXAMPLE_MAPPING)
    assert err.value.file == str(f)


def test_header_cut_short_raises(tmp_path):
    f = tmp_path / "trades.csv"
    f.write_bytes(EXAMPLE_CSV.read_bytes()[:30])
    with pytest.raises(StatementError, match="not in the CSV header") as err:
        generic_csv.read(f, mapping=EXAMPLE_MAPPING)
    assert str(f) in str(err.value)


def test_decimal_comma_mapping(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("id;sym;dir;qty;price;profit\nA1;DAX;Kauf;0,5;18.000,50;-1.234,5\n")
    mapping = write_mapping(tmp_path, {
        "broker": "Broker X", "delimiter": ";", "decimal": ",",
        "columns": {"trade_id": "id", "symbol": "sym", "side": "dir", "quantity": "qty", "entry": "price",
                    "profit": "profit"},
        "sides": {"long": ["Kauf"], "short": ["Verkauf"]},
    })
    (t,) = generic_csv.read(f, mapping=mapping).trades
    assert (t.quantity, t.entry, t.profit) == (0.5, 18000.5, -1234.5)
