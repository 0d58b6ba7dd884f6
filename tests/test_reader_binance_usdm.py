"""Binance USDⓈ-M Futures "Export Trade History": real XLSX exports grouped into positions and
reconciled to the cent with the export's own Realized Profit column (re-read here with openpyxl and
Decimal, not with the reader's parser), plus hand-made files for the newer CSV layout, bad rows,
truncation, hostile workbooks and a bounded hypothesis test of the position grouping.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import shared_statement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal_reader import read_journal
from addin.statements import binance_usdm, detect, read_statement
from addin.statements.model import StatementError

ROOT = Path(__file__).resolve().parents[1]
GABRIEL = "binance_usdm_futures_trades/GabrielBuzik_Export_Trade_History.xlsx"
MIKE = "binance_usdm_futures_trades/Mike-Zelixon_Binance_Nov-Dec_2022.xlsx"
FILES = [GABRIEL, MIKE]
XLSX_HEADER = ["Date(UTC)", "Symbol", "Side", "Price", "Quantity", "Amount", "Fee", "Fee Coin",
               "Realized Profit", "Quote Asset"]
CSV_HEADER = "Uid,Time,Symbol,Side,Price,Quantity,Amount,Fee,Realized Profit,Buyer,Maker,Trade ID,Order ID"


def sheet_rows(path: Path) -> list[dict[str, str]]:
    """The export's rows as the file stores them (every cell is text), independently of the reader."""
    wb = openpyxl.load_workbook(path, read_only=False)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    header = list(rows[0])
    return [dict(zip(header, r)) for r in rows[1:] if any(r)]


# --------------------------------------------------------------------------- real exports


@pytest.mark.statements
@pytest.mark.parametrize("relative", FILES)
def test_realised_profit_and_fees_reconcile_to_the_cent_with_the_export(relative):
    path = shared_statement(relative)
    rows = sheet_rows(path)
    s = binance_usdm.read(path)
    assert s.format == "binance_usdm" and s.broker == "Binance" and s.rejected == []
    file_profit = sum(Decimal(r["Realized Profit"]) for r in rows)
    file_fees = sum(Decimal(r["Fee"]) for r in rows if r["Fee Coin"] == r["Quote Asset"])
    assert all(t.is_closed for t in s.trades)  # both exports end flat
    assert round(sum(Decimal(str(t.profit)) for t in s.trades), 2) == round(file_profit, 2)
    assert round(-sum(Decimal(str(t.commission)) for t in s.trades), 2) == round(file_fees, 2)
    assert [c.ok for c in s.checks] == [True]
    # every fill row is part of exactly one trade: nothing lost, nothing counted twice
    assert s.ledger.seen == len(rows) == s.ledger.trade_rows and s.ledger.balanced


@pytest.mark.statements
@pytest.mark.parametrize("relative", FILES)
def test_each_position_is_a_linear_usdt_margined_perpetual(relative):
    s = binance_usdm.read(shared_statement(relative))
    for t in s.trades:
        assert t.asset_class == "CRYPTO" and t.contract_size == 1.0 and t.leverage is None
        assert t.quote_currency == t.account_currency == t.symbol[-4:]  # USDT or BUSD margined
        # linear contract: the gross P/L is (exit - entry) x quantity x side, to the cent
        side = 1 if t.side == "long" else -1
        assert (t.exit - t.entry) * t.quantity * side == pytest.approx(t.profit, abs=0.01)


@pytest.mark.statements
def test_mike_zelixon_positions_as_a_trader_reads_them():
    s = binance_usdm.read(shared_statement(MIKE))
    assert len(s.trades) == 14 and s.account_currency == "USDT"
    first = s.trades[0]  # two SELLs at 2.7 (69 + 336.5), bought back at 3.534: a short squeezed by FTX's fall
    assert (first.symbol, first.side, first.quantity, first.entry, first.exit) == ("FTTBUSD", "short", 405.5, 2.7, 3.534)
    assert first.profit == pytest.approx(-338.187) and first.open_time == datetime(2022, 11, 10, 12, 57, 44)
    assert first.close_time == datetime(2022, 11, 10, 14, 27, 14)
    # scaled out in two closing orders 8 seconds apart: one position, two closing orders
    ftt = next(t for t in s.trades if t.trade_id == "FTTBUSD 2022-11-13 14:25:42")
    assert (ftt.side, ftt.quantity, ftt.comment) == ("long", 1114.5, "2 closing orders")
    assert ftt.profit == pytest.approx(-69.5147)


