"""Interactive Brokers positions across statements: a later statement closes what an earlier one opened.

Two small Flex Query statements in the layout of the real exports (``write_flex`` below): the
first buys, the second sells. The fill closes the journal's open rows of the position instead of
leaving them open beside an entry = exit row: no phantom position on the Account sheet, Net P/L =
IB's realised P/L, the trader's cells kept, and filling either statement again changes nothing.
Figures by hand in each test's docstring.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pytest import approx

from addin.fill import fill_journal
from addin.statements import ibkr_flex, ibkr_positions
from journal_reader import read_journal

T0 = datetime(2024, 3, 4, 15, 30)


def write_flex(path: Path, tag: str, executions: list[tuple]) -> Path:
    """executions: (symbol, signed quantity, price, commission, realised, open/close code, day offset).
    Execution ids carry ``tag`` so that two statements never share one."""
    rows = []
    for k, (symbol, qty, price, comm, realised, oc, day) in enumerate(executions):
        when = T0 + timedelta(days=day, minutes=k)
        rows.append(
            f'<Trade accountId="U7654321" currency="USD" assetCategory="STK" fxRateToBase="1" symbol="{symbol}" '
            f'description="{symbol} INC" conid="{100 + len(symbol)}" multiplier="1" tradeID="{tag}{k}" '
            f'tradeDate="{when:%Y%m%d}" tradeTime="{when:%H%M%S}" transactionType="ExchTrade" exchange="NASDAQ" '
            f'quantity="{qty:g}" tradePrice="{price:g}" ibCommission="{comm:g}" ibCommissionCurrency="USD" '
            f'openCloseIndicator="{oc}" fifoPnlRealized="{realised:.6f}" buySell="{"BUY" if qty > 0 else "SELL"}" '
            f'ibExecID="{tag}.{k:04d}.01.01" levelOfDetail="EXECUTION" />')
    path.write_text(
        '<FlexQueryResponse queryName="Positions" type="AF"><FlexStatements count="1">'
        '<FlexStatement accountId="U7654321" fromDate="20240301" toDate="20240329" period="" '
        'whenGenerated="20240330;010000"><AccountInformation accountId="U7654321" currency="USD" />'
        '<Trades>' + "\n".join(rows) + "</Trades></FlexStatement></FlexStatements></FlexQueryResponse>\n",
        encoding="utf-8")
    return path


def open_positions(journal: Path) -> list[str]:
    """The Trade IDs the Account sheet lists as open positions (the rows under its "Trade ID"
    header, down to the first empty one)."""
    ws = openpyxl.load_workbook(journal, data_only=True)["Account"]
    column = [c.value for c in ws["A"]]
    out = []
    for value in column[column.index("Trade ID") + 1:]:
        if not value:
            break
        out.append(value)
    return out


@pytest.fixture
def two_statements(tmp_path):
    """March: bought 100 AAPL at 150.00 and 50 MSFT at 300.00 (commission 1.00 each). April: sold
    the 100 AAPL at 170.00 (commission 1.00; IB: 100 x (170 - 150.01) - 1.00 = 1,998.00) and 20
    MSFT at 310.00 (0.20; IB: 20 x (310 - 300.02) - 0.20 = 199.40)."""
    march = write_flex(tmp_path / "march.xml", "m", [("AAPL", 100, 150.0, -1.0, 0, "O", 0),
                                                      ("MSFT", 50, 300.0, -1.0, 0, "O", 0)])
    april = write_flex(tmp_path / "april.xml", "a", [("AAPL", -100, 170.0, -1.0, 1998.0, "C", 30),
                                                      ("MSFT", -20, 310.0, -0.2, 199.4, "C", 30)])
    return march, april


def test_the_later_statement_alone_flags_the_entry_unknown(two_statements):
    _, april = two_statements
    s = ibkr_flex.read(april)
    assert [(t.symbol, t.entry, t.exit, t.flags) for t in s.trades] == [
        ("AAPL", 170.0, 170.0, (ibkr_positions.OPENED_BEFORE,)),
        ("MSFT", 310.0, 310.0, (ibkr_positions.OPENED_BEFORE,))]


def _by_id(journal: Path) -> dict:
    return {t.trade_id: t for t in read_journal(journal).trades}


def test_a_later_statement_closes_the_rows_an_earlier_fill_left_open(tmp_path, two_statements):
    """After March, two open positions. April closes the AAPL row in place (its Trade ID, its
    entry 150.00 and open time, the exit 170.00; both commissions -2.00 and Net P/L 1,998.00, IB's
    figure) and shrinks the MSFT row to the 30 still held (commission -0.60), the 20 sold becoming a
    row of their own from 300.00 to 310.00 (commission -0.40 - 0.20 = -0.60, Net P/L 199.40). The
    Account sheet lists only the 30 MSFT; a note typed on the AAPL row stays; filling either
    statement again changes nothing."""
    march, april = two_statements
    journal = tmp_path / "Journal.xlsx"
    fill_journal([march], journal, progress=False)
    assert sorted(open_positions(journal)) == ["m.0000.01.01", "m.0001.01.01"]
    wb = openpyxl.load_workbook(journal)
    ws = wb["Trades"]
    head = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, head.index("Trade ID") + 1).value == "m.0000.01.01")
    ws.cell(row, head.index("Notes") + 1).value = "breakout, held a month"
    wb.save(journal)

    report = fill_journal([april], journal, progress=False)
    assert report.changed
    rows = _by_id(journal)
    assert set(rows) == {"m.0000.01.01", "m.0001.01.01", "a.0001.01.01"}  # the AAPL sale has no row of its own
    aapl = rows["m.0000.01.01"]
    assert (aapl.quantity, aapl.entry, aapl.exit, aapl.open_time, aapl.close_time) == (
        100, 150.0, 170.0, T0, T0 + timedelta(days=30))
    assert aapl.commission == approx(-2.0) and aapl.net_profit == approx(1998.0)
    assert any(f.startswith('closed in a later statement by Trade ID "a.0000.01.01"') for f in aapl.flags)
    msft, sold = rows["m.0001.01.01"], rows["a.0001.01.01"]
    assert (msft.quantity, msft.exit, msft.commission) == (30, None, approx(-0.6))
    assert (sold.quantity, sold.entry, sold.exit, sold.open_time) == (20, 300.0, 310.0, T0 + timedelta(minutes=1))
    assert sold.commission == approx(-0.6) and sold.net_profit == approx(199.4)
    assert ibkr_positions.OPENED_BEFORE not in sold.flags
    assert sum(t.net_profit for t in rows.values() if t.is_closed) == approx(1998.0 + 199.4)
    assert open_positions(journal) == ["m.0001.01.01"]
    ws = openpyxl.load_workbook(journal)["Trades"]
    assert ws.cell(row, head.index("Notes") + 1).value == "breakout, held a month"

    before = _by_id(journal)
    assert not fill_journal([april], journal, progress=False).changed
    assert not fill_journal([march], journal, progress=False).changed
    assert _by_id(journal) == before and open_positions(journal) == ["m.0001.01.01"]


def test_both_statements_in_one_fill_give_the_same_rows(tmp_path, two_statements):
    march, april = two_statements
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    fill_journal([march, april], one, progress=False)
    fill_journal([march], two, progress=False)
    fill_journal([april], two, progress=False)
    a, b = _by_id(one), _by_id(two)
    assert set(a) == set(b)
    for tid in a:
        facts = ("quantity", "entry", "exit", "open_time", "close_time")
        assert [getattr(a[tid], f) for f in facts] == [getattr(b[tid], f) for f in facts], tid
        assert a[tid].commission == approx(b[tid].commission), tid
        assert a[tid].net_profit == (None if b[tid].net_profit is None else approx(b[tid].net_profit)), tid
    assert open_positions(one) == ["m.0001.01.01"]


def test_one_sale_closing_two_earlier_rows_splits_ibs_pnl_by_their_prices(tmp_path):
    """Bought 100 at 150.00 and 100 at 160.00 (no commission) in March, sold 200 at 170.00 in April
    (commission 2.00; IB: 100 x 20 + 100 x 10 - 2.00 = 2,998.00). Both rows closed in place: 2,000
    less 1.00 of commission = 1,999.00 and 1,000 - 1.00 = 999.00, adding up to IB's figure."""
    march = write_flex(tmp_path / "march.xml", "m", [("AAPL", 100, 150.0, 0.0, 0, "O", 0),
                                                      ("AAPL", 100, 160.0, 0.0, 0, "O", 1)])
    april = write_flex(tmp_path / "april.xml", "a", [("AAPL", -200, 170.0, -2.0, 2998.0, "C", 30)])
    journal = tmp_path / "Journal.xlsx"
    fill_journal([march], journal, progress=False)
    fill_journal([april], journal, progress=False)
    rows = _by_id(journal)
    assert set(rows) == {"m.0000.01.01", "m.0001.01.01"}
    first, second = rows["m.0000.01.01"], rows["m.0001.01.01"]
    assert (first.exit, second.exit) == (170.0, 170.0)
    assert first.net_profit == approx(1999.0) and second.net_profit == approx(999.0)
    assert first.commission == second.commission == approx(-1.0)
    assert open_positions(journal) == []


