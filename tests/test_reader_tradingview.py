"""TradingView "List of trades" CSV: the real Strategy Tester exports read back trade by trade.

Each check reads the file a second time with the plain csv module, so the reader is compared with
what the file says, not with itself.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_statement

from addin.statements import detect, tradingview
from addin.statements.model import StatementError

pytestmark = pytest.mark.statements  # almost every test reads a real export

ETH = "tradingview_list_of_trades_csv/AlphaDogsResearch_TRIX_Signal_Strategy_BINANCE_ETHUSDT.P_2026-02-26.csv"
ANANDRATHI = ("tradingview_list_of_trades_csv/"
              "abhishekjs0_RSI-DMI-MACD-ADX-CMF_Momentum_Strategy_NSE_ANANDRATHI_2025-09-20.csv")
FILES = [ETH, ANANDRATHI]


def raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def column(rows: list[dict[str, str]], prefix: str) -> str:
    return next(c for c in rows[0] if c.startswith(prefix) and not c.endswith("%"))


@pytest.mark.parametrize("relative", FILES)
def test_every_trade_number_becomes_one_closed_trade(relative):
    path = shared_statement(relative)
    rows = raw_rows(path)
    st = tradingview.read(path)
    numbers = {r["Trade #"] for r in rows}
    assert st.format == "tradingview" and st.broker == "TradingView"
    assert st.rejected == []
    assert len(st.trades) == len(numbers) == st.totals.closed_trades
    assert sorted(t.trade_id for t in st.trades) == sorted(numbers)
    assert all(t.is_closed for t in st.trades)
    # two lines per trade, plus the header: every line accounted for
    assert 2 * len(st.trades) + len(st.non_trades) + len(st.rejected) == len(rows)


@pytest.mark.parametrize("relative", FILES)
def test_closed_pnl_is_the_files_last_cumulative_pnl_to_the_cent(relative):
    path = shared_statement(relative)
    rows = raw_rows(path)
    net_col, cum_col = column(rows, "Net P&L "), column(rows, "Cumulative P&L ")
    exits = sorted((r for r in rows if r["Type"].startswith("Exit")), key=lambda r: int(r["Trade #"]))
    st = tradingview.read(path)
    assert st.totals.closed_pnl == pytest.approx(float(Decimal(exits[-1][cum_col])), abs=0.005)

    # Each trade's Net P&L is the step in the cumulative column, to the cent (both are rounded
    # to cents in the file, so a step may differ from the Net P&L by one cent).
    by_id = {t.trade_id: t for t in st.trades}
    previous = Decimal(0)
    for r in exits:
        step = Decimal(r[cum_col]) - previous
        previous = Decimal(r[cum_col])
        assert by_id[r["Trade #"]].profit == pytest.approx(float(Decimal(r[net_col])), abs=1e-9)
        assert abs(step - Decimal(r[net_col])) <= Decimal("0.01"), r["Trade #"]
    # ... and summed over the file, the rounding stays within half a cent per trade.
    total = sum(t.profit for t in st.trades)
    assert abs(total - st.totals.closed_pnl) <= 0.005 * len(st.trades)


def test_eth_perpetual_has_longs_and_shorts_in_usdt():
    st = tradingview.read(shared_statement(ETH))
    sides = Counter(t.side for t in st.trades)
    assert sides == {"long": 246, "short": 249}
    assert st.account_currency == "USDT"
    assert st.totals.closed_pnl == pytest.approx(38.51)
    first = next(t for t in st.trades if t.trade_id == "1")
    # 1,Entry long,2025-01-02 01:00,Long Entry,3389.11,0.0295,...  /  1,Exit long,2025-01-02 12:00,Max Hold,3470.58
    assert (first.side, first.entry, first.exit, first.quantity, first.profit) == ("long", 3389.11, 3470.58, 0.0295, 2.3)
    assert first.open_time == datetime(2025, 1, 2, 1, 0) and first.close_time == datetime(2025, 1, 2, 12, 0)
    assert first.symbol == "ETHUSDT.P"
    assert first.account == "AlphaDogsResearch_TRIX_Signal_Strategy_BINANCE_ETHUSDT.P"
    assert first.account_currency == first.quote_currency == "USDT"
    assert first.comment == "Long Entry / Max Hold"
    assert first.source.row == 2  # the trade's first line, right under the header
    short = next(t for t in st.trades if t.trade_id == "4")
    assert short.side == "short" and short.profit == -0.92
    # a losing short exits above its entry
    assert short.exit > short.entry


def test_2025_header_generation_nse_stock_in_inr():
    st = tradingview.read(shared_statement(ANANDRATHI))
    assert {t.side for t in st.trades} == {"long"}
    assert len(st.trades) == 43
    assert st.account_currency == "INR"
    assert st.totals.closed_pnl == pytest.approx(1392.16)
    t1 = next(t for t in st.trades if t.trade_id == "1")
    assert (t1.symbol, t1.quantity, t1.entry, t1.exit, t1.profit) == ("ANANDRATHI", 16, 302.35, 295.65, -128.25)


@pytest.mark.parametrize("relative", FILES)
def test_sniff_and_detect_recognise_the_export(relative):
    path = shared_statement(relative)
    assert tradingview.sniff(path, path.read_bytes()[:65536])
    try:
        found = detect(path)
    except ModuleNotFoundError as exc:  # detect() imports every reader; some are written separately
        pytest.skip(f"format detection needs all readers: {exc}")
    assert found is tradingview


def test_sniff_claims_no_other_real_export(statements_dir):
    others = [p for p in statements_dir.rglob("*") if p.is_file() and p.parent.name != "tradingview_list_of_trades_csv"]
    assert others
    claimed = [p.name for p in others if tradingview.sniff(p, p.read_bytes()[:65536])]
    assert claimed == []


# --- damaged and foreign files ---------------------------------------------------------------

def test_an_open_trade_and_a_lost_pair(tmp_path):
    header = ("Trade #,Type,Date and time,Signal,Price USD,Position size (qty),Position size (value),"
              "Net P&L USD,Net P&L %,Cumulative P&L USD,Cumulative P&L %")
    lines = [
        header,
        "1,Exit long,2025-01-02 12:00,TP,110,2,220,20,10,20,0.1",
        "1,Entry long,2025-01-02 01:00,Long,100,2,200,20,10,20,0.1",
        "2,Exit short,2025-01-03 12:00,SL,105,1,105,-5,-5,15,0.1",   # its entry row is missing
        "3,Exit short,2025-01-04 12:00,Open,95,1,95,5,5,20,0.1",
        "3,Entry short,2025-01-04 01:00,Short,100,1,100,5,5,20,0.1",
    ]
    f = tmp_path / "My_Strategy_CME_MINI_MNQ1!_2025-01-05.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    st = tradingview.read(f)
    assert [t.trade_id for t in st.trades] == ["1", "3"]
    still_open = st.trades[1]
    assert not still_open.is_closed and still_open.side == "short" and still_open.profit is None
    assert still_open.symbol == "MNQ1!"
    assert [r.source.row for r in st.rejected] == [4]
    assert "Trade #" in st.rejected[0].reason and "no entry row for trade #2" in st.rejected[0].reason
    # trade #2 is closed in the file, so the totals keep it and do not reconcile with the trades read
    assert st.totals.closed_trades == 2 and st.totals.closed_pnl == 15


def test_a_bad_price_is_rejected_naming_the_column(tmp_path):
    path = shared_statement(ANANDRATHI)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[1] = lines[1].replace(",295.65,", ",2956.5O,")  # trade #1's exit price, typed with a letter O
    f = tmp_path / path.name
    f.write_text("\n".join(lines), encoding="utf-8")
    st = tradingview.read(f)
    assert len(st.trades) == 42
    reasons = {r.source.row: r.reason for r in st.rejected}
    assert "Price INR" in reasons[2] and "2956.5O" in reasons[2]
    assert "Trade #" in reasons[3] and "trade #1" in reasons[3]  # its entry row lost its pair


def test_a_file_cut_short_is_refused_naming_the_file(tmp_path):
    path = shared_statement(ETH)
    data = path.read_bytes()
    f = tmp_path / path.name
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(StatementError, match="cut short") as err:
        tradingview.read(f)
    assert str(f) in str(err.value)


def test_a_header_cut_short_raises_naming_the_file_and_the_columns(tmp_path):
    f = tmp_path / "cut.csv"
    f.write_bytes(shared_statement(ETH).read_bytes()[:40])
    with pytest.raises(StatementError) as err:
        tradingview.read(f)
    assert str(f) in str(err.value) and "Net P&L <CCY>" in str(err.value)


def test_a_tradovate_file_is_not_a_list_of_trades():
    f = shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    with pytest.raises(StatementError, match="List of trades") as err:
        tradingview.read(f)
    assert err.value.file == str(f)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary", "Trade #;Type\n".encode("utf-16")])
def test_empty_or_binary_files_raise(tmp_path, content):
    f = tmp_path / "x.csv"
    f.write_bytes(content)
    with pytest.raises(StatementError) as err:
        tradingview.read(f)
    assert str(f) in str(err.value)



def test_older_header_with_contracts_and_cum_profit(tmp_path):
    f = tmp_path / "Old_Strategy_NASDAQ_AAPL_2023-05-02.csv"
    f.write_text("Trade #,Type,Signal,Date/Time,Price USD,Contracts,Profit USD,Profit %,Cum. Profit USD,Cum. Profit %,"
                 "Run-up USD,Run-up %,Drawdown USD,Drawdown %\n"
                 "1,Exit short,Cover,2023-05-01 15:30,165.10,10,12.5,0.75,12.5,0.01,20,1.2,-5,-0.3\n"
                 "1,Entry short,Short,2023-05-01 09:30,166.35,10,12.5,0.75,12.5,0.01,20,1.2,-5,-0.3\n")
    assert tradingview.sniff(f, f.read_bytes())
    st = tradingview.read(f)
    (t,) = st.trades
    assert (t.symbol, t.side, t.quantity, t.entry, t.exit, t.profit) == ("AAPL", "short", 10, 166.35, 165.10, 12.5)
    assert st.totals.closed_pnl == 12.5 and st.account == "Old_Strategy_NASDAQ_AAPL"