@pytest.mark.statements
def test_a_bot_that_flips_and_a_position_opened_before_the_export():
    s = binance_usdm.read(shared_statement(GABRIEL))
    assert len(s.trades) == 85 and s.account_currency == "BUSD"
    first = s.trades[0]  # the export starts with a SELL that realises -7.767: it closes an older long
    assert first.trade_id == "BTCBUSD closed 2022-09-21 20:00:15" and first.side == "long" and first.open_time is None
    assert first.entry == pytest.approx(18982.4 + 7.767 / 0.03)  # derived from the realised profit
    assert any("opened before the export" in f for f in first.flags)
    flips = [t for t in s.trades if any("flip" in f for f in t.flags)]
    assert len(flips) > 30  # the bot reverses with one order: closed and reopened by the same fill
    # a flip fill's fee is split between the two positions in proportion to the quantities
    total_fee = sum(Decimal(r["Fee"]) for r in sheet_rows(shared_statement(GABRIEL)))
    assert round(-sum(Decimal(str(t.commission)) for t in s.trades), 6) == round(total_fee, 6)


@pytest.mark.statements
@pytest.mark.parametrize("relative", FILES)
def test_detect_finds_the_reader(relative):
    assert detect(shared_statement(relative)) is binance_usdm


def test_sniff_claims_no_other_real_export(statements_dir):
    others = [p for p in statements_dir.rglob("*") if p.is_file() and p.parent.name != "binance_usdm_futures_trades"]
    assert others
    assert [p.name for p in others if binance_usdm.sniff(p, p.read_bytes()[:65536])] == []


