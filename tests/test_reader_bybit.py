"""Bybit USDT-perpetual exports: "Closed P&L" (one row per closing order, net of fees and funding)
and "Trade History" (fills and funding). The real pair of exports covers the same account and
period, so the positions grouped from the fills are reconciled, position by position and to the
cent, with the Closed P&L rows (re-read here with the csv module and Decimal). Hand-made files cover
the unified-account layout, hedge mode, bad rows, truncation and a bounded hypothesis test.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_statement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal_reader import read_journal
from addin.statements import bybit_closed_pnl, bybit_trades, detect, read_statement
from addin.statements.model import StatementError

ROOT = Path(__file__).resolve().parents[1]
CLOSED = "bybit_usdt_perpetual/ShichidaNael_BybitClosedPNLUSDTPerpetual20220223-20220516.csv"
HISTORY = "bybit_usdt_perpetual/ShichidaNael_BybitTradeHistoryUSDTPerpetual20220223-20220516.csv"
HISTORY_HEADER = ("Contracts,Order No.,Transaction Time(UTC+0),Leverage,Direction,Order Type,Filled Type,Filled Qty,"
                  "Filled Price,Order Price,Trading Fee Rate,Fees Paid,Transaction ID")
CLOSED_HEADER = "Contracts,Closing Direction,Qty,Entry Price,Exit Price,Closed P&L,Exit Type,Trade Time(UTC+0)"
UNIFIED_HEADER = ("Uid,Contracts,Trade Type,Qty,Entry Price,Realized P&L,Filled Price,Exit Type,"
                  "Filled/Settlement Time(UTC+0),Create Time")


def raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- real: Closed P&L


@pytest.mark.statements
def test_closed_pnl_rows_are_trades_and_reconcile_to_the_cent():
    path = shared_statement(CLOSED)
    rows = raw_rows(path)
    s = bybit_closed_pnl.read(path)
    assert s.format == "bybit_closed_pnl" and s.broker == "Bybit" and s.rejected == []
    assert len(s.trades) == len(rows) == 52 and s.ledger.seen == 52 and s.ledger.balanced
    file_pnl = sum(Decimal(r["Closed P&L"]) for r in rows)
    assert round(sum(Decimal(str(t.profit)) for t in s.trades), 2) == round(file_pnl, 2) == Decimal("-2691.28")
    assert [c.ok for c in s.checks] == [True]
    for t, r in zip(s.trades, rows):
        assert t.side == ("long" if r["Closing Direction"] == "Close Long" else "short")
        assert (t.quantity, t.entry, t.exit) == (float(r["Qty"]), float(r["Entry Price"]), float(r["Exit Price"]))
        assert t.net_profit == t.profit == float(r["Closed P&L"])  # net already: no fee or funding added twice
        assert t.asset_class == "CRYPTO" and t.contract_size == 1 and t.account_currency == "USDT"
        assert bybit_closed_pnl.NET_FLAG in t.flags
    assert sum(t.comment == "Liquidation" for t in s.trades) == 4


# --------------------------------------------------------------------------- real: Trade History


def closed_pnl_of(trade, closed_rows) -> tuple[Decimal, list[dict]]:
    """The Closed P&L rows of a position: same symbol and side, closed while it was open."""
    side = "Close Long" if trade.side == "long" else "Close Short"
    rows = [r for r in closed_rows if r["Contracts"] == trade.symbol and r["Closing Direction"] == side
            and trade.open_time <= datetime.fromisoformat(r["Trade Time(UTC+0)"]) <= trade.close_time]
    return sum(Decimal(r["Closed P&L"]) for r in rows), rows


@pytest.mark.statements
def test_positions_from_the_fills_reconcile_with_the_closed_pnl_export_to_the_cent():
    history, closed = shared_statement(HISTORY), shared_statement(CLOSED)
    closed_rows = raw_rows(closed)
    s = bybit_trades.read(history)
    assert s.format == "bybit_trades" and s.rejected == [] and s.ledger.balanced
    done = [t for t in s.trades if t.is_closed]
    matched = []
    for t in done:
        pnl, rows = closed_pnl_of(t, closed_rows)
        assert rows, t.trade_id
        matched += rows
        if "liquidated" in t.comment:
            continue
        # gross from the fills - fees - funding paid = Bybit's Closed P&L, to the cent
        assert round(Decimal(str(t.net_profit)), 2) == round(pnl, 2), t.trade_id
    assert len(matched) == len(closed_rows) == 52  # every Closed P&L row belongs to one position
    assert sum("liquidated" not in t.comment for t in done) == 48


@pytest.mark.statements
def test_a_liquidation_differs_from_closed_pnl_by_the_margin_bybit_keeps():
    """Bybit books a liquidated position's loss at the bankruptcy price (isolated margin: entry x
    (1 - side/leverage)), the fills show the liquidation price: the gap is quantity x the distance
    between the two prices, to within one price tick (0.005 here)."""
    closed_rows = raw_rows(shared_statement(CLOSED))
    s = bybit_trades.read(shared_statement(HISTORY))
    liquidated = [t for t in s.trades if "liquidated" in t.comment]
    assert sorted(t.symbol for t in liquidated) == ["LOOKSUSDT", "LUNAUSDT", "LUNAUSDT", "THETAUSDT"]
    for t in liquidated:
        pnl, _ = closed_pnl_of(t, closed_rows)
        side = 1 if t.side == "long" else -1
        bankruptcy = t.entry * (1 - side / t.leverage)
        gap_per_coin = (float(pnl) - t.net_profit) / t.quantity
        assert gap_per_coin == pytest.approx(-abs(t.exit - bankruptcy), abs=0.005)
        assert any("bankruptcy price" in f for f in t.flags)


@pytest.mark.statements
def test_fees_funding_and_leverage_come_from_the_export():
    path = shared_statement(HISTORY)
    rows = raw_rows(path)
    s = bybit_trades.read(path)
    funding = [r for r in rows if r["Filled Type"] == "Funding"]
    fills = [r for r in rows if r["Filled Type"] != "Funding"]
    assert s.ledger.seen == len(rows) == 1407 and s.ledger.trade_rows == len(fills) == 959
    assert [n.kind for n in s.non_trades] == ["funding"] * len(funding) == ["funding"] * 448
    assert round(-sum(Decimal(str(t.commission)) for t in s.trades), 2) == round(
        sum(Decimal(r["Fees Paid"]) for r in fills), 2)
    assert sum(t.swap for t in s.trades) == pytest.approx(-float(sum(Decimal(r["Fees Paid"]) for r in funding)), abs=0.01)
    knc = next(t for t in s.trades if t.symbol == "KNCUSDT" and t.close_time == datetime(2022, 5, 9, 10, 27, 4))
    # the README's hand check: 38.29398 = gross 38.29795 - fees 8.67526 + funding received 8.67129
    assert (knc.profit, knc.commission, knc.swap) == pytest.approx((38.29795, -8.67526, 8.67129), abs=5e-6)
    assert knc.leverage == 8 and knc.trade_id.startswith("KNCUSDT-")
    assert {t.leverage for t in s.trades if t.symbol == "BTCUSDT"} == {7}
    still_open = sorted((t.symbol, t.side, t.quantity) for t in s.trades if not t.is_closed)
    assert still_open == [("CROUSDT", "short", 27600.0), ("ZECUSDT", "short", 120.0)]


@pytest.mark.statements
@pytest.mark.parametrize("relative, reader", [(CLOSED, bybit_closed_pnl), (HISTORY, bybit_trades)])
def test_detect_finds_the_reader(relative, reader):
    assert detect(shared_statement(relative)) is reader


def test_sniff_claims_no_other_real_export(statements_dir):
    others = [p for p in statements_dir.rglob("*") if p.is_file() and p.parent.name != "bybit_usdt_perpetual"]
    assert others
    for reader in (bybit_closed_pnl, bybit_trades):
        assert [p.name for p in others if reader.sniff(p, p.read_bytes()[:65536])] == []


@pytest.mark.statements
@pytest.mark.parametrize("relative", [CLOSED, HISTORY])
def test_fill_command_puts_every_position_in_the_journal_with_the_same_profit(relative, tmp_path):
    path = shared_statement(relative)
    journal = tmp_path / "Journal.xlsx"
    run = subprocess.run([sys.executable, "-m", "addin", "fill", str(path), "--journal", str(journal),
                          "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "rejected:             0" in run.stdout
    s = read_statement(path)
    contents = read_journal(journal)
    assert len(contents.trades) == len(s.trades)
    net = sum(t.net_profit for t in contents.trades if t.net_profit is not None)
    assert net == pytest.approx(sum(t.net_profit for t in s.trades if t.is_closed), abs=0.01)
    if relative == CLOSED:
        assert net == pytest.approx(-2691.28, abs=0.005)  # the export's own column sum
    assert {t.asset_class for t in contents.trades} == {"CRYPTO"}


# --------------------------------------------------------------------------- hand-made


def write(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def h(sym, order, time, lev, direction, kind, qty, price, fee, tx):
    return f"{sym},{order},{time},{lev},{direction},Limit,{kind},{qty},{price},{price},0.0006,{fee},{tx}"


def test_hedge_mode_a_long_and_a_short_of_one_symbol_at_once(tmp_path):
    path = write(tmp_path / "h.csv", HISTORY_HEADER, [
        h("ETHUSDT", "o4", "2024-01-04 10:00:00", 10, "Close Short", "Trade", 1, 1900, 1.14, "t4"),
        h("ETHUSDT", "o3", "2024-01-03 10:00:00", 10, "Close Long", "Trade", 2, 2100, 2.52, "t3"),
        h("ETHUSDT", "850-Sell", "2024-01-02 16:00:00", 10, "Open Short", "Funding", 1, 2050, -0.2, "f1"),
        h("ETHUSDT", "6850-Buy", "2024-01-02 16:00:00", 10, "Open Long", "Funding", 2, 2050, 0.4, "f2"),
        h("ETHUSDT", "o2", "2024-01-02 10:00:00", 10, "Open Short", "Trade", 1, 2000, 1.2, "t2"),
        h("ETHUSDT", "o1", "2024-01-01 10:00:00", 20, "Open Long", "Trade", 2, 2000, 2.4, "t1"),
    ])
    s = bybit_trades.read(path)
    long_, short = sorted(s.trades, key=lambda t: t.side)
    assert (long_.side, long_.quantity, long_.entry, long_.exit, long_.profit) == ("long", 2, 2000, 2100, 200)
    assert (long_.commission, long_.swap, long_.leverage) == (-4.92, -0.4, 20)
    assert (short.side, short.entry, short.exit, short.profit, short.swap) == ("short", 2000, 1900, 100, 0.2)
    assert long_.net_profit == pytest.approx(200 - 4.92 - 0.4)
    texts = [n.text for n in s.non_trades]
    assert any("ETHUSDT-t1" in x for x in texts) and any("ETHUSDT-t2" in x for x in texts)


def test_a_close_of_a_position_opened_before_the_export_is_rejected_with_the_reason(tmp_path):
    path = write(tmp_path / "h.csv", HISTORY_HEADER, [
        h("BTCUSDT", "o2", "2024-01-03 10:00:00", 5, "Close Long", "Trade", 0.1, 43000, 2.58, "t2"),
        h("BTCUSDT", "6850-Buy", "2024-01-02 16:00:00", 5, "Open Long", "Funding", 0.1, 42500, 0.42, "f1"),
        h("XRPUSDT", "o1", "2024-01-02 10:00:00", 5, "Open Long", "Trade", 100, 0.5, 0.03, "t1"),
    ])
    s = bybit_trades.read(path)
    assert [(r.source.row, "opened before the export" in r.reason) for r in s.rejected] == [(2, True)]
    assert "line 2" in s.rejected[0].reason
    (funding,) = s.non_trades
    assert funding.kind == "funding" and "charged to no trade" in funding.text
    (xrp,) = s.trades
    assert not xrp.is_closed and xrp.quantity == 100 and s.ledger.balanced


def test_bad_rows_are_rejected_naming_line_and_column_and_later_rows_still_read(tmp_path):
    path = write(tmp_path / "h.csv", HISTORY_HEADER, [
        h("BTCUSDT", "o2", "2024-01-03 10:00:00", 5, "Close Long", "Trade", 0.1, 43000, 2.58, "t2"),
        h("BTCUSDT", "o9", "2024-01-02 12:00:00", 5, "Sideways", "Trade", 0.1, 43000, 2.58, "t9"),
        h("BTCUSDT", "o8", "2024-01-02 11:00:00", "x", "Open Long", "Trade", -1, 43000, 2.58, "t8"),
        h("BTCUSDT", "o7", "02/01/2024 11:00", 5, "Open Long", "Trade", 1, 43000, 2.58, "t7"),
        h("BTCUSDT", "o1", "2024-01-02 10:00:00", 5, "Open Long", "Trade", 0.1, 42000, 2.52, "t1"),
    ])
    s = bybit_trades.read(path)
    reasons = {r.source.row: r.reason for r in s.rejected}
    assert sorted(reasons) == [3, 4, 5]
    assert "column 'Direction'" in reasons[3]
    assert "column 'Leverage'" in reasons[4] and "column 'Filled Qty'" in reasons[4]
    assert "column 'Transaction Time(UTC+0)'" in reasons[5]
    (t,) = s.trades
    assert (t.entry, t.exit, t.profit, t.commission) == (42000, 43000, 100, -5.1)


def test_closed_pnl_bad_rows_and_a_cut_last_line(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("\n".join([
        CLOSED_HEADER,
        "BTCUSDT,Close Long,0.1,42000,43000,95.5,Trade,2024-01-03 10:00:00",
        "BTCUSDT,Close Both,0.1,42000,43000,95.5,Trade,2024-01-03 10:00:00",
        "BTCUSDT,Close Short,0.1,42000,abc,95.5,StopLoss,2024-01-03 11:00:00",
        "ETHUSDT,Close Short,1,2000,1900,98.1,TakeProfit,2024-01-04 10:00:00",
        "ETHUSDT,Close Short,1,2000,1900",
    ]), encoding="utf-8")  # no line end: cut mid-row
    try:
        s = bybit_closed_pnl.read(path)
    except StatementError as exc:  # refusing the whole file names it
        assert path.name in str(exc)
        return
    reasons = {r.source.row: r.reason for r in s.rejected}
    assert sorted(reasons) == [3, 4, 6]
    assert "column 'Closing Direction'" in reasons[3] and "column 'Exit Price'" in reasons[4]
    assert "cut short" in reasons[6]
    assert [(t.symbol, t.side, t.comment) for t in s.trades] == [("BTCUSDT", "long", ""), ("ETHUSDT", "short", "TakeProfit")]
    assert s.ledger.balanced


def test_the_unified_account_layout(tmp_path):
    path = write(tmp_path / "Bybit-ClosedPNL.csv", UNIFIED_HEADER, [
        "123456,BTCUSDT,SELL,0.01,60000,9.52,61000,Trade,14:05 2025-03-02,09:00 2025-03-01",
        "123456,ETHUSDT,BUY,0.5,3000,-51.3,3100,StopLoss,2025-03-03 08:00:00,2025-03-02 07:00:00",
    ])
    assert bybit_closed_pnl.sniff(path, path.read_bytes()) and detect(path) is bybit_closed_pnl
    s = bybit_closed_pnl.read(path)
    btc, eth = s.trades
    assert (btc.side, btc.entry, btc.exit, btc.profit) == ("long", 60000, 61000, 9.52)  # SELL closed a long
    assert btc.close_time == datetime(2025, 3, 2, 14, 5) and btc.open_time is None
    assert (eth.side, eth.profit, eth.comment) == ("short", -51.3, "StopLoss; created 2025-03-02 07:00:00")
    assert s.account == btc.account == "123456" and s.totals.closed_pnl == pytest.approx(-41.78)


@pytest.mark.parametrize("reader", [bybit_closed_pnl, bybit_trades])
@pytest.mark.parametrize("content", [b"", b"\x00\x01binary", b"Contracts,Foo\nBTCUSDT,2\n"])
def test_foreign_or_empty_files_raise_naming_the_file(tmp_path, reader, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(StatementError, match="x.csv"):
        reader.read(path)


# --------------------------------------------------------------------------- hypothesis

steps = st.lists(st.tuples(st.sampled_from([1, -1]), st.booleans(), st.integers(1, 30), st.integers(900, 1100)),
                 min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_fill_sequence_keeps_every_row_and_every_fee(tmp_path, steps):
    """Opens and closes of a long and a short (hedge mode), funding between them: every row ends as
    a fill of a trade, a funding row or a rejected close, fees and funding are all kept, and each
    closed position's profit is its prices' P/L."""
    open_qty = {1: 0, -1: 0}
    lines = []
    expected_rejected = 0
    for i, (side, is_open, qty, price) in enumerate(steps):
        when = f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00"
        if not is_open and open_qty[side] == 0:
            expected_rejected += 1  # a close with nothing open
        if not is_open:
            qty = min(qty, open_qty[side]) or qty
            open_qty[side] = max(0, open_qty[side] - qty)
        else:
            open_qty[side] += qty
        direction = f"{'Open' if is_open else 'Close'} {'Long' if side == 1 else 'Short'}"
        lines.append(h("BTCUSDT", f"o{i}", when, 10, direction, "Trade", qty, price, 0.5, f"t{i}"))
        if open_qty[side]:
            lines.append(h("BTCUSDT", "f", when, 10, direction.replace("Close", "Open"), "Funding", open_qty[side],
                           price, 0.25, f"f{i}"))
    path = write(tmp_path / "h.csv", HISTORY_HEADER, lines[::-1])
    s = bybit_trades.read(path)
    assert s.ledger.seen == len(lines) and s.ledger.balanced
    assert len(s.rejected) == expected_rejected
    fills = len(steps) - expected_rejected
    assert -sum(t.commission for t in s.trades) == pytest.approx(0.5 * fills)
    charged = sum(1 for n in s.non_trades if "in the swap of trade" in n.text)
    assert -sum(t.swap for t in s.trades) == pytest.approx(0.25 * charged)
    for t in s.trades:
        if t.is_closed:
            side = 1 if t.side == "long" else -1
            assert (t.exit - t.entry) * t.quantity * side == pytest.approx(t.profit, abs=1e-6)