def test_a_close_larger_than_the_journal_holds_is_added_as_the_statement_has_it(tmp_path):
    """The journal holds 50 of the 100 sold: nothing is closed (the rest's entry is unknown); the
    sale is added flagged, the 50 stay open."""
    march = write_flex(tmp_path / "march.xml", "m", [("AAPL", 50, 150.0, 0.0, 0, "O", 0)])
    april = write_flex(tmp_path / "april.xml", "a", [("AAPL", -100, 170.0, 0.0, 1500.0, "C", 30)])
    journal = tmp_path / "Journal.xlsx"
    fill_journal([march], journal, progress=False)
    fill_journal([april], journal, progress=False)
    rows = _by_id(journal)
    assert rows["m.0000.01.01"].exit is None and rows["m.0000.01.01"].quantity == 50
    assert ibkr_positions.OPENED_BEFORE in rows["a.0000.01.01"].flags


def test_a_position_opened_after_the_close_is_not_what_it_closed(tmp_path):
    """The journal holds 100 AAPL bought on 5 March (still open). A statement filled after it sold
    100 AAPL on 4 March, bought before that statement: the sale cannot close the later purchase. It
    is added flagged (entry unknown), and the purchase stays the one open position."""
    later = write_flex(tmp_path / "later.xml", "l", [("AAPL", 100, 160.0, 0.0, 0, "O", 1)])
    earlier = write_flex(tmp_path / "earlier.xml", "e", [("AAPL", -100, 170.0, 0.0, 1500.0, "C", 0)])
    journal = tmp_path / "Journal.xlsx"
    fill_journal([later], journal, progress=False)
    fill_journal([earlier], journal, progress=False)
    rows = _by_id(journal)
    assert ibkr_positions.OPENED_BEFORE in rows["e.0000.01.01"].flags and rows["e.0000.01.01"].entry == 170.0
    assert open_positions(journal) == ["l.0000.01.01"] and rows["l.0000.01.01"].quantity == 100


