"""MetaTrader 4 Statement (HTML) reader, checked against real terminal exports and the bundled sample.

The checks are the ones a trader would make by hand: the statement's own count of closed trades and
its "Closed Trade P/L" must come out of the imported trades to the cent, and no row of the trade
tables may go missing.
"""

from __future__ import annotations

import codecs
import math
from collections import Counter
from pathlib import Path

import lxml.html
import pytest

import addin
from addin.statements import mt4_html, mt5_report
from addin.statements.model import StatementError
from tools.make_sample_statement import write_mt4_statement
from conftest import shared_statement

EUR_DEMO = "mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm"
USD_LIVE = "mt4_statement_html/jsacap_Tradeslide_Statement.htm"
SAMPLE = Path(addin.__file__).resolve().parent / "samples" / "sample_statement.htm"


def closed(st):
    return [t for t in st.trades if t.is_closed]


def net(trades) -> float:
    return round(sum(t.net_profit for t in trades), 2)


def trade(st, ticket):
    return next(t for t in st.trades if t.trade_id == ticket)


# --------------------------------------------------------------------------- the real statements


@pytest.mark.statements
def test_eur_demo_statement_lists_130_closed_trades_worth_24_17_eur():
    st = mt4_html.read(shared_statement(EUR_DEMO))

    assert (st.format, st.broker, st.account, st.account_currency) == (
        "mt4_html", "Tradeslide Trading Tech Limited", "2088913717", "EUR")
    assert len(closed(st)) == st.totals.closed_trades == 130  # "Total Trades: 130"
    assert net(closed(st)) == st.totals.closed_pnl == 24.17  # "Closed Trade P/L: 24.17"
    assert st.totals.balance == st.totals.equity == 524.17
    assert st.rejected == []
    # the one deposit: cash in, and a recognised non-trade row
    assert [(e.amount, e.kind) for e in st.balance_events] == [(500.0, "deposit")]
    # balance = deposits + closed trade P/L
    assert round(sum(e.amount for e in st.balance_events) + net(closed(st)), 2) == st.totals.balance
    kinds = Counter(r.kind for r in st.non_trades)
    assert kinds["deposit"] == 1 and kinds["cancelled order"] == 1


@pytest.mark.statements
def test_eur_demo_statement_states_leverage_1_to_200():
    st = mt4_html.read(shared_statement(EUR_DEMO))
    assert st.leverage == 200.0
    # The header's leverage is the account's (Settings' AccountLeverage), not each trade's own.
    assert {t.leverage for t in st.trades} == {None}


@pytest.mark.statements
def test_usd_statement_lists_124_closed_trades_worth_8205_65_usd_and_one_open_trade():
    st = mt4_html.read(shared_statement(USD_LIVE))

    assert (st.account, st.account_currency) == ("2100104808", "USD")
    assert len(closed(st)) == st.totals.closed_trades == 124
    assert net(closed(st)) == st.totals.closed_pnl == 8205.65
    assert (st.totals.balance, st.totals.equity) == (94174.94, 94361.59)
    assert [(e.amount, e.kind) for e in st.balance_events] == [(100000.0, "deposit")]
    assert Counter(r.kind for r in st.non_trades)["cancelled order"] == 3  # buy limits, not trades

    (open_trade,) = [t for t in st.trades if not t.is_closed]
    assert (open_trade.trade_id, open_trade.side, open_trade.symbol, open_trade.quantity) == (
        "78412103", "short", "audusd", 4.95)
    assert (open_trade.entry, open_trade.stop, open_trade.target) == (0.65877, 0.66067, 0.6561)
    assert open_trade.close_time is None and open_trade.exit is None and open_trade.profit is None
    assert open_trade.commission == -16.30
    assert open_trade.source.section == "Open Trades"


@pytest.mark.statements
def test_unfilled_leverage_placeholder_reads_as_no_leverage():
    st = mt4_html.read(shared_statement(USD_LIVE))  # "Leverage: <!--LEVERAGE-->"
    assert st.leverage is None
    assert {t.leverage for t in st.trades} == {None}


