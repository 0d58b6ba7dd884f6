"""Tradovate "Performance" CSV: real futures round trips (MNQ, MGC, MES, YM, NQ, ES micro and e-mini).

The pnl column is re-read here by hand (``$(58.50)`` is -58.50) so the reader is checked against the
file, not against its own number parser.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_statement

from addin.statements import detect, tradovate
from addin.statements.model import StatementError

pytestmark = pytest.mark.statements  # almost every test reads a real export

PERF = "tradovate_performance_csv/arielSofer_Performance.csv"
PERF_1 = "tradovate_performance_csv/arielSofer_Performance_1.csv"
FILES = [PERF, PERF_1]


def dollars(cell: str) -> Decimal:
    """Accounting dollars, independently of addin.statements.parsing: "$(58.50)" -> -58.50."""
    cell = cell.strip()
    negative = cell.startswith("$(") and cell.endswith(")")
    value = Decimal(cell.strip("$()").replace(",", ""))
    return -value if negative else value


def raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_accounting_dollars_helper():
    assert dollars("$(58.50)") == Decimal("-58.50") and dollars("$1.00") == Decimal("1.00")


@pytest.mark.parametrize("relative", FILES)
def test_every_row_is_one_closed_round_trip_and_pnl_reconciles_to_the_cent(relative):
    path = shared_statement(relative)
    rows = raw_rows(path)
    st = tradovate.read(path)
    assert st.format == "tradovate" and st.broker == "Tradovate" and st.account_currency == "USD"
    assert st.rejected == [] and st.non_trades == []
    assert len(st.trades) == len(rows) == st.totals.closed_trades
    file_pnl = sum(dollars(r["pnl"]) for r in rows)
    assert st.totals.closed_pnl == pytest.approx(float(file_pnl), abs=0.005)
    assert round(sum(t.profit for t in st.trades), 2) == pytest.approx(float(file_pnl), abs=0.005)
    for t, r in zip(st.trades, rows):
        assert t.trade_id == f"{r['buyFillId']}-{r['sellFillId']}"
        assert t.profit == float(dollars(r["pnl"]))
        assert t.commission == 0 and t.asset_class == "FUTURE" and t.is_closed


def test_file_totals_as_a_trader_would_add_them_up():
    assert tradovate.read(shared_statement(PERF)).totals.closed_pnl == pytest.approx(364.00)
    assert tradovate.read(shared_statement(PERF_1)).totals.closed_pnl == pytest.approx(-281.25)


def test_a_short_is_a_row_sold_before_it_was_bought():
    st = tradovate.read(shared_statement(PERF))
    # MNQZ5,...,163781410771,163781410701,1,25292.00,25271.50,$(41.00),12/01/2025 16:33:29,12/01/2025 16:19:49
    t = next(t for t in st.trades if t.trade_id == "163781410771-163781410701")
    assert t.side == "short"
    assert (t.entry, t.exit) == (25271.50, 25292.00)  # sold at 25271.50, bought back higher: a loss
    assert t.open_time == datetime(2025, 12, 1, 16, 19, 49) and t.close_time == datetime(2025, 12, 1, 16, 33, 29)
    assert t.profit == -41.00
    # MGCG6,...,163781411024,163781411052,3,4247.0,4245.6,$(42.00),12/02/2025 10:22:55,12/02/2025 10:30:12
    t = next(t for t in st.trades if t.trade_id == "163781411024-163781411052")
    assert t.side == "long" and (t.entry, t.exit, t.quantity, t.profit) == (4247.0, 4245.6, 3, -42.00)
    assert t.open_time < t.close_time


@pytest.mark.parametrize("relative", FILES)
def test_sides_follow_the_timestamps(relative):
    path = shared_statement(relative)
    rows = raw_rows(path)
    st = tradovate.read(path)
    fmt = "%m/%d/%Y %H:%M:%S"
    expected = ["short" if datetime.strptime(r["soldTimestamp"], fmt) < datetime.strptime(r["boughtTimestamp"], fmt)
                else "long" for r in rows]
    assert [t.side for t in st.trades] == expected
    assert set(expected) == {"long", "short"}
    for t in st.trades:
        assert t.open_time <= t.close_time
        # profit has the sign of the price move in the trade's direction
        move = (t.exit - t.entry) * (1 if t.side == "long" else -1)
        assert (move > 0) == (t.profit > 0) and (move < 0) == (t.profit < 0)


def test_counts_per_file():
    assert Counter(t.side for t in tradovate.read(shared_statement(PERF)).trades) == {"short": 33, "long": 10}
    assert Counter(t.side for t in tradovate.read(shared_statement(PERF_1)).trades) == {"short": 31, "long": 21}


def test_contract_size_is_derived_from_pnl_and_matches_the_exchange_multiplier():
    sizes: dict[str, set] = {}
    for relative in FILES:
        for t in tradovate.read(shared_statement(relative)).trades:
            sizes.setdefault(t.symbol[:-2], set()).add(t.contract_size)  # MNQZ5 -> MNQ
    # $2 per point for Micro Nasdaq, 10 oz Micro Gold, $5 Micro S&P and Mini Dow, $20 Nasdaq, $50 S&P
    known = {root: s - {None} for root, s in sizes.items()}
    assert known == {"MNQ": {2}, "MGC": {10}, "MES": {5}, "YM": {5}, "NQ": {20}, "ES": {50}}


def test_a_flat_round_trip_has_no_derivable_contract_size():
    st = tradovate.read(shared_statement(PERF))
    # MNQZ5,...,1,25467.75,25467.75,$0.00: no price move, nothing to divide by
    flat = next(t for t in st.trades if t.trade_id == "163781411270-163781411297")
    assert flat.profit == 0 and flat.contract_size is None


def test_plain_multiplier_rounding():
    assert tradovate.plain_multiplier(2.0000001) == 2
    assert tradovate.plain_multiplier(9.99) == 9.99
    assert tradovate.derive_contract_size(-41.0, 25292.0, 25271.5, 1) == 2
    assert tradovate.derive_contract_size(0.0, 100.0, 100.0, 1) is None
    assert tradovate.derive_contract_size(-5.0, 100.0, 101.0, 1) is None  # pnl against the move


@pytest.mark.parametrize("relative", FILES)
def test_sniff_and_detect_recognise_the_export(relative):
    path = shared_statement(relative)
    assert tradovate.sniff(path, path.read_bytes()[:65536])
    try:
        found = detect(path)
    except ModuleNotFoundError as exc:  # detect() imports every reader; some are written separately
        pytest.skip(f"format detection needs all readers: {exc}")
    assert found is tradovate


def test_sniff_claims_no_other_real_export(statements_dir):
    others = [p for p in statements_dir.rglob("*") if p.is_file() and p.parent.name != "tradovate_performance_csv"]
    assert others
    assert [p.name for p in others if tradovate.sniff(p, p.read_bytes()[:65536])] == []


# --- damaged and foreign files ---------------------------------------------------------------

def test_bad_cells_are_rejected_naming_the_column(tmp_path):
    path = shared_statement(PERF)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("$(41.00)", "$(41.0O)")
    lines[3] = lines[3].replace("12/01/2025 16:44:40", "2025-12-01 16:44:40")
    lines.insert(4, "")
    f = tmp_path / "Performance.csv"
    f.write_text("\n".join(lines))
    st = tradovate.read(f)
    reasons = {r.source.row: r.reason for r in st.rejected}
    assert set(reasons) == {3, 4}
    assert "'pnl'" in reasons[3] and "41.0O" in reasons[3] and "Performance.csv line 3" in reasons[3]
    assert "'boughtTimestamp'" in reasons[4]
    assert [(n.kind, n.source.row) for n in st.non_trades] == [("blank", 5)]
    assert len(st.trades) + len(st.rejected) + len(st.non_trades) == len(lines) - 1
    assert st.totals.closed_trades == 43  # the file's rows, whether read or not


def test_a_file_cut_mid_line_is_refused_naming_the_file(tmp_path):
    data = shared_statement(PERF_1).read_bytes()
    f = tmp_path / "Performance.csv"
    f.write_bytes(data[: data.index(b"\n", len(data) // 2) + 30])
    with pytest.raises(StatementError, match="cut short") as err:
        tradovate.read(f)
    assert str(f) in str(err.value)


def test_missing_columns_are_named(tmp_path):
    f = tmp_path / "Performance.csv"
    f.write_text("symbol,buyFillId,sellFillId,qty,buyPrice,sellPrice\nMNQZ5,1,2,1,100,101\n")
    with pytest.raises(StatementError) as err:
        tradovate.read(f)
    message = str(err.value)
    assert str(f) in message and "pnl, boughtTimestamp, soldTimestamp" in message


def test_a_tradingview_file_is_not_a_performance_report():
    f = shared_statement("tradingview_list_of_trades_csv/"
                         "abhishekjs0_RSI-DMI-MACD-ADX-CMF_Momentum_Strategy_NSE_ANANDRATHI_2025-09-20.csv")
    with pytest.raises(StatementError, match="Tradovate") as err:
        tradovate.read(f)
    assert err.value.file == str(f)


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"PK\x03\x04\x00\x00zip"])
def test_empty_or_binary_files_raise(tmp_path, content):
    f = tmp_path / "Performance.csv"
    f.write_bytes(content)
    with pytest.raises(StatementError) as err:
        tradovate.read(f)
    assert str(f) in str(err.value)
