"""Interactive Brokers Flex Query XML: what a trader would check after importing a Flex export.

The real exports live in ../shared/statements/ibkr_flex_xml/ (see its README); every figure below is
either counted from the XML here with lxml, independently of the reader, or read off the file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from addin.statements import ibkr_flex, ibkr_positions
from addin.statements.model import StatementError
from conftest import shared_statement

FOLDER = "ibkr_flex_xml"
FILES = [
    "portfolio-performance_testIBFlexStatementFile01.xml",
    "portfolio-performance_testIBFlexStatementFile02.xml",
    "portfolio-performance_testIBFlexStatementFile13.xml",
    "portfolio-performance_testIBFlexStatementFile17.xml",
    "portfolio-performance_testIBFlexStatementFile28.xml",
]


def flex(name: str) -> Path:
    return shared_statement(f"{FOLDER}/{name}")


def trades_children(path: Path) -> list:
    """The elements under every <Trades>, counted straight from the XML."""
    root = etree.parse(str(path)).getroot()
    return [el for trades in root.iter("Trades") for el in trades if isinstance(el.tag, str)]


def is_execution(el) -> bool:
    return el.get("levelOfDetail", "EXECUTION") == "EXECUTION"


def is_cancel(el) -> bool:
    return el.get("transactionType") == "TradeCancel"


def approx(value):
    return pytest.approx(value, abs=1e-6)


# --- every file ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FILES)
def test_sniff_recognises_the_export(name):
    path = flex(name)
    assert ibkr_flex.sniff(path, path.read_bytes()[:65536])


@pytest.mark.parametrize("name", FILES)
def test_every_row_of_the_trades_section_is_accounted_for_once(name):
    path = flex(name)
    st = ibkr_flex.read(path)
    rows = trades_children(path)
    refs = [t.source for t in st.trades] + [n.source for n in st.non_trades] + [r.source for r in st.rejected]
    trade_refs = [r for r in refs if r.section == "Trades"]
    assert sorted(r.row for r in trade_refs) == list(range(1, len(rows) + 1))
    assert all(r.file == str(path) and r.section in ("Trades", "CashTransactions") for r in refs)
    assert st.ledger.balanced and st.ledger.seen == len(refs)


@pytest.mark.parametrize("name", FILES)
def test_one_trade_per_execution_and_summary_rows_never_count(name):
    path = flex(name)
    st = ibkr_flex.read(path)
    executions = [el for el in trades_children(path) if is_execution(el)]
    cancels = [el for el in executions if is_cancel(el)]
    # a cancel removes itself and the execution it cancels
    rejected = [r for r in st.rejected if r.source.section == "Trades"]
    # an opening execution the file also closes is on the closing row (accounted as a non-trade)
    consumed = [n for n in st.non_trades if n.kind == ibkr_positions.CONSUMED]
    assert len(st.trades) + len(rejected) + len(consumed) == len(executions) - 2 * len(cancels)
    assert all(n.kind in ("order summary", "symbol summary", "asset summary", "closed lot",
                          "wash sale", "trade cancel", "cancelled trade", ibkr_positions.CONSUMED)
               for n in st.non_trades if n.source.section == "Trades")
    assert len({t.key for t in st.trades}) == len(st.trades), "trade ids are unique"


@pytest.mark.parametrize("name", FILES)
def test_realised_pnl_reconciles_with_the_files_fifo_pnl(name):
    path = flex(name)
    st = ibkr_flex.read(path)
    expected = sum(float(el.get("fifoPnlRealized") or 0) * float(el.get("fxRateToBase") or 1)
                   for el in trades_children(path) if is_execution(el) and not is_cancel(el))
    closed = sum(t.net_profit for t in st.trades if t.is_closed)
    assert closed == approx(expected)  # nothing added back: no execution is left out
    assert all(t.profit is None for t in st.trades if not t.is_closed)


@pytest.mark.parametrize("name", FILES)
def test_every_execution_of_the_real_files_is_imported_even_at_price_zero(name):
    st = ibkr_flex.read(flex(name))
    assert st.rejected == []


@pytest.mark.parametrize("name", FILES)
def test_truncated_export_is_refused_naming_the_file(name, tmp_path):
    data = flex(name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(StatementError) as err:
        ibkr_flex.read(cut)
    assert str(cut) in str(err.value)
    assert "Flex" in str(err.value)


# --- what the individual files hold --------------------------------------------------------------

def test_file01_fourteen_buys_in_cad_converted_to_base():
    st = ibkr_flex.read(flex(FILES[0]))
    assert len(st.trades) == 14 and not st.rejected
    assert st.account == "U123456"
    assert st.account_currency is None  # no AccountInformation, and CHF and USD rows both at rate 1
    gcm = st.trades[0]
    # the trade id is IB's execution id (ibExecID), so overlapping statements merge on it
    assert (gcm.trade_id, gcm.symbol, gcm.side, gcm.quantity, gcm.entry) == (
        "0000d514.5159662d.01.01", "GCM", "long", 5000, 0.27)
    assert gcm.open_time == datetime(2013, 4, 1, 9, 34, 6)  # tradeDate 20130401 + tradeTime 093406
    assert gcm.quote_currency == "CAD" and gcm.fx_to_account == 0.93099
    assert gcm.commission == approx(-6.75 * 0.93099)  # CAD commission, converted to base
    assert gcm.asset_class == "STOCK" and gcm.contract_size == 1
    assert not gcm.is_closed and gcm.profit is None


def test_option_rows_carry_the_multiplier_of_100():
    options = [t for name in FILES[:2] for t in ibkr_flex.read(flex(name)).trades if t.asset_class == "OPTION"]
    # FB call in File01; ORCL put (sold, then assigned: one closed row), ORCL call, PAYC call in File02
    assert len(options) == 4
    assert {t.contract_size for t in options} == {100}
    fb = next(t for t in options if t.symbol.startswith("FB"))
    assert (fb.side, fb.quantity, fb.entry) == ("long", 2, 6.95)


def test_file02_sold_options_are_shorts():
    st = ibkr_flex.read(flex(FILES[1]))
    assert st.account_currency == "EUR"
    assert len(st.trades) == 8 and not st.rejected  # 9 executions, the put's sale on its closing row
    sold = [t for t in st.trades if t.side == "short"]
    assert sorted(t.symbol for t in sold) == ["ORCL  170915P00050000", "ORCL  171117C00050000"]
    # the stock delivered by the assignment is an opening BookTrade at the strike
    orcl = next(t for t in st.trades if t.symbol == "ORCL")
    assert (orcl.side, orcl.quantity, orcl.entry, orcl.commission) == ("long", 100, 50, approx(-2 * 0.83701))
    eur = [t for t in st.trades if t.quote_currency == "EUR"]
    assert eur and all(t.fx_to_account == 1 for t in eur)


def test_file02_the_orcl_put_assigned_at_zero_is_a_closed_trade_with_its_realised_pnl():
    st = ibkr_flex.read(flex(FILES[1]))
    (assigned,) = [t for t in st.trades if t.symbol == "ORCL  170915P00050000"]
    # sold at 0.53 on 7 September (row 2, accounted as closed in this statement), then BookTrade
    # BUY 1 at tradePrice 0, openCloseIndicator C, notes A: the short put leaves the book
    assert [n.source.row for n in st.non_trades if n.kind == ibkr_positions.CONSUMED] == [2]
    assert assigned.source.row == 3 and assigned.trade_id == "1908991474"
    assert assigned.is_closed and assigned.side == "short" and assigned.quantity == 1
    assert (assigned.entry, assigned.exit) == (0.53, 0)
    assert assigned.open_time == datetime(2017, 9, 7, 14, 50, 36)
    assert assigned.close_time == datetime(2017, 9, 15, 16, 20)
    # IB's fifoPnlRealized is 0 (the premium goes into the delivered stock's basis): so is the Net
    # P/L; the sale's commission, now on this row, is offset in Profit
    assert assigned.net_profit == 0 and assigned.commission == approx(-3.5 * 0.83172)  # at the sale's rate
    assert assigned.profit == approx(-assigned.commission)
    assert "assigned" in assigned.comment and "to close" in assigned.comment
    assert assigned.asset_class == "OPTION" and assigned.contract_size == 100
    assert assigned.fx_to_account == 0.83701 and assigned.quote_currency == "USD"


def test_file13_cfd_trade_without_ids_gets_a_stable_id():
    st = ibkr_flex.read(flex(FILES[2]))
    (cfd,) = st.trades
    assert cfd.asset_class == "CFD" and cfd.symbol == "QQQXn"
    assert (cfd.side, cfd.quantity, cfd.entry, cfd.contract_size) == ("long", 50, 25, 1)
    assert cfd.open_time == datetime(2020, 9, 9, 11, 22, 33)  # dateTime 20200909;112233
    assert st.account_currency == "EUR" and cfd.quote_currency == "USD"
    assert cfd.commission == approx(-5 * 0.84724)  # 5 USD in EUR
    # tradeID is empty and transactionID/ibExecID are "N/A": the id is built from the row
    assert cfd.trade_id == ibkr_flex.read(flex(FILES[2])).trades[0].trade_id
    assert "N/A" not in cfd.trade_id


def test_file17_full_query_with_an_empty_trades_section_gives_no_trades():
    st = ibkr_flex.read(flex(FILES[3]))
    assert st.trades == [] and st.rejected == []
    assert [n.kind for n in st.non_trades] == [e.kind for e in st.balance_events]  # cash rows only
    assert st.account == "U1111111" and st.account_currency == "USD"
    assert st.totals.equity == approx(7678.155297533)  # EquitySummaryInBase, last report date
    assert st.totals.balance == approx(57.505297533)
    assert [e.kind for e in st.balance_events] == ["other fees"] * 3


def test_file28_forex_cancel_and_reexecution_leave_one_fx_trade():
    st = ibkr_flex.read(flex(FILES[4]))
    (fx,) = st.trades
    assert fx.asset_class == "FX" and fx.symbol == "USD.TWD"
    assert (fx.side, fx.quantity, fx.entry) == ("short", 1145.929445, 30.2374637)
    assert fx.quote_currency == "TWD" and fx.fx_to_account == 0.028123 and st.account_currency == "USD"
    assert fx.open_time == datetime(2025, 9, 11, 17, 0, 0)  # dateTime 20250911;170000
    assert fx.source.row == 3
    kinds = {n.source.row: n.kind for n in st.non_trades}
    assert kinds == {1: "cancelled trade", 2: "trade cancel"}


# --- closing executions (the real files hold only openings): a small export written here ---------

CLOSING = """<FlexQueryResponse queryName="t" type="AF"><FlexStatements count="1">
<FlexStatement accountId="U7" fromDate="20240101" toDate="20240131">
<AccountInformation accountId="U7" currency="EUR" />
<Trades>
<Trade accountId="U7" currency="USD" fxRateToBase="0.9" assetCategory="STK" symbol="AAPL" multiplier="1"
 tradeID="10" tradeDate="20240102" tradeTime="093000" quantity="100" tradePrice="180" ibCommission="-1"
 ibCommissionCurrency="USD" openCloseIndicator="O" fifoPnlRealized="0" buySell="BUY" levelOfDetail="EXECUTION"/>
