"""Interactive Brokers Activity Statement CSV: what a trader would check after importing one.

The real exports live in ../shared/statements/ibkr_activity_statement_csv/ (Trades sections only);
the statement's own figures are read here with the csv module, independently of the reader.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from conftest import shared_statement

from addin.statements import ibkr_activity, ibkr_positions
from addin.statements.model import StatementError

FOLDER = "ibkr_activity_statement_csv"
FILES = [
    "oittaa_data_multi_account.csv",
    "oittaa_data_numbers_within_quotes.csv",
    "oittaa_data_option_assignment.csv",
    "oittaa_data_shorting_stocks.csv",
    "oittaa_data_warrants.csv",
]


def activity(name: str) -> Path:
    return shared_statement(f"{FOLDER}/{name}")


def num(text: str) -> float:
    return float(text.replace(",", "")) if text.strip() else 0.0


def records(path: Path) -> dict[int, dict]:
    """Every non-blank CSV record by its first line number, with the fields named by the latest header."""
    out: dict[int, dict] = {}
    headers: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        last = 0
        for fields in reader:
            start, last = last + 1, reader.line_num
            if not any(fields):
                continue
            if fields[1] == "Header":
                headers[fields[0]] = fields[2:]
            named = dict(zip(headers.get(fields[0], []), fields[2:]))
            out[start] = {"section": fields[0], "type": fields[1], **named}
    return out


def statement_realised_by_currency(path: Path) -> dict[str, float]:
    """Realized P/L as the statement sums it: its Total rows, else its SubTotal rows, plus the Order
    rows of symbols that have no SubTotal (an excerpt may leave them out)."""
    rows = [r for r in records(path).values() if r["section"] == "Trades"]
    totals = [r for r in rows if r["type"] == "Total"]
    result: dict[str, float] = defaultdict(float)
    if totals:
        for r in totals:
            result[r["Currency"]] += num(r["Realized P/L"])
        return dict(result)
    # in a SubTotal row the symbol sits in the Account column when there is one (a quirk of the files)
    subtotalled = {(r["Currency"], r.get("Symbol") or r.get("Account")) for r in rows if r["type"] == "SubTotal"}
    for r in rows:
        if r["type"] == "SubTotal":
            result[r["Currency"]] += num(r["Realized P/L"])
        elif r.get("DataDiscriminator") == "Order" and (r["Currency"], r["Symbol"]) not in subtotalled:
            result[r["Currency"]] += num(r["Realized P/L"])
    return dict(result)


def approx(value):
    return pytest.approx(value, abs=1e-6)


# --- every file ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FILES)
def test_sniff_recognises_the_export(name):
    path = activity(name)
    assert ibkr_activity.sniff(path, path.read_bytes()[:65536])


@pytest.mark.parametrize("name", FILES)
def test_every_csv_line_is_a_trade_a_non_trade_or_a_rejected_row_exactly_once(name):
    path = activity(name)
    st = ibkr_activity.read(path)
    refs = [t.source for t in st.trades] + [n.source for n in st.non_trades] + [r.source for r in st.rejected]
    assert sorted(r.row for r in refs) == sorted(records(path))
    assert all(r.file == str(path) and r.section == "Trades" for r in refs)


@pytest.mark.parametrize("name", FILES)
def test_executions_are_trades_and_order_closed_lot_and_subtotal_rows_are_not(name):
    path = activity(name)
    st = ibkr_activity.read(path)
    rows = records(path)
    executions = {line for line, r in rows.items() if r["type"] == "Data" and r["DataDiscriminator"] == "Trade"}
    # every execution is a journal row, rejected, or an opening execution closed in this file
    consumed = {n.source.row for n in st.non_trades if n.kind == ibkr_positions.CONSUMED}
    assert {t.source.row for t in st.trades} | {r.source.row for r in st.rejected} | consumed == executions
    kinds = {n.source.row: n.kind for n in st.non_trades}
    for line, r in rows.items():
        if r["type"] == "Header":
            assert kinds[line] == "header"
        elif r["type"] in ("SubTotal", "Total"):
            assert kinds[line] == "subtotal"
        elif r["DataDiscriminator"] == "ClosedLot":
            assert kinds[line] == "closed lot"
        elif r["DataDiscriminator"] == "Order":
            assert kinds[line] == "order summary"  # every Order here is followed by its executions
        elif line in consumed:
            assert r["Code"].startswith("O")
    assert len({t.key for t in st.trades}) == len(st.trades), "trade ids are unique"


@pytest.mark.parametrize("name", FILES)
def test_realised_pnl_per_currency_reconciles_with_the_statement(name):
    path = activity(name)
    st = ibkr_activity.read(path)
    imported: dict[str, float] = defaultdict(float)
    for t in st.trades:
        if t.is_closed:
            imported[t.account_currency] += t.net_profit
    # nothing added back: expiries and assignments (price 0) are closed trades like any other
    expected = statement_realised_by_currency(path)
    assert set(imported) <= set(expected)
    for currency, value in expected.items():
        assert imported[currency] == approx(value), currency


@pytest.mark.parametrize("name", FILES)
def test_every_execution_of_the_real_files_is_imported_even_at_price_zero(name):
    st = ibkr_activity.read(activity(name))
    assert st.rejected == []


@pytest.mark.parametrize("name", FILES)
def test_truncated_export_is_refused_naming_the_file(name, tmp_path):
    data = activity(name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(StatementError) as err:
        ibkr_activity.read(cut)
    assert str(cut) in str(err.value)
    assert "truncated" in str(err.value)


# --- what the individual files hold --------------------------------------------------------------

def test_multi_account_sek_and_usd_closes_and_the_clov_calls_that_expired():
    st = ibkr_activity.read(activity(FILES[0]))
    assert st.account == "U12345"
    hm, unit, expired = st.trades
    # sold 257 HMB at 176.85 SEK: closes a long bought before this statement (entry unknown, flagged);
    # IB's realised 9254.23 SEK after 49 SEK commission
    assert (hm.symbol, hm.side, hm.quantity, hm.exit) == ("HMBs", "long", 257, 176.85)
    assert hm.close_time == datetime(2021, 1, 11, 6, 57, 37)  # "2021-01-11, 06:57:37"
    assert hm.flags == (ibkr_positions.OPENED_BEFORE,)
    assert hm.commission == -49 and hm.net_profit == approx(9254.23)
    assert hm.account_currency == hm.quote_currency == "SEK" and hm.fx_to_account is None
    assert unit.net_profit == approx(-445.772436)
    # four short calls written (one order filled on two exchanges), then bought back at 0 when they
    # expired worthless: one closed short of 4 at the sales' mean price, from the first sale's time;
    # the four sales are accounted as opening executions closed in this statement
    assert [n.source.row for n in st.non_trades if n.kind == ibkr_positions.CONSUMED] == [13, 14, 16, 18]
    assert expired.source.row == 20 and not st.rejected
    assert expired.is_closed and (expired.side, expired.quantity) == ("short", 4)
    assert expired.asset_class == "OPTION" and expired.contract_size == 100
    assert (expired.entry, expired.exit) == (approx((0.41 + 0.41 + 1.3 + 1.46) / 4), 0)
    assert (expired.open_time, expired.close_time) == (datetime(2021, 6, 21, 10, 38, 40), datetime(2021, 7, 16, 16, 20))
    # IB's realised 355.31 = the 358.00 premium less the sales' 2.69 commission, now on this row
    assert expired.net_profit == approx(355.308974) and expired.account_currency == "USD"
    assert expired.commission == approx(-1.0600091 - 0.3600091 - 0.210463 - 1.0605446)
    assert "expired worthless" in expired.comment
    assert sum(t.net_profit for t in st.trades if t.is_closed and t.account_currency == "USD") == approx(
        -445.772436 + 355.308974)
    assert not any(not t.is_closed for t in st.trades)  # no position left open


def test_numbers_within_quotes_thousands_separators_are_read():
    st = ibkr_activity.read(activity(FILES[1]))
    big = [t for t in st.trades if t.quantity == 1000]
    assert [(t.side, t.entry, t.exit) for t in big] == [("long", 4.775, 4.982)]
    # one order of 500 sold on four exchanges: four closing executions, one order summary
    partial = [t for t in st.trades if t.close_time == datetime(2021, 1, 27, 14, 2, 8)]
    assert sorted(t.quantity for t in partial) == [32, 68, 100, 300]
    assert sum(t.net_profit for t in partial) == approx(354.858177)


def test_option_assignment_stock_called_away_and_calls_closed_at_zero():
    st = ibkr_activity.read(activity(FILES[2]))
    assert st.account == ""  # no Account column in this export
    stocks = [t for t in st.trades if t.asset_class == "STOCK"]
    assert all(t.flags == (ibkr_positions.OPENED_BEFORE,) for t in stocks)  # bought before this statement
    assert [(t.symbol, t.quantity, t.exit) for t in stocks] == [
        ("ARKK", 100, 80), ("NVDA", 100, 150), ("NVDA", 100, 170), ("SOFI", 200, 25)]
    assert sum(t.net_profit for t in stocks) == approx(4302.62916 + 15222.70041 + 17085.70471 + 4097.11392)
    calls = [t for t in st.trades if t.asset_class == "OPTION"]
    assert len(calls) == 4 and all(t.side == "short" and t.contract_size == 100 for t in calls)
    # each short call written, then closed at price 0 by its assignment (code A;C): one closed row
    # from the sale's price; IB's Realized P/L of an assigned call is 0 (the premium is in the
    # stock's sale), so the sale's commission on this row is offset in Profit
    assert [(t.symbol, t.quantity, t.entry, t.exit) for t in calls] == [
        ("ARKK 19SEP25 80 C", 1, 1.64, 0), ("NVDA 18JUL25 150 C", 1, 4.75, 0), ("NVDA 15AUG25 170 C", 1, 3.38, 0),
        ("SOFI 19SEP25 25 C", 2, 1.05, 0)]
    assert all("assigned" in t.comment and t.net_profit == 0 for t in calls)
    assert not st.rejected


def test_shorting_stocks_short_sale_then_buy_to_cover():
    st = ibkr_activity.read(activity(FILES[3]))
    (covered,) = st.trades
    # sold short at 73.54, covered by assignment at 40: one closed short, IB's realised P/L (which
    # holds the assigned option's premium: not compared with the prices)
    assert (covered.side, covered.quantity, covered.entry, covered.exit) == ("short", 100, 73.54, 40)
    assert covered.contract_size == 1 and covered.net_profit == approx(3490.900086)


def test_warrants_in_eur():
    st = ibkr_activity.read(activity(FILES[4]))
    (sold,) = st.trades
    assert sold.asset_class == "WARRANT" and (sold.entry, sold.exit) == (2.81, 2.72)
    assert sold.quote_currency == "EUR" and sold.net_profit == approx(-12.46)


# --- a whole statement (the real files are Trades excerpts): written here ----------------------

FULL = """Statement,Header,Field Name,Field Value
Statement,Data,BrokerName,Interactive Brokers
Statement,Data,Title,Activity Statement
Statement,Data,Period,"January 1, 2024 - January 31, 2024"
Account Information,Header,Field Name,Field Value
Account Information,Data,Account,U999
Account Information,Data,Base Currency,EUR
Deposits & Withdrawals,Header,Currency,Settle Date,Description,Amount
Deposits & Withdrawals,Data,EUR,2024-01-02,Electronic Fund Transfer,"10,000"
Deposits & Withdrawals,Data,Total,,,"10,000"
Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,T. Price,C. Price,Proceeds,Comm/Fee,Basis,Realized P/L,MTM P/L,Code
Trades,Data,Order,Stocks,EUR,SAP,"2024-01-03, 09:00:01",10,150,151,-1500,-3,1503,0,10,O
Trades,Data,Order,Stocks,EUR,SAP,"2024-01-04, 10:00:00",-10,160,160,1600,-3,-1503,94,0,C
Trades,Data,Order,Stocks,EUR,SAP,"2024-01-05, 10:00:00",-x,160,160,1600,-3,-1503,94,0,C
Trades,SubTotal,,Stocks,EUR,SAP,,0,,,100,-6,0,94,10,
Trades,Total,,Stocks,EUR,,,,,,100,-6,0,94,10,
Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,T. Price,,Proceeds,Comm in EUR,,,MTM in EUR,Code
Trades,Data,Order,Forex,USD,EUR.USD,"2024-01-08, 12:00:00","-1,000",1.1,,1100,-2,,,0,
Trades,Total,,Forex,USD,,,,,,1100,-2,,,0,

