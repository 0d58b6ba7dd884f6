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

from addin.statements import ibkr_activity
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
    assert {t.source.row for t in st.trades} | {r.source.row for r in st.rejected} == executions
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
    hm, unit, *clov = st.trades
    # sold 257 HMB at 176.85 SEK: closes a long; IB's realised 9254.23 SEK after 49 SEK commission
    assert (hm.symbol, hm.side, hm.quantity, hm.exit) == ("HMBs", "long", 257, 176.85)
    assert hm.open_time == hm.close_time == datetime(2021, 1, 11, 6, 57, 37)  # "2021-01-11, 06:57:37"
    assert hm.commission == -49 and hm.net_profit == approx(9254.23)
    assert hm.account_currency == hm.quote_currency == "SEK" and hm.fx_to_account is None
    assert unit.net_profit == approx(-445.772436)
    # four short calls written (one order filled on two exchanges), each an opening execution,
    # then bought back at 0 when they expired worthless
    *written, expired = clov
    assert [(t.side, t.quantity, t.entry) for t in written] == [
        ("short", 1, 0.41), ("short", 1, 0.41), ("short", 1, 1.3), ("short", 1, 1.46)]
    assert {t.asset_class for t in clov} == {"OPTION"} and {t.contract_size for t in clov} == {100}
    assert all(not t.is_closed for t in written)
    # the expiry (price 0, code C;Ep) is a closed trade keeping the 355.31 USD premium
    assert expired.source.row == 20 and not st.rejected
    assert expired.is_closed and (expired.side, expired.quantity) == ("short", 4)
    assert expired.entry == expired.exit == 0
    assert expired.open_time == expired.close_time == datetime(2021, 7, 16, 16, 20)
    assert expired.net_profit == approx(355.308974) and expired.account_currency == "USD"
    assert "expired worthless" in expired.comment
    assert sum(t.net_profit for t in st.trades if t.is_closed and t.account_currency == "USD") == approx(
        -445.772436 + 355.308974)


def test_numbers_within_quotes_thousands_separators_are_read():
    st = ibkr_activity.read(activity(FILES[1]))
    big = [t for t in st.trades if t.quantity == 1000]
    assert [(t.side, t.entry, t.exit) for t in big] == [("long", 4.775, None), ("long", 4.982, 4.982)]
    # one order of 500 sold on four exchanges: four closing executions, one order summary
    partial = [t for t in st.trades if t.close_time == datetime(2021, 1, 27, 14, 2, 8)]
    assert sorted(t.quantity for t in partial) == [32, 68, 100, 300]
    assert sum(t.net_profit for t in partial) == approx(354.858177)


def test_option_assignment_stock_called_away_and_calls_closed_at_zero():
    st = ibkr_activity.read(activity(FILES[2]))
    assert st.account == ""  # no Account column in this export
    stocks = [t for t in st.trades if t.asset_class == "STOCK"]
    assert [(t.symbol, t.quantity, t.exit) for t in stocks] == [
        ("ARKK", 100, 80), ("NVDA", 100, 150), ("NVDA", 100, 170), ("SOFI", 200, 25)]
    assert sum(t.net_profit for t in stocks) == approx(4302.62916 + 15222.70041 + 17085.70471 + 4097.11392)
    calls = [t for t in st.trades if t.asset_class == "OPTION"]
    assert len(calls) == 8 and all(t.side == "short" and t.contract_size == 100 for t in calls)
    # each short call written, then closed at price 0 by its assignment (code A;C)
    assigned = [t for t in calls if t.is_closed]
    assert [(t.symbol, t.quantity) for t in assigned] == [
        ("ARKK 19SEP25 80 C", 1), ("NVDA 18JUL25 150 C", 1), ("NVDA 15AUG25 170 C", 1), ("SOFI 19SEP25 25 C", 2)]
    assert all(t.entry == t.exit == 0 and "assigned" in t.comment for t in assigned)
    # IB's Realized P/L of an assigned call is 0: the premium is in the stock's sale
    assert all(t.net_profit == 0 for t in assigned)
    assert not st.rejected


def test_shorting_stocks_short_sale_then_buy_to_cover():
    st = ibkr_activity.read(activity(FILES[3]))
    opened, covered = st.trades
    assert (opened.side, opened.quantity, opened.entry, opened.is_closed) == ("short", 100, 73.54, False)
    assert opened.contract_size == 1
    assert (covered.side, covered.exit, covered.net_profit) == ("short", 40, approx(3490.900086))


def test_warrants_in_eur():
    st = ibkr_activity.read(activity(FILES[4]))
    bought, sold = st.trades
    assert bought.asset_class == sold.asset_class == "WARRANT"
    assert bought.quote_currency == "EUR" and sold.net_profit == approx(-12.46)


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
    buy, sell, fx = st.trades
    assert (buy.side, buy.entry, buy.is_closed, buy.fx_to_account) == ("long", 150, False, 1.0)
    assert (sell.side, sell.exit, sell.net_profit, sell.commission) == ("long", 160, 94, -3)
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