<Order accountId="U7" currency="USD" fxRateToBase="0.9" assetCategory="STK" symbol="AAPL" quantity="-100"
 tradePrice="190" ibCommission="-1" fifoPnlRealized="998" buySell="SELL" levelOfDetail="ORDER" tradeDate="20240105"/>
<Trade accountId="U7" currency="USD" fxRateToBase="0.92" assetCategory="STK" symbol="AAPL" multiplier="1"
 tradeID="11" dateTime="2024-01-05;15:00:00" quantity="-100" tradePrice="190" ibCommission="-1"
 ibCommissionCurrency="USD" openCloseIndicator="C" fifoPnlRealized="998" buySell="SELL" levelOfDetail="EXECUTION"/>
<Trade accountId="U7" currency="EUR" fxRateToBase="1" assetCategory="FUT" symbol="FESX" multiplier="10"
 tradeID="12" dateTime="20240110;100000" quantity="2" tradePrice="4500" ibCommission="-4"
 ibCommissionCurrency="EUR" openCloseIndicator="C" fifoPnlRealized="-304" buySell="BUY" levelOfDetail="EXECUTION"/>
<Trade accountId="U7" currency="EUR" fxRateToBase="1" assetCategory="STK" symbol="BAD" tradeID="13"
 dateTime="20240111;100000" quantity="1" tradePrice="abc" buySell="BUY" levelOfDetail="EXECUTION"/>