def test_a_flip_in_a_later_statement_closes_the_earlier_row_and_opens_the_rest(tmp_path):
    """March: bought 100 AAPL at 150.00. April: SELL 150 at 170.00 (IB: C;O, realised 100 x 20.00 -
    1.00 of the 1.50 commission = 1,999.00). The March row is closed in place (Net P/L 1,999.00,
    commission -1.00) and the 50 sold short become an open row "<execution>:open" at 170.00 with
    the other 0.50 of commission: the Account sheet lists only that short."""
    march = write_flex(tmp_path / "march.xml", "m", [("AAPL", 100, 150.0, 0.0, 0, "O", 0)])
    april = write_flex(tmp_path / "april.xml", "a", [("AAPL", -150, 170.0, -1.5, 1999.0, "C;O", 30)])
    journal = tmp_path / "Journal.xlsx"
    fill_journal([march], journal, progress=False)
    fill_journal([april], journal, progress=False)
    rows = _by_id(journal)
    assert set(rows) == {"m.0000.01.01", "a.0000.01.01:open"}
    closed, opened = rows["m.0000.01.01"], rows["a.0000.01.01:open"]
    assert (closed.exit, closed.commission) == (170.0, approx(-1.0)) and closed.net_profit == approx(1999.0)
    assert (opened.side, opened.quantity, opened.entry, opened.exit) == ("short", 50, 170.0, None)
    assert opened.commission == approx(-0.5) and opened.open_time == T0 + timedelta(days=30)
    assert open_positions(journal) == ["a.0000.01.01:open"]
    assert not fill_journal([april], journal, progress=False).changed