@pytest.mark.statements
def test_a_closed_trade_reads_as_printed():
    st = mt4_html.read(shared_statement(USD_LIVE))
    t = trade(st, "77953025")  # buy 3.56 gbpjpy, stopped out
    assert (t.side, t.quantity, t.symbol, t.entry, t.stop, t.target, t.exit) == (
        "long", 3.56, "gbpjpy", 180.190, 179.979, 180.800, 179.974)
    assert (t.commission, t.taxes, t.swap, t.profit) == (-22.70, 0.0, 0.0, -543.43)
    assert str(t.open_time) == "2023-12-29 07:32:27" and str(t.close_time) == "2023-12-29 14:56:11"
    assert t.contract_size is None  # the statement does not say
    # "1 434.86": thousands separated by a space
    assert trade(st, "77896825").profit == 1434.86
    assert trade(st, "77896825").swap == -147.92


@pytest.mark.statements
def test_stop_loss_and_take_profit_notes_go_to_the_comment():
    st = mt4_html.read(shared_statement(USD_LIVE))
    assert trade(st, "77953025").comment == "#2022052714 [sl]"
    tp = trade(st, "77896825")
    assert "[tp]" in tp.comment and tp.exit == tp.target
    notes = Counter(("[sl]" in t.comment, "[tp]" in t.comment) for t in closed(st))
    assert notes[(True, False)] == 70 and notes[(False, True)] == 45

    eur = mt4_html.read(shared_statement(EUR_DEMO))
    assert trade(eur, "61937658").comment == "[tp]"
    assert trade(eur, "61942369").comment == ""  # no title attribute
    # an S / L of 0.00000 means "no stop"
    assert trade(eur, "61937658").stop is None and trade(eur, "61937658").target == 8.03137


def _trade_table_rows(path: Path) -> list[int]:
    """1-based <tr> indexes from the 'Closed Transactions:' title up to (not incl.) 'Summary:'."""
    rows = lxml.html.fromstring(path.read_bytes()).xpath("//tr")
    texts = [" ".join(r.text_content().split()) for r in rows]
    start = texts.index("Closed Transactions:")
    end = texts.index("Summary:")
    return list(range(start + 1, end + 1))


@pytest.mark.statements
@pytest.mark.parametrize("name", [EUR_DEMO, USD_LIVE])
def test_every_row_of_the_trade_tables_is_accounted_for(name):
    path = shared_statement(name)
    st = mt4_html.read(path)
    expected = _trade_table_rows(path)
    seen = [r.source.row for r in [*st.trades, *st.non_trades, *st.rejected]]
    assert len(seen) == len(expected)  # 145 rows (EUR), 146 rows (USD)
    assert sorted(seen) == expected  # each row exactly once


@pytest.mark.statements
def test_a_row_that_cannot_be_read_is_rejected_with_its_place(tmp_path):
    text = shared_statement(EUR_DEMO).read_text("ascii")
    broken = text.replace("2017.10.06 09:56:55", "2017.13.06 09:56:55", 1)  # month 13
    path = tmp_path / "broken.htm"
    path.write_text(broken, "ascii")
    st = mt4_html.read(path)
    (rej,) = st.rejected
    assert (rej.source.file, rej.source.section, rej.source.row) == (
        str(path), "Closed Transactions", 5)
    assert "2017.13.06" in rej.reason and "61937658" in rej.raw
    assert len(closed(st)) == 129 and st.totals.closed_trades == 130  # the statement still says 130


@pytest.mark.statements
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_utf16_and_other_encodings_read_the_same(tmp_path, encoding):
    original = shared_statement(EUR_DEMO)
    path = tmp_path / "statement.htm"
    path.write_bytes(original.read_text("ascii").encode(encoding))
    if encoding == "utf-16":
        assert path.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    assert mt4_html.sniff(path, path.read_bytes()[:65536])
    a, b = mt4_html.read(original), mt4_html.read(path)
    assert [t.model_dump(exclude={"source"}) for t in a.trades] == [
        t.model_dump(exclude={"source"}) for t in b.trades]
    assert a.totals == b.totals and a.leverage == b.leverage