Dividends,Header,Currency,Date,Description,Amount
Dividends,Data,EUR,2024-01-20,SAP Cash Dividend,22
"""


def test_whole_statement_sections_balance_events_and_order_level_trades(tmp_path):
    path = tmp_path / "U999_activity.csv"
    path.write_text(FULL)
    assert ibkr_activity.sniff(path, path.read_bytes())
    st = ibkr_activity.read(path)
    assert st.account == "U999" and st.account_currency == "EUR"
    # exported at order level: the Order rows are the trades
    sell, fx = st.trades
    # bought 10 SAP at 150, sold at 160: one closed row carrying both commissions, net = IB's 94
    assert (sell.side, sell.entry, sell.exit, sell.net_profit, sell.commission) == ("long", 150, 160, 94, -6)
    assert sell.fx_to_account == 1.0
    assert st.totals.closed_pnl == 94  # the Trades Total row in EUR
    (bad,) = st.rejected
    assert bad.source.row == 14 and "-x" in bad.reason
    # forex: commission in EUR (the "Comm in EUR" column), no realised P/L column
    assert (fx.asset_class, fx.side, fx.quantity, fx.commission, fx.account_currency) == ("FX", "short", 1000, -2, "EUR")
    assert fx.fx_to_account is None  # price in USD, no rate in the file
    kinds = defaultdict(list)
    for n in st.non_trades:
        kinds[n.kind].append(n.source.row)
    assert kinds["statement"] == [1, 2, 3, 4]
    assert kinds["account information"] == [5, 6, 7]
    assert kinds["deposits & withdrawals"] == [8, 9, 10]
    assert kinds["dividends"] == [21, 22]
    assert kinds["header"] == [11, 17] and kinds["subtotal"] == [15, 16, 19]
    assert [(e.kind, e.amount, e.time) for e in st.balance_events] == [
        ("deposit", 10000, datetime(2024, 1, 2)), ("dividend", 22, datetime(2024, 1, 20))]
    assert kinds[ibkr_positions.CONSUMED] == [12]
    counted = len(st.trades) + len(st.non_trades) + len(st.rejected)
    assert counted == sum(1 for line in FULL.splitlines() if line.strip())


ZERO = """Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,T. Price,Proceeds,Comm/Fee,Basis,Realized P/L,Code
Trades,Data,Trade,Equity and Index Options,USD,SPY 19JAN24 400 P,"2024-01-19, 16:20:00",2,0,0,0,-298,298,Ep
Trades,Data,Trade,Equity and Index Options,USD,QQQ 19JAN24 300 C,"2024-01-19, 16:20:00",-1,0,0,0,0,0,Ex
Trades,Data,Trade,Stocks,USD,GIFT,"2024-01-20, 10:00:00",10,0,0,0,0,0,O
Trades,Data,Trade,Stocks,USD,NEG,"2024-01-20, 10:00:00",-10,-1,10,0,0,5,C
"""


def test_closes_at_price_zero_are_trades_and_openings_at_zero_are_rejected(tmp_path):
    path = tmp_path / "zero.csv"
    path.write_text(ZERO)
    st = ibkr_activity.read(path)
    expired, exercised = st.trades
    # closing by its code alone (Ep, Ex), with IB's realised P/L
    assert expired.is_closed and expired.side == "short" and expired.entry == expired.exit == 0
    assert expired.net_profit == approx(298) and "expired worthless" in expired.comment
    assert exercised.is_closed and exercised.side == "long" and "exercised" in exercised.comment
    assert expired.contract_size is None  # no priced row of the symbol in the file to derive it
    gift, neg = st.rejected
    assert gift.source.row == 4 and "price 0" in gift.reason and "opening" in gift.reason
    assert neg.source.row == 5 and "negative price" in neg.reason


# --- not an Activity Statement -------------------------------------------------------------------

def test_other_exports_are_not_sniffed_and_reading_one_says_what_was_expected(statements_dir):
    others = [p for p in sorted(statements_dir.glob("*/*")) if p.parent.name != FOLDER]
    assert others
    for path in others:
        assert not ibkr_activity.sniff(path, path.read_bytes()[:65536]), path
    for wrong in (statements_dir / "ibkr_transaction_history_csv" / "KapJI_cgtcalc_ib_test_basic.csv",
                  statements_dir / "ibkr_flex_xml" / "portfolio-performance_testIBFlexStatementFile13.xml"):
        with pytest.raises(StatementError) as err:
            ibkr_activity.read(wrong)
        assert str(wrong) in str(err.value) and "Activity Statement" in str(err.value)


# --- a flip and a partial cover in one statement (written here, the real files hold none) --------

FLIP = """Trades,Header,DataDiscriminator,Asset Category,Currency,Account,Symbol,Date/Time,Exchange,Quantity,T. Price,Proceeds,Comm/Fee,Basis,Realized P/L,Code
Trades,Data,Trade,Stocks,USD,U1,XYZ,"2024-03-04, 15:30:00",NYSE,100,10,-1000,-1,1001,0,O
Trades,Data,Trade,Stocks,USD,U1,XYZ,"2024-03-04, 15:31:00",NYSE,-150,11,1650,-1.5,-1001,98,C;O
Trades,Data,Trade,Stocks,USD,U1,XYZ,"2024-03-04, 15:32:00",NYSE,20,10.5,-210,-0.2,219.8,9.6,C
Trades,SubTotal,,Stocks,USD,XYZ,,,,-30,,440,-2.7,,107.6,
"""


def test_a_flip_and_a_partial_cover_book_every_share_and_dollar_once(tmp_path):
    """Bought 100 XYZ at 10.00 (commission 1.00), sold 150 at 11.00 (1.50; C;O: IB realises
    100 x (11 - 10.01) - 1.00 = 98.00 and opens a short of 50 at basis 10.99), bought 20 back at
    10.50 (0.20; IB: 20 x (10.99 - 10.50) - 0.20 = 9.60). Rows: the long of 100 closed (10.00 ->
    11.00, commission 2.00, Net 98.00); the short of 20 covered (11.00 -> 10.50, commission
    0.20 + 0.20, Net 9.60); the short still open, 30 at 11.00 with the 0.30 left of the flip's
    commission. The purchase is accounted as closed in this statement; the SubTotal matches."""
    path = tmp_path / "flip.csv"
    path.write_text(FLIP)
    st = ibkr_activity.read(path)
    closed_long, still_short, covered = st.trades
    assert (closed_long.side, closed_long.quantity, closed_long.entry, closed_long.exit) == ("long", 100, 10, 11)
    assert closed_long.commission == approx(-2.0) and closed_long.net_profit == approx(98.0)
    assert (still_short.side, still_short.quantity, still_short.entry, still_short.exit) == ("short", 30, 11, None)
    assert still_short.commission == approx(-0.3) and still_short.trade_id == closed_long.trade_id + ":open"
    assert still_short.flags[-1] == "20 of 50 closed in this statement by row 4: 30 still open"
    assert (covered.side, covered.quantity, covered.entry, covered.exit) == ("short", 20, 11, 10.5)
    assert covered.commission == approx(-0.4) and covered.net_profit == approx(9.6)
    assert sum(t.commission for t in st.trades) == approx(-1 - 1.5 - 0.2)
    assert [n.source.row for n in st.non_trades if n.kind == ibkr_positions.CONSUMED] == [2]
    assert st.ledger.balanced and st.ledger.seen == 5 and st.ledger.trade_rows == 2
    assert [c.ok for c in st.checks] == [True]