<SymbolSummary accountId="U7" symbol="AAPL" levelOfDetail="SYMBOL_SUMMARY" fifoPnlRealized="998"/>
</Trades></FlexStatement></FlexStatements></FlexQueryResponse>
"""


def test_closing_executions_carry_realised_pnl_in_base_currency(tmp_path):
    path = tmp_path / "closing.xml"
    path.write_text(CLOSING)
    st = ibkr_flex.read(path)
    sell, fesx = st.trades
    # the sale closes the long bought in the same file: one closed row from 180 (2 Jan) to 190
    # (5 Jan); the purchase is no row of its own but accounted for as closed in this statement
    assert sell.is_closed and sell.side == "long" and (sell.entry, sell.exit) == (180, 190)
    assert (sell.open_time, sell.close_time) == (datetime(2024, 1, 2, 9, 30), datetime(2024, 1, 5, 15, 0))
    assert sell.net_profit == approx(998 * 0.92)  # IB's realised P/L is already net of both commissions
    assert sell.commission == approx(-0.92 - 0.9)  # so both are on this row, each once
    assert sell.profit == approx(998 * 0.92 + 1.82)
    assert "opened by 100 of 100 @ 180 (row 1)" in sell.flags
    # the future was opened before this statement: its entry is unknown and the row says so
    assert fesx.flags == (ibkr_positions.OPENED_BEFORE,) and fesx.entry == fesx.exit == 4500
    # buying to close a short future
    assert fesx.side == "short" and fesx.asset_class == "FUTURE" and fesx.contract_size == 10
    assert fesx.net_profit == approx(-304)
    assert sum(t.net_profit for t in st.trades if t.is_closed) == approx(998 * 0.92 - 304)
    # the ORDER and SYMBOL_SUMMARY rows repeat the same P/L and are not trades
    assert {(n.source.row, n.kind) for n in st.non_trades} == {
        (1, ibkr_positions.CONSUMED), (2, "order summary"), (6, "symbol summary")}
    assert st.ledger.balanced and st.ledger.trade_rows == 2
    (bad,) = st.rejected
    assert bad.source.row == 5 and "abc" in bad.reason


# --- executions at price 0: expiry, assignment, exercise (written here) ---------------------------

ZERO = """<FlexQueryResponse queryName="t" type="AF"><FlexStatements count="1">
<FlexStatement accountId="U8" fromDate="20240101" toDate="20240131">
<AccountInformation accountId="U8" currency="USD" />
<Trades>
<Trade accountId="U8" currency="USD" fxRateToBase="1" assetCategory="OPT" symbol="SPY 240119P400" multiplier="100"
 tradeID="20" dateTime="20240102;100000" quantity="-2" tradePrice="1.5" ibCommission="-2"
 ibCommissionCurrency="USD" openCloseIndicator="O" fifoPnlRealized="0" buySell="SELL" levelOfDetail="EXECUTION"/>