@pytest.mark.statements
def test_sniff_claims_mt4_statements_and_nothing_else(statements_dir):
    for path in sorted(p for p in statements_dir.rglob("*") if p.is_file() and p.name != "README.md"):
        claimed = mt4_html.sniff(path, path.read_bytes()[:65536])
        assert claimed == (path.parent.name == "mt4_statement_html"), path


@pytest.mark.statements
def test_a_truncated_statement_is_refused_naming_the_file(tmp_path):
    data = shared_statement(USD_LIVE).read_bytes()
    path = tmp_path / "cut.htm"
    path.write_bytes(data[: int(len(data) * 0.3)])
    with pytest.raises(StatementError) as err:
        mt4_html.read(path)
    assert str(path) in str(err.value) and "truncated" in str(err.value)


@pytest.mark.statements
def test_a_csv_file_is_refused_naming_the_file():
    path = shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    with pytest.raises(StatementError) as err:
        mt4_html.read(path)
    assert str(err.value).startswith(str(path)) and "MetaTrader 4" in str(err.value)


def test_a_missing_or_empty_file_is_refused(tmp_path):
    with pytest.raises(StatementError, match="cannot open"):
        mt4_html.read(tmp_path / "nope.htm")
    (tmp_path / "empty.htm").write_bytes(b"")
    with pytest.raises(StatementError, match="empty.htm"):
        mt4_html.read(tmp_path / "empty.htm")


# --------------------------------------------------------------------------- the bundled sample


def test_the_bundled_sample_is_what_the_generator_writes(tmp_path):
    fresh = write_mt4_statement(tmp_path / "sample.htm", trades=40, seed=7)
    assert SAMPLE.read_bytes() == fresh.read_bytes(), (
        "regenerate with: python -m tools.make_sample_statement")


def test_the_bundled_sample_lists_40_closed_trades_that_add_up():
    assert mt4_html.sniff(SAMPLE, SAMPLE.read_bytes()[:65536])
    assert not mt5_report.sniff(SAMPLE, SAMPLE.read_bytes()[:65536])
    st = mt4_html.read(SAMPLE)
    trades = closed(st)
    assert (st.account_currency, st.leverage) == ("USD", 30.0)
    assert len(trades) == st.totals.closed_trades == 40
    assert net(trades) == st.totals.closed_pnl
    deposits = [e.amount for e in st.balance_events]
    assert deposits == [10000.0, 5000.0]
    assert round(sum(deposits) + st.totals.closed_pnl, 2) == st.totals.balance
    assert Counter(r.kind for r in st.non_trades)["cancelled order"] == 1
    assert len([t for t in st.trades if not t.is_closed]) == 1
    assert {t.symbol for t in trades} == {"eurusd", "gbpusd", "usdjpy", "audusd", "xauusd", "us30"}
    assert sum(t.stop is not None and t.target is not None for t in trades) >= 30
    assert any(t.swap for t in trades) and all(t.commission <= 0 for t in trades)
    assert st.rejected == []
    assert sorted(r.source.row for r in [*st.trades, *st.non_trades]) == _trade_table_rows(SAMPLE)


CONTRACT = {"eurusd": 100_000, "gbpusd": 100_000, "audusd": 100_000, "usdjpy": 100_000,
            "xauusd": 100, "us30": 1}


def test_the_sample_profits_follow_from_the_price_moves():
    for t in closed(mt4_html.read(SAMPLE)):
        move = (t.exit - t.entry) * (1 if t.side == "long" else -1) * t.quantity * CONTRACT[t.symbol]
        expected = move / t.exit if t.symbol == "usdjpy" else move  # yen converted at 1 / exit
        assert math.isclose(t.profit, expected, abs_tol=0.0051), t
        if "[sl]" in t.comment:
            assert t.exit == t.stop
        if "[tp]" in t.comment:
            assert t.exit == t.target


def test_the_generator_scales_and_stays_consistent(tmp_path):
    path = write_mt4_statement(tmp_path / "big.htm", trades=3000, seed=11)
    st = mt4_html.read(path)
    assert len(closed(st)) == st.totals.closed_trades == 3000
    assert net(closed(st)) == st.totals.closed_pnl
    assert Counter(r.kind for r in st.non_trades)["cancelled order"] == 60
