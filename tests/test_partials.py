"""Partial closes, scale-ins and position flips, per platform (README "Partial closes, scale-ins and
flips").

Per platform: the real exports in ``../shared/statements/`` that hold such cases are checked as they
are; the cases they lack are written by the test as small statements in the exact layout the reader
expects (a temporary directory, built on the real files' structure), with figures a trader can check
by hand. Each position-building function gets a hypothesis property: any sequence of fills books
quantity and realised P/L exactly once (the journal rows' realised P/L adds up to the fills' and no
quantity is lost).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_statement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.statements import mt4_html
from addin.statements.model import SourceRef, Trade

HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def net(trades) -> float:
    return round(sum(t.net_profit for t in trades if t.is_closed), 2)


# =========================================================================== MetaTrader 4

def _mt4_cells(t: dict) -> str:
    """One Closed Transactions / Open Trades row as the terminal writes it (see the real statements)."""
    num = 'style="mso-number-format:0\\.00000;"'
    close_time = t.get("close_time", "&nbsp;")
    return (f'<tr align=right><td title="{t.get("comment", "")}">{t["ticket"]}</td>'
            f'<td class=msdate nowrap>{t["open_time"]}</td><td>{t["type"]}</td>'
            f'<td class=mspt>{t["size"]:.2f}</td><td>{t["item"]}</td><td {num}>{t["price"]:.5f}</td>'
            f'<td {num}>0.00000</td><td {num}>0.00000</td><td class=msdate nowrap>{close_time}</td>'
            f'<td {num}>{t["close_price"]:.5f}</td><td class=mspt>{t.get("commission", 0):.2f}</td>'
            f'<td class=mspt>0.00</td><td class=mspt>{t.get("swap", 0):.2f}</td>'
            f'<td class=mspt>{t["profit"]:.2f}</td></tr>\n')


def write_mt4(path: Path, closed: list[dict], open_: list[dict], deposit: float = 10_000.0) -> Path:
    """A Statement in the MT4 terminal's layout: header, Closed Transactions (a balance row, the
    trades, the totals and "Closed P/L" rows), Open Trades, Working Orders, Summary and Details."""
    closed_pl = round(sum(t["profit"] + t.get("commission", 0) + t.get("swap", 0) for t in closed), 2)
    floating = round(sum(t["profit"] + t.get("commission", 0) + t.get("swap", 0) for t in open_), 2)
    heading = ('<tr align=center bgcolor="#C0C0C0"><td>Ticket</td><td nowrap>Open Time</td><td>Type</td>'
               '<td>Size</td><td>Item</td><td>Price</td><td>S / L</td><td>T / P</td><td nowrap>{}</td>'
               '<td>Price</td><td>Commission</td><td>Taxes</td><td>Swap</td><td>Profit</td></tr>\n')
    html = ['<html><head><title>Statement: 5550001 - Trader</title></head><body>',
            '<div style="font: 20pt Times New Roman"><b>Partial Markets Ltd</b></div><br>',
            '<table cellspacing=1 cellpadding=3 border=0>',
            '<tr align=left><td colspan=2><b>Account: 5550001</b></td><td colspan=5><b>Name: Trader</b></td>'
            '<td colspan=2><b>Currency: USD</b></td><td colspan=2><b>Leverage: 1:100</b></td>'
            '<td colspan=3 align=right><b>2024 March 8, 23:59</b></td></tr>',
            '<tr align=left><td colspan=13><b>Closed Transactions:</b></td></tr>', heading.format("Close Time"),
            '<tr align=right><td title="Deposit">9000001</td><td class=msdate nowrap>2024.03.01 08:00:00</td>'
            f'<td>balance</td><td colspan=10 align=left>Deposit</td><td class=mspt>{deposit:.2f}</td></tr>\n']
    html += [_mt4_cells(t) for t in closed]
    html.append(f'<tr align=right><td colspan=10>&nbsp;</td><td class=mspt>0.00</td><td class=mspt>0.00</td>'
                f'<td class=mspt>0.00</td><td class=mspt>{closed_pl:.2f}</td></tr>\n')
    html.append('<tr align=right><td colspan=12 align=right><b>Closed P/L:</b></td>'
                f'<td colspan=2 align=right class=mspt><b>{closed_pl:.2f}</b></td></tr>\n')
    html += ['<tr align=left><td colspan=14><b>Open Trades:</b></td></tr>', heading.format("&nbsp;")]
    html += [_mt4_cells(t) for t in open_] or ['<tr align=right><td colspan=13 align=center>No transactions</td></tr>']
    html += ['<tr align=left><td colspan=14><b>Working Orders:</b></td></tr>',
             '<tr align=right><td colspan=13 align=center>No transactions</td></tr>',
             '<tr align=left><td colspan=14><b>Summary:</b></td></tr>',
             f'<tr align=right><td colspan=2><b>Deposit/Withdrawal:</b></td><td colspan=2 class=mspt><b>{deposit:.2f}'
             '</b></td><td colspan=4><b>Credit Facility:</b></td><td class=mspt><b>0.00</b></td><td colspan=5>'
             '&nbsp;</td></tr>',
             f'<tr align=right><td colspan=2><b>Closed Trade P/L:</b></td><td colspan=2 class=mspt><b>{closed_pl:.2f}'
             f'</b></td><td colspan=4><b>Floating P/L:</b></td><td class=mspt><b>{floating:.2f}</b></td>'
             '<td colspan=3><b>Margin:</b></td><td colspan=2 class=mspt><b>0.00</b></td></tr>',
             f'<tr align=right><td colspan=2><b>Balance:</b></td><td colspan=2 class=mspt><b>{deposit + closed_pl:.2f}'
             f'</b></td><td colspan=4><b>Equity:</b></td><td class=mspt><b>{deposit + closed_pl + floating:.2f}</b>'
             '</td><td colspan=3><b>Free Margin:</b></td><td colspan=2 class=mspt><b>0.00</b></td></tr>',
             '<tr align=left><td colspan=14><b>Details:</b></td></tr>',
             f'<tr align=right><td colspan=2><b>Total Trades:</b></td><td class=mspt>{len(closed)}</td></tr>',
             '</table></body></html>']
    path.write_text("\n".join(html), encoding="utf-8")
    return path


def _by_id(statement) -> dict[str, Trade]:
    return {t.trade_id: t for t in statement.trades}


def test_mt4_a_partial_close_is_two_linked_tickets_and_800_usd_in_all(tmp_path):
    """Bought 1.00 EURUSD at 1.1000; closed 0.40 at 1.1050 (ticket #100, "to #101") and the
    remaining 0.60 at 1.1100 (ticket #101, "from #100"). The journal shows two rows, as MT4 books
    them: 0.40 lots +200.00 and 0.60 lots +600.00, total 0.4 × 500 + 0.6 × 1000 = 800 USD, minus the
    7.00 commission split 2.80 / 4.20 = 793.00, which is the Summary's Closed Trade P/L."""
    opened = "2024.03.04 09:00:00"
    path = write_mt4(tmp_path / "partial.htm", closed=[
        dict(ticket=100, open_time=opened, type="buy", size=0.40, item="eurusd", price=1.1000,
             close_time="2024.03.04 10:00:00", close_price=1.1050, commission=-2.80, profit=200.00, comment="to #101"),
        dict(ticket=101, open_time=opened, type="buy", size=0.60, item="eurusd", price=1.1000,
             close_time="2024.03.04 12:00:00", close_price=1.1100, commission=-4.20, profit=600.00,
             comment="from #100"),
    ], open_=[])
    s = mt4_html.read(path)
    t = _by_id(s)
    assert [(k, t[k].quantity, t[k].entry, t[k].exit, t[k].profit) for k in ("100", "101")] == [
        ("100", 0.4, 1.1, 1.105, 200.0), ("101", 0.6, 1.1, 1.11, 600.0)]
    assert t["100"].flags == ("partly closed: the remaining 0.60 lots continue as ticket #101",)
    assert t["101"].flags == ("remainder of ticket #100 after a partial close (0.40 lots closed there)",)
    assert t["101"].open_time == t["100"].open_time == datetime(2024, 3, 4, 9)
    assert sum(x.quantity for x in s.trades) == pytest.approx(1.0)  # the 1.00 lot bought, once
    assert sum(x.profit for x in s.trades) == pytest.approx(800.0)
    assert net(s.trades) == 793.00 == s.totals.closed_pnl
    assert all(c.ok for c in s.checks) and len(s.checks) == 3 and s.ledger.balanced


def test_mt4_a_position_closed_in_two_parts_with_the_rest_still_open(tmp_path):
    """Sold 2.00 GBPUSD at 1.2500; bought back 0.50 at 1.2450 (+250.00, #200 "to #201") and 0.50 at
    1.2400 (+500.00, #201, whose comment MT4 overwrote with "to #202"); 1.00 lot is still open as
    #202 ("from #201"). Closed P/L 750.00; 0.5 + 0.5 + 1.0 = 2.00 lots; #201's parent is found from
    #200's comment and #202 names the position's first ticket."""
    opened = "2024.03.05 14:30:00"
    path = write_mt4(tmp_path / "chain.htm", closed=[
        dict(ticket=200, open_time=opened, type="sell", size=0.50, item="gbpusd", price=1.2500,
             close_time="2024.03.05 16:00:00", close_price=1.2450, profit=250.00, comment="to #201"),
        dict(ticket=201, open_time=opened, type="sell", size=0.50, item="gbpusd", price=1.2500,
             close_time="2024.03.06 10:00:00", close_price=1.2400, profit=500.00, comment="to #202"),
    ], open_=[dict(ticket=202, open_time=opened, type="sell", size=1.00, item="gbpusd", price=1.2500,
                   close_price=1.2420, profit=800.00, comment="from #201")])
    s = mt4_html.read(path)
    t = _by_id(s)
    assert t["200"].flags == ("partly closed: the remaining 0.50 lots continue as ticket #201",)
    assert t["201"].flags == ("remainder of ticket #200 after a partial close (0.50 lots closed there)",
                              "partly closed: the remaining 1.00 lots continue as ticket #202")
    assert t["202"].flags == ("remainder of ticket #201 after a partial close (0.50 lots closed there); "
                              "position opened as ticket #200",)
    assert not t["202"].is_closed and t["202"].mark_price == 1.242
    assert sum(x.quantity for x in s.trades) == pytest.approx(2.0)
    assert net(s.trades) == 750.00 == s.totals.closed_pnl and all(c.ok for c in s.checks)


def test_mt4_a_remainder_printed_with_its_own_open_time_gets_the_original_one(tmp_path):
    """A remainder whose row shows the partial close's time as its open time (and another price):
    the journal uses the original's open time, keeps the printed price (its profit was computed from
    it) and says both in the flags; the money is unchanged."""
    path = write_mt4(tmp_path / "moved.htm", closed=[
        dict(ticket=300, open_time="2024.03.04 09:00:00", type="buy", size=0.30, item="eurusd", price=1.1000,
             close_time="2024.03.04 10:00:00", close_price=1.1020, profit=60.00, comment="to #301"),
        dict(ticket=301, open_time="2024.03.04 10:00:00", type="buy", size=0.70, item="eurusd", price=1.1001,
             close_time="2024.03.04 11:00:00", close_price=1.1031, profit=210.00, comment="from #300"),
    ], open_=[])
    t = _by_id(mt4_html.read(path))
    assert t["301"].open_time == datetime(2024, 3, 4, 9)
    assert "open time 2024.03.04 09:00:00 of ticket #300 (the statement prints 2024.03.04 10:00:00 for this " \
           "remainder)" in t["301"].flags
    assert any(f.startswith("opening price 1.1001 differs from ticket #300's 1.1") for f in t["301"].flags)
    assert t["301"].entry == 1.1001 and t["301"].profit == 210.0


def test_mt4_links_only_what_the_comments_say(tmp_path):
    """A parent named but not in the statement (closed in an earlier period) is flagged; a comment
    naming a ticket of another symbol is not a link; tickets without such comments get no flag."""
    path = write_mt4(tmp_path / "odd.htm", closed=[
        dict(ticket=400, open_time="2024.03.04 09:00:00", type="buy", size=0.10, item="eurusd", price=1.1,
             close_time="2024.03.04 10:00:00", close_price=1.101, profit=10.00, comment="from #399"),
        dict(ticket=401, open_time="2024.03.04 09:00:00", type="buy", size=0.10, item="usdjpy", price=150.0,
             close_time="2024.03.04 10:00:00", close_price=150.1, profit=6.66, comment="to #402"),
        dict(ticket=402, open_time="2024.03.04 09:00:00", type="buy", size=0.10, item="eurusd", price=1.1,
             close_time="2024.03.04 11:00:00", close_price=1.102, profit=20.00, comment="[tp]"),
    ], open_=[])
    t = _by_id(mt4_html.read(path))
    assert t["400"].flags == ("remainder of ticket #399 after a partial close (#399 is not in this statement)",)
    assert t["401"].flags == ("comment names ticket #402, a long eurusd: not linked as a partial close",)
    assert t["402"].flags == ()


@pytest.mark.parametrize("name", ["jsacap_Tradeslide_Statement.htm", "reuniware_Tradeslide_demo_DetailedStatement.htm"])
def test_mt4_real_statements_hold_no_partial_close_and_get_no_link(name):
    """Neither real statement has a "to #"/"from #" comment: nothing is linked or flagged there."""
    path = shared_statement(f"mt4_statement_html/{name}")
    s = mt4_html.read(path)
    assert "to #" not in path.read_text(encoding="latin-1") and "from #" not in path.read_text(encoding="latin-1")
    assert not any("partial close" in f or "partly closed" in f for t in s.trades for f in t.flags)


def _mt4_chain(sizes: list[int], exits: list[int], still_open: bool) -> tuple[list[Trade], float]:
    """Tickets of one 1.1000 EURUSD long closed in parts as MT4 books them: each part its own
    ticket with "to #next", each remainder "from #previous" (overwritten by "to #" when it is
    itself partly closed). sizes in 0.01 lots, exits in points above 1.1000."""
    t0 = datetime(2024, 3, 4, 9)
    src = SourceRef(file="x.htm", row=1, section="Closed Transactions")
    trades, total = [], 0.0
    for k, (size, points) in enumerate(zip(sizes, exits)):
        last = k == len(sizes) - 1
        is_open = last and still_open
        comment = f"to #{1001 + k}" if not last else (f"from #{999 + k}" if k else "")
        lots = size / 100
        profit = round(lots * 100_000 * points / 100_000, 2)  # 1 point = 0.00001, 1 USD per point per lot
        if not is_open:
            total += profit
        trades.append(Trade(
            broker="B", trade_id=str(1000 + k), symbol="eurusd", side="long", quantity=lots, entry=1.1,
            open_time=t0, close_time=None if is_open else t0 + timedelta(hours=k + 1),
            exit=None if is_open else 1.1 + points / 100_000, profit=None if is_open else profit,
            comment=comment, source=src))
    return trades, total


@HYPO
@given(parts=st.lists(st.tuples(st.integers(1, 500), st.integers(-300, 300)), min_size=1, max_size=8),
       still_open=st.booleans(), shuffle=st.randoms(use_true_random=False))
def test_mt4_linking_books_every_lot_and_every_dollar_once(parts, still_open, shuffle):
    """Any chain of partial closes, in any row order: the same tickets come back, with the same
    sizes, prices and profits (nothing added, nothing dropped), every remainder names its parent and
    has the original open time and price."""
    sizes, exits = [p[0] for p in parts], [p[1] for p in parts]
    trades, total = _mt4_chain(sizes, exits, still_open)
    shuffle.shuffle(trades)
    linked = mt4_html.link_partial_closes(trades)
    assert [t.trade_id for t in linked] == [t.trade_id for t in trades]
    assert sum(round(t.quantity * 100) for t in linked) == sum(sizes)
    assert round(sum(t.profit for t in linked if t.profit is not None), 2) == round(total, 2)
    for before, after in zip(trades, linked):
        assert (after.quantity, after.entry, after.exit, after.profit, after.open_time) == (
            before.quantity, before.entry, before.exit, before.profit, before.open_time)
        k = int(after.trade_id) - 1000
        if k:
            assert any(f.startswith(f"remainder of ticket #{999 + k} ") for f in after.flags)
        if k < len(sizes) - 1:
            assert any(f.endswith(f"continue as ticket #{1001 + k}") for f in after.flags)