<Trade accountId="U8" currency="USD" fxRateToBase="1" assetCategory="OPT" symbol="SPY 240119P400" multiplier="100"
 tradeID="21" dateTime="20240119;162000" quantity="2" tradePrice="0" ibCommission="0" transactionType="BookTrade"
 ibCommissionCurrency="USD" openCloseIndicator="C" fifoPnlRealized="298" buySell="BUY" notes="Ep" levelOfDetail="EXECUTION"/>
<Trade accountId="U8" currency="USD" fxRateToBase="1" assetCategory="OPT" symbol="QQQ 240119C300" multiplier="100"
 tradeID="22" dateTime="20240119;162000" quantity="-1" tradePrice="0" ibCommission="0" transactionType="BookTrade"
 fifoPnlRealized="0" buySell="SELL" notes="Ex" levelOfDetail="EXECUTION"/>
<Trade accountId="U8" currency="USD" fxRateToBase="1" assetCategory="STK" symbol="GIFT" multiplier="1"
 tradeID="23" dateTime="20240120;100000" quantity="10" tradePrice="0" openCloseIndicator="O" buySell="BUY"
 levelOfDetail="EXECUTION"/>
<Trade accountId="U8" currency="USD" fxRateToBase="1" assetCategory="STK" symbol="NEG" multiplier="1"
 tradeID="24" dateTime="20240120;100000" quantity="-10" tradePrice="-1" openCloseIndicator="C"
 fifoPnlRealized="5" buySell="SELL" levelOfDetail="EXECUTION"/>