@pytest.mark.statements
@pytest.mark.parametrize("relative", FILES)
def test_fill_command_puts_every_position_in_the_journal_with_the_same_profit(relative, tmp_path):
    path = shared_statement(relative)
    journal = tmp_path / "Journal.xlsx"
    run = subprocess.run([sys.executable, "-m", "addin", "fill", str(path), "--journal", str(journal),
                          "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "[binance_usdm]" in run.stdout and "rejected:             0" in run.stdout
    contents = read_journal(journal)
    s = read_statement(path)
    assert len(contents.trades) == len(s.trades)
    file_profit = sum(Decimal(r["Realized Profit"]) for r in sheet_rows(path))
    assert sum(t.profit for t in contents.trades) == pytest.approx(float(file_profit), abs=0.01)
    assert {t.asset_class for t in contents.trades} == {"CRYPTO"}


# --------------------------------------------------------------------------- hand-made files


def write_xlsx(path: Path, rows: list[list[str]], header: list[str] = XLSX_HEADER) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def xrow(time, symbol, side, price, qty, fee="0", rp="0", coin=None, quote="USDT"):
    amount = f"{float(price) * float(qty):.8f}"
    return [time, symbol, side, str(price), str(qty), amount, str(fee), coin or quote, str(rp), quote]


def test_partial_close_scale_in_flip_and_an_open_position(tmp_path):
    # newest first, as Binance writes it
    path = write_xlsx(tmp_path / "t.xlsx", [
        xrow("2024-01-05 10:00:00", "ETHUSDT", "SELL", 2100, 1.5, fee="1.26", rp="100"),  # closes 1 long, opens 0.5 short
        xrow("2024-01-04 10:00:00", "ETHUSDT", "BUY", 2000, 0.5, fee="0.4"),             # scale in
        xrow("2024-01-03 10:00:00", "ETHUSDT", "SELL", 2050, 0.5, fee="0.41", rp="25"),  # partial close
        xrow("2024-01-02 10:00:00", "ETHUSDT", "BUY", 2000, 1, fee="0.8"),
    ])
    s = binance_usdm.read(path)
    assert s.rejected == [] and s.ledger.seen == 4 and s.ledger.balanced
    closed, still_open = s.trades
    assert (closed.side, closed.quantity, closed.entry) == ("long", 1.5, 2000)
    assert closed.exit == pytest.approx((2050 * 0.5 + 2100 * 1) / 1.5) and closed.profit == 125
    assert closed.commission == pytest.approx(-(0.8 + 0.41 + 0.4 + 1.26 * 1 / 1.5))
    assert closed.open_time == datetime(2024, 1, 2, 10) and closed.close_time == datetime(2024, 1, 5, 10)
    assert (still_open.side, still_open.quantity, still_open.entry, still_open.exit) == ("short", 0.5, 2100, None)
    assert still_open.commission == pytest.approx(-1.26 * 0.5 / 1.5) and still_open.profit is None
    assert s.totals.closed_trades == 1


def test_a_fee_in_bnb_is_named_not_converted(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [
        xrow("2024-01-03 10:00:00", "BTCUSDT", "SELL", 43000, 0.1, fee="0.002", rp="100", coin="BNB"),
        xrow("2024-01-02 10:00:00", "BTCUSDT", "BUY", 42000, 0.1, fee="1.68"),
    ])
    (t,) = binance_usdm.read(path).trades
    assert t.profit == 100 and t.commission == -1.68
    assert any("0.002 BNB not in the commission" in f for f in t.flags)


def test_bad_rows_are_rejected_naming_row_and_column_and_later_rows_still_read(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [
        xrow("2024-01-04 10:00:00", "BTCUSDT", "SELL", 43000, 0.1, rp="100"),
        xrow("2024-01-03 10:00:00", "BTCUSDT", "HOLD", 43000, 0.1),
        ["2024-01-03 09:00:00", "BTCUSDT", "BUY", "abc", "0.1", "1", "0", "USDT", "0", "USDT"],
        ["yesterday", "BTCUSDT", "BUY", "42000", "0.1", "4200", "0", "USDT", "0", "USDT"],
        ["2024-01-02 11:00:00", "BTCUSDT", "BUY", "42000", "0.1", "9999", "0", "USDT", "0", "USDT"],
        xrow("2024-01-02 10:00:00", "BTCUSDT", "BUY", 42000, 0.1),
    ])
    s = binance_usdm.read(path)
    reasons = {r.source.row: r.reason for r in s.rejected}
    assert sorted(reasons) == [3, 4, 5, 6]
    assert "row 3" in reasons[3] and "column 'Side'" in reasons[3] and "'HOLD'" in reasons[3]
    assert "column 'Price'" in reasons[4] and "column 'Date(UTC)'" in reasons[5]
    assert "column 'Amount'" in reasons[6] and "Price × Quantity" in reasons[6]
    (t,) = s.trades  # the good rows around them still make their position
    assert (t.side, t.entry, t.exit, t.profit) == ("long", 42000, 43000, 100)
    assert s.ledger.seen == 6 and s.ledger.balanced


def test_a_cut_or_damaged_workbook_is_refused_naming_the_file(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", [xrow("2024-01-02 10:00:00", "BTCUSDT", "BUY", 42000, 0.1)])
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(StatementError, match="cut.xlsx"):
        binance_usdm.read(cut)
    flipped = bytearray(data)
    sheet = data.index(b"xl/worksheets/sheet1.xml") + 40  # inside the member's compressed data
    flipped[sheet:sheet + 8] = b"\x00" * 8
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(StatementError, match="damaged.xlsx"):
        binance_usdm.read(damaged)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (64 * 1024 * 1024) + b"/>")
    assert bomb.stat().st_size < 200_000
    with pytest.raises(StatementError, match="zip bomb"):
        binance_usdm.read(bomb)


def test_an_entity_declaring_sheet_is_refused(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", [xrow("2024-01-02 10:00:00", "BTCUSDT", "BUY", 42000, 0.1)])
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>' + data.split(b"?>", 1)[-1]
                assert b"<!ENTITY" in data
            dst.writestr(info, data)
    with pytest.raises(StatementError, match="DTD"):
        binance_usdm.read(evil)


def write_csv(path: Path, lines: list[str], header: str = CSV_HEADER) -> Path:
    path.write_bytes(("\ufeff" + "\r\n".join([header, *lines]) + "\r\n").encode("utf-8"))
    return path


def test_the_2026_csv_layout_with_fee_coins_uid_and_a_time_zone_in_the_file_name(tmp_path):
    path = write_csv(tmp_path / "Binance-Futures-Trade-History-202608302008(UTC+3).csv", [
        "74055180,26-08-30 22:50:00,SOLUSDT,BUY,105.0,10,1050.0,0.42000000 USDT,5.1,true,false,102,9002",
        "74055180,2026-08-30 22:46:50,SOLUSDT,SELL,105.51,10,1055.1,0.4220USDT,0,false,true,101,9001",
    ])
    assert binance_usdm.sniff(path, path.read_bytes()) and detect(path) is binance_usdm
    s = binance_usdm.read(path)
    (t,) = s.trades
    assert s.account == t.account == "74055180" and t.trade_id == "SOLUSDT-101"
    assert (t.side, t.quantity, t.entry, t.exit, t.profit) == ("short", 10, 105.51, 105.0, 5.1)
    assert t.open_time == datetime(2026, 8, 30, 19, 46, 50)  # 22:46:50 at UTC+3, stored in UTC
    assert t.commission == pytest.approx(-0.842) and t.quote_currency == "USDT"


def test_a_csv_without_a_zone_in_its_name_says_so(tmp_path):
    path = write_csv(tmp_path / "trades.csv", [
        "1,2026-08-30 22:50:00,SOLUSDT,BUY,105.0,10,1050.0,0.42USDT,5.1,true,false,102,9002",
        "1,2026-08-30 22:46:50,SOLUSDT,SELL,105.51,10,1055.1,0.42USDT,0,false,true,101,9001",
    ])
    (t,) = binance_usdm.read(path).trades
    assert t.open_time == datetime(2026, 8, 30, 22, 46, 50)
    assert any("no time zone" in f for f in t.flags)


def test_a_csv_cut_mid_row_never_imports_the_cut_row(tmp_path):
    path = tmp_path / "Binance-Futures-Trade-History(UTC+0).csv"
    lines = [
        "1,2026-08-30 22:50:00,SOLUSDT,BUY,105.0,10,1050.0,0.42USDT,5.1,true,false,102,9002",
        "1,2026-08-30 22:46:50,SOLUSDT,SELL,105.51,10,1055.1,0.42USDT,0,false,true,101,9001",
        "1,2026-08-30 21:00:00,ETHUSDT,BUY,2000",
    ]
    path.write_text("\r\n".join([CSV_HEADER, *lines]), encoding="utf-8")  # no line end: cut
    try:
        s = binance_usdm.read(path)
    except StatementError as exc:  # refusing the whole file names it
        assert path.name in str(exc)
        return
    assert [r.source.row for r in s.rejected] == [4] and "cut short" in s.rejected[0].reason
    assert [t.symbol for t in s.trades] == ["SOLUSDT"] and s.ledger.balanced


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary", b"Date,Foo\n1,2\n"])
def test_foreign_or_empty_files_raise_naming_the_file(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(StatementError, match="x.csv"):
        binance_usdm.read(path)


def test_missing_columns_are_named(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [], header=XLSX_HEADER[:-2])
    with pytest.raises(StatementError, match="Realized Profit, Quote Asset"):
        binance_usdm.read(path)


# --------------------------------------------------------------------------- hypothesis

orders = st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(1, 40), st.integers(900, 1100)),
                  min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=orders)
def test_any_order_sequence_groups_into_positions_that_keep_every_fill_and_all_realised_profit(tmp_path, orders):
    """Orders on one symbol in one-way mode, realised profit computed as the exchange does (average
    cost): the reader keeps every fill, every realised cent, and each closed position's prices give
    its profit."""
    pos = 0
    avg = 0.0
    rows = []
    total_rp = 0.0
    for i, (side, qty, price) in enumerate(orders):
        rp = 0.0
        if pos * side < 0:  # reduces (and maybe flips)
            closing = min(qty, abs(pos))
            rp = (price - avg) * closing * (1 if pos > 0 else -1)
            rest = qty - closing
            pos += side * closing
            if rest:
                pos, avg = side * rest, float(price)
        else:
            avg = (avg * abs(pos) + price * qty) / (abs(pos) + qty)
            pos += side * qty
        total_rp += rp
        when = f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00"
        rows.append(xrow(when, "BTCUSDT", "BUY" if side == 1 else "SELL", price, qty, fee="0.1",
                         rp=f"{rp:.10f}"))
    path = write_xlsx(tmp_path / "h.xlsx", rows[::-1])
    s = binance_usdm.read(path)
    assert s.rejected == [] and s.ledger.seen == len(orders) and s.ledger.balanced
    closed = [t for t in s.trades if t.is_closed]
    still_open = [t for t in s.trades if not t.is_closed]
    assert len(still_open) == (1 if pos else 0)
    if pos:
        assert still_open[0].quantity == pytest.approx(abs(pos))
    realised_open = sum(float(f.split("realised ")[1].split()[0]) for t in still_open for f in t.flags
                        if f.startswith("partly closed"))
    assert sum(t.profit for t in closed) + realised_open == pytest.approx(total_rp, abs=0.01)
    assert -sum(t.commission for t in s.trades) == pytest.approx(0.1 * len(orders))
    for t in closed:
        side = 1 if t.side == "long" else -1
        assert (t.exit - t.entry) * t.quantity * side == pytest.approx(t.profit, abs=1e-6)


def test_a_position_that_cannot_exist_is_rejected_row_by_row_and_the_rest_is_read(tmp_path):
    # a SELL of 1 at 10 realising +50 would close a long bought at -40: no such price
    path = write_xlsx(tmp_path / "t.xlsx", [
        xrow("2024-01-03 10:00:00", "BTCUSDT", "SELL", 43000, 0.1, rp="100"),
        xrow("2024-01-02 10:00:00", "BTCUSDT", "BUY", 42000, 0.1),
        xrow("2024-01-01 10:00:00", "XYZUSDT", "SELL", 10, 1, rp="50"),
    ])
    s = binance_usdm.read(path)
    (bad,) = s.rejected
    assert bad.source.row == 4 and "XYZUSDT closed" in bad.reason and "entry" in bad.reason
    assert [t.symbol for t in s.trades] == ["BTCUSDT"] and s.ledger.balanced
    assert [c.ok for c in s.checks] == [False]  # the 50 realised on the rejected row is missing, and said so