</Trades></FlexStatement></FlexStatements></FlexQueryResponse>
"""


def test_an_option_expiring_worthless_is_a_close_at_zero_keeping_the_premium(tmp_path):
    path = tmp_path / "zero.xml"
    path.write_text(ZERO)
    st = ibkr_flex.read(path)
    expired, exercised = st.trades
    # the two puts sold at 1.50 expire: one short closed at 0 from the sale's price and time, the
    # whole premium (less the sale's commission, now on this row) realised; the sale is no row
    assert expired.is_closed and expired.side == "short" and (expired.entry, expired.exit) == (1.5, 0)
    assert expired.open_time == datetime(2024, 1, 2, 10, 0) and expired.commission == -2
    assert expired.net_profit == approx(298) and "expired worthless" in expired.comment
    assert [(n.source.row, n.kind) for n in st.non_trades] == [(1, ibkr_positions.CONSUMED)]
    # the exercised call was bought before this statement
    assert exercised.flags == (ibkr_positions.OPENED_BEFORE,)
    # a long call exercised: no openCloseIndicator, but notes Ex say it leaves the book
    assert exercised.is_closed and exercised.side == "long" and exercised.net_profit == 0
    assert "exercised" in exercised.comment
    assert sum(t.net_profit for t in st.trades if t.is_closed) == approx(298)
    # price 0 opening a position, and a negative price, stay rejected
    gift, neg = st.rejected
    assert gift.source.row == 4 and "price 0" in gift.reason and "opening" in gift.reason
    assert neg.source.row == 5 and "negative price" in neg.reason


# --- not a Flex export ---------------------------------------------------------------------------

def test_other_exports_are_not_sniffed_and_reading_one_says_what_was_expected(statements_dir):
    others = [p for p in sorted(statements_dir.glob("*/*")) if p.parent.name != FOLDER]
    assert others
    for path in others:
        assert not ibkr_flex.sniff(path, path.read_bytes()[:65536]), path
    wrong = statements_dir / "ibkr_activity_statement_csv" / "oittaa_data_warrants.csv"
    with pytest.raises(StatementError) as err:
        ibkr_flex.read(wrong)
    assert str(wrong) in str(err.value) and "FlexQueryResponse" in str(err.value)


def test_an_xml_that_is_not_a_flex_response_or_declares_entities_is_refused(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text("<FlexStatementResponse><Status>Warn</Status></FlexStatementResponse>")
    with pytest.raises(StatementError, match="root element is <FlexStatementResponse>"):
        ibkr_flex.read(other)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
                    "<FlexQueryResponse><FlexStatements/></FlexQueryResponse>")
    with pytest.raises(StatementError, match="DTD or entities"):
        ibkr_flex.read(bomb)
