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


def _mt4_partial(tmp_path) -> Path:
    opened = "2024.03.04 09:00:00"
    return write_mt4(tmp_path / "partial.htm", closed=[
        dict(ticket=100, open_time=opened, type="buy", size=0.40, item="eurusd", price=1.1000,
             close_time="2024.03.04 10:00:00", close_price=1.1050, commission=-2.80, profit=200.00, comment="to #101"),
        dict(ticket=101, open_time=opened, type="buy", size=0.60, item="eurusd", price=1.1000,
             close_time="2024.03.04 12:00:00", close_price=1.1100, commission=-4.20, profit=600.00,
             comment="from #100"),
    ], open_=[])


def test_mt4_a_partial_close_is_two_linked_tickets_and_800_usd_in_all(tmp_path):
    """Bought 1.00 EURUSD at 1.1000; closed 0.40 at 1.1050 (ticket #100, "to #101") and the
    remaining 0.60 at 1.1100 (ticket #101, "from #100"). The journal shows two rows, as MT4 books
    them: 0.40 lots +200.00 and 0.60 lots +600.00, total 0.4 × 500 + 0.6 × 1000 = 800 USD, minus the
    7.00 commission split 2.80 / 4.20 = 793.00, which is the Summary's Closed Trade P/L."""
    s = mt4_html.read(_mt4_partial(tmp_path))
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


def test_mt4_damaged_link_comments_link_nothing_twice():
    """Comments that loop (#100 "to #101", #101 "to #100") link nothing; a remainder claimed by two
    tickets is linked to the first and the second is told so. No money or size changes."""
    src = SourceRef(file="x.htm", row=1, section="Closed Transactions")

    def ticket(n: int, comment: str) -> Trade:
        return Trade(broker="B", trade_id=str(n), symbol="eurusd", side="long", quantity=0.1, entry=1.1,
                     open_time=datetime(2024, 1, 1), close_time=datetime(2024, 1, 2), exit=1.2, profit=100.0,
                     comment=comment, source=src)

    looped = mt4_html.link_partial_closes([ticket(100, "to #101"), ticket(101, "to #100")])
    assert [t.flags for t in looped] == [("partial-close comments form a loop (#100 → #101 → #100): not linked",)] * 2
    twice = mt4_html.link_partial_closes([ticket(100, "to #102"), ticket(101, "to #102"), ticket(102, "from #100")])
    assert twice[1].flags == ("comment names ticket #102 as its remainder, which is linked to #100: not linked",)
    assert twice[2].flags[-1] == "remainder of ticket #100 after a partial close (0.10 lots closed there)"
    assert [(t.quantity, t.profit) for t in twice] == [(0.1, 100.0)] * 3


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


# =========================================================================== MetaTrader 5

from addin.statements import mt5_report  # noqa: E402


def _td(values, hidden_at: int | None = None, hidden: str = "") -> str:
    cells = [f"<td>{v}</td>" for v in values]
    if hidden_at is not None:
        cells.insert(hidden_at, f'<td class="hidden" colspan="8">{hidden}</td>')
    return '<tr bgcolor="#FFFFFF" align="right">' + "".join(cells) + "</tr>\n"


def _title(name: str) -> str:
    return (f'<tr align="center"><th colspan="14" style="height: 25px"><div style="font: 10pt Tahoma"><b>{name}'
            '</b></div></th></tr>\n')


def _heading(names: list[str]) -> str:
    return '<tr align="center" bgcolor="#E5F0FC">' + "".join(f"<td nowrap><b>{n}</b></td>" for n in names) + "</tr>\n"


def write_mt5(path: Path, positions: list[dict], deals: list[dict], open_: list[dict], mode: str = "Netting",
              deposit: float = 10_000.0) -> Path:
    """A Trade History Report in the terminal's HTML layout (as the real English report, re-encoded
    UTF-8): header, Positions (with the hidden comment cell), Orders, Deals (hidden Cost cell),
    Open Positions, account summary and Results. Results' Total Net Profit is the deals' sum, as
    in both real reports."""
    d_money = [d.get("commission", 0) + d.get("swap", 0) + d.get("profit", 0) for d in deals]
    net_total = round(sum(d_money), 2)
    wins = [m for m in d_money if m > 0]
    gross_p, gross_l = round(sum(wins), 2), round(net_total - sum(wins), 2)
    out = ['<html><head><title>Trade History Report</title></head><body><div align="center">'
           '<table cellspacing="1" cellpadding="3" border="0">\n',
           '<tr align="center"><td colspan="14"><div style="font: 14pt Tahoma"><b>Trade History Report</b><br></div>'
           '</td></tr>\n']
    for label, value in (("Name:", "Trader"), ("Account:", f"5550002&nbsp;(USD,&nbsp;Partial-Server,&nbsp;demo,"
                                                           f"&nbsp;{mode})"),
                         ("Company:", "Partial Markets Ltd"), ("Date:", "2024.03.08 23:59")):
        out.append(f'<tr align="left"><th colspan="4" nowrap align="right">{label}</th>'
                   f'<th colspan="10" nowrap align="left"><b>{value}</b></th></tr>\n')
    out += [_title("Positions"), _heading(["Time", "Position", "Symbol", "Type", "Volume", "Price", "S / L", "T / P",
                                           "Time", "Price", "Commission", "Swap", "Profit"])]
    for p in positions:
        out.append(_td([p["open_time"], p["ticket"], p["symbol"], p["type"], p["volume"], p["price"], "", "",
                        p["close_time"], p["close_price"], f'{p.get("commission", 0):.2f}',
                        f'{p.get("swap", 0):.2f}', f'{p["profit"]:.2f}'], hidden_at=4, hidden=p.get("comment", "")))
    out += ['<tr><td nowrap style="height: 10px"></td></tr>\n', _title("Orders"),
            _heading(["Open Time", "Order", "Symbol", "Type", "Volume", "Price", "S / L", "T / P", "Time", "State",
                      "Comment"])]
    for d in deals:
        out.append(_td([d["time"], d["order"], d["symbol"], d["type"], f'{d["volume"]} / {d["volume"]}', d["price"],
                        "", "", d["time"], "filled", ""]))
    out += ['<tr><td nowrap style="height: 10px"></td></tr>\n', _title("Deals"),
            _heading(["Time", "Deal", "Symbol", "Type", "Direction", "Volume", "Price", "Order", "Commission", "Fee",
                      "Swap", "Profit", "Balance", "Comment"])]
    balance = deposit
    out.append(_td(["2024.03.01 08:00:00", "1", "", "balance", "", "", "", "", "0.00", "0.00", "0.00",
                    f"{deposit:.2f}", f"{deposit:.2f}", ""]))
    for k, d in enumerate(deals):
        balance += d_money[k]
        out.append(_td([d["time"], 100 + k, d["symbol"], d["type"], d["direction"], d["volume"], d["price"],
                        d["order"], f'{d.get("commission", 0):.2f}', "0.00", f'{d.get("swap", 0):.2f}',
                        f'{d.get("profit", 0):.2f}', f"{balance:.2f}", d.get("comment", "")]))
    floating = round(sum(o["profit"] for o in open_), 2)
    out += ['<tr><td nowrap style="height: 10px"></td></tr>\n', _title("Open Positions"),
            _heading(["Time", "Position", "Symbol", "Type", "Volume", "Price", "S / L", "T / P", "Market Price",
                      "Swap", "Profit", "Comment"])]
    for o in open_:
        out.append(_td([o["open_time"], o["ticket"], o["symbol"], o["type"], o["volume"], o["price"], "", "",
                        o["market_price"], "0.00", f'{o["profit"]:.2f}', ""]))
    out.append(f'<tr align="right"><td colspan="9"></td><td nowrap><b>0.00</b></td><td nowrap><b>{floating:.2f}'
               '</b></td><td></td></tr>\n<tr align="right"><td colspan="13" style="height: 10px"></td></tr>\n')
    for label, value in (("Balance:", balance), ("Floating P/L:", floating), ("Equity:", balance + floating)):
        out.append(f'<tr align="right"><td colspan="3">{label}</td><td colspan="2"><b>{value:.2f}</b></td></tr>\n')
    n = len(positions)
    longs = sum(1 for p in positions if p["type"] == "buy")
    out += ['<tr><td colspan="13" align="center"><div style="font: 10pt Tahoma"><b>Results</b></div></td></tr>\n',
            f'<tr align="right"><td nowrap colspan="3">Total Net Profit:</td><td nowrap><b>{net_total:.2f}</b></td>'
            f'<td nowrap colspan="3">Gross Profit:</td><td nowrap><b>{gross_p:.2f}</b></td>'
            f'<td nowrap colspan="3">Gross Loss:</td><td nowrap colspan="2"><b>{gross_l:.2f}</b></td></tr>\n',
            f'<tr align="right"><td nowrap colspan="3">Total Trades:</td><td nowrap><b>{n}</b></td>'
            f'<td nowrap colspan="3">Short Trades (won %):</td><td nowrap><b>{n - longs} (0.00%)</b></td>'
            f'<td nowrap colspan="3">Long Trades (won %):</td><td nowrap colspan="2"><b>{longs} (0.00%)</b></td></tr>\n',
            "</table></div></body></html>\n"]
    path.write_text("".join(out), encoding="utf-8")
    return path


def test_mt5_netting_scale_in_and_two_partial_closes_are_one_row_as_the_positions_table_shows(tmp_path):
    """Netting account: bought 0.50 EURUSD at 1.1000 and 0.50 at 1.1020 (one position, average
    1.1010), sold 0.40 at 1.1060 (+200.00) and 0.60 at 1.1110 (+600.00). MetaTrader's Positions table
    shows one row: volume 1, price 1.1010, close price 1.1090 (volume-weighted), profit 800.00; the
    journal shows that row: (1.1090 − 1.1010) × 1.0 × 100,000 = 800 = 0.4 × 500 + 0.6 × 1,000. With
    commission 3.50 per lot per side (7.00) the net is 793.00 = Total Net Profit."""
    deals = [dict(time="2024.03.04 09:00:00", order=5001, symbol="EURUSD", type="buy", direction="in", volume=0.5,
                  price=1.1000, commission=-1.75),
             dict(time="2024.03.04 10:00:00", order=5002, symbol="EURUSD", type="buy", direction="in", volume=0.5,
                  price=1.1020, commission=-1.75),
             dict(time="2024.03.04 11:00:00", order=5003, symbol="EURUSD", type="sell", direction="out", volume=0.4,
                  price=1.1060, commission=-1.40, profit=200.0),
             dict(time="2024.03.04 12:00:00", order=5004, symbol="EURUSD", type="sell", direction="out", volume=0.6,
                  price=1.1110, commission=-2.10, profit=600.0, comment="[tp 1.11100]")]
    path = write_mt5(tmp_path / "netting.htm", positions=[dict(
        open_time="2024.03.04 09:00:00", ticket=5001, symbol="EURUSD", type="buy", volume="1", price=1.1010,
        close_time="2024.03.04 12:00:00", close_price=1.1090, commission=-7.00, profit=800.00)], deals=deals, open_=[])
    s = mt5_report.read(path)
    [t] = s.trades
    assert (t.trade_id, t.side, t.quantity, t.entry, t.exit, t.profit, t.commission) == (
        "5001", "long", 1.0, 1.101, 1.109, 800.0, -7.0)
    assert (t.exit - t.entry) * t.quantity * 100_000 == pytest.approx(800.0)
    assert t.open_time == datetime(2024, 3, 4, 9) and t.close_time == datetime(2024, 3, 4, 12)
    assert t.comment == "[tp 1.11100]" and t.flags == ()
    assert net(s.trades) == 793.00 == s.totals.closed_pnl
    assert [c.name for c in s.checks] == ["closed trades", "closed trade P/L", "positions' profit"]
    assert all(c.ok for c in s.checks) and s.checks[2].stated == 800.0


def _hedge_partly_closed(tmp_path, listed_in_positions: bool = True):
    """Hedging account: sold 1.00 GBPUSD at 1.2500, bought back 0.30 at 1.2450 (+150.00); 0.70 is
    still open (market 1.2480, floating +140.00)."""
    deals = [dict(time="2024.03.05 14:30:00", order=6001, symbol="GBPUSD", type="sell", direction="in", volume=1.0,
                  price=1.2500),
             dict(time="2024.03.05 16:00:00", order=6002, symbol="GBPUSD", type="buy", direction="out", volume=0.3,
                  price=1.2450, profit=150.0)]
    positions = [dict(open_time="2024.03.05 14:30:00", ticket=6001, symbol="GBPUSD", type="sell", volume="0.3 / 1",
                      price=1.2500, close_time="2024.03.05 16:00:00", close_price=1.2450, profit=150.00)]
    return write_mt5(tmp_path / "hedge.htm", positions=positions if listed_in_positions else [], deals=deals,
                     mode="Hedge", open_=[dict(open_time="2024.03.05 14:30:00", ticket=6001, symbol="GBPUSD",
                                               type="sell", volume=0.7, price=1.2500, market_price=1.2480,
                                               profit=140.00)])


def test_mt5_a_partly_closed_position_still_open_is_one_open_row_naming_the_closed_part(tmp_path):
    """MetaTrader lists a partly closed position in Positions with "closed / initial" volume
    ("0.3 / 1") and the rest in Open Positions under the same ticket. The journal keeps one row per
    ticket: the open 0.70 lots, its flags naming the 0.3 lots closed and the +150.00 realised (booked
    when a later report shows the position closed, which replaces the open row). Total Net Profit
    150.00 reconciles: closed rows 0 + realised part 150.00."""
    s = mt5_report.read(_hedge_partly_closed(tmp_path))
    [t] = s.trades
    assert (t.trade_id, t.side, t.quantity, t.entry, t.is_closed) == ("6001", "short", 0.7, 1.25, False)
    assert t.flags == ("partly closed: 0.3 of 1 lots closed at 1.245 (average) by 2024.03.05 16:00:00, realised "
                       "+150.00 USD after commission and swap (Positions row 8; counted when the position closes)",)
    assert s.ledger.trade_rows == 2 and s.ledger.balanced  # the Positions row is part of the trade
    assert all(c.ok for c in s.checks), [c.describe() for c in s.checks]
    assert s.totals.closed_pnl == 150.00


def test_mt5_closing_deals_missing_from_the_positions_table_show_as_a_mismatch(tmp_path):
    """Were a report to leave a partly closed position out of Positions, its closing deal's profit
    would be in no row: the reader says so (both P/L checks fail) instead of passing silently."""
    s = mt5_report.read(_hedge_partly_closed(tmp_path, listed_in_positions=False))
    failed = {c.name: c.difference for c in s.mismatches}
    assert failed == {"closed trade P/L": -150.0, "positions' profit": -150.0}


def test_mt5_real_reports_have_one_out_deal_per_position_and_reconcile():
    """Neither real report holds a partial close or a scale-in (658 positions, 658 out deals; 9 and
    9): their Positions profit equals the closing deals' profit to the cent."""
    for name, positions in (("PopovMP_MetaQuotesDemo_ReportHistory-70358000.html", 658),
                            ("Wizard-hash2_ReportHistory.xlsx", 9)):
        s = mt5_report.read(shared_statement(f"mt5_report/{name}"))
        outs = [n for n in s.non_trades if n.kind == "deal" and n.text.split()[1] == "out"]
        closed = [t for t in s.trades if t.is_closed]
        assert len(closed) == len(outs) == positions
        assert not any("partly closed" in f for t in s.trades for f in t.flags)
        assert all(c.ok for c in s.checks) and len(s.checks) == 3


@HYPO
@given(spec=st.lists(st.tuples(st.integers(1, 300), st.integers(0, 300), st.integers(-500, 500)), min_size=1,
                     max_size=6))
def test_mt5_any_partly_closed_positions_book_every_lot_and_dollar_once(tmp_path, spec):
    """Hedged positions of `opened` hundredths of a lot, `closed` of them closed (0: not in
    Positions; all: fully closed), closing deals worth `cents` each: every lot is in exactly one row
    (closed rows' volume + open rows' volume = volume opened) and the closed P/L check reconciles
    the realised money (closed rows + the realised parts named on open rows) to the deals'."""
    positions, deals, open_ = [], [], []
    realised, opened_total = 0.0, 0
    for k, (opened, closed, cents) in enumerate(spec):
        closed = min(closed, opened)
        ticket, when = 7000 + k, f"2024.03.05 10:{k:02d}:00"
        opened_total += opened
        deals.append(dict(time=when, order=ticket, symbol="EURUSD", type="buy", direction="in", volume=opened / 100,
                          price=1.1))
        if closed:
            profit = cents / 100
            realised += profit
            deals.append(dict(time=f"2024.03.05 11:{k:02d}:00", order=8000 + k, symbol="EURUSD", type="sell",
                              direction="out", volume=closed / 100, price=1.1001, profit=profit))
            volume = f"{closed / 100:g}" if closed == opened else f"{closed / 100:g} / {opened / 100:g}"
            positions.append(dict(open_time=when, ticket=ticket, symbol="EURUSD", type="buy", volume=volume,
                                  price=1.1, close_time=f"2024.03.05 11:{k:02d}:00", close_price=1.1001,
                                  profit=profit))
        if closed < opened:
            open_.append(dict(open_time=when, ticket=ticket, symbol="EURUSD", type="buy", volume=(opened - closed) / 100,
                              price=1.1, market_price=1.1001, profit=0.0))
    s = mt5_report.read(write_mt5(tmp_path / "h.htm", positions, deals, open_, mode="Hedge"))
    assert len({t.trade_id for t in s.trades}) == len(s.trades) == len(spec)  # one row per position
    # a row's quantity: all of a closed position, the rest of an open one, whose flags name the
    # closed part ("partly closed: 0.3 of 1 lots closed at ..."): together every lot opened, once
    in_rows = sum(round(t.quantity * 100) for t in s.trades)
    named = sum(round(float(f.split()[2]) * 100) for t in s.trades for f in t.flags if f.startswith("partly closed"))
    assert in_rows + named == opened_total
    assert named == sum(min(c, o) for o, c, _ in spec if 0 < min(c, o) < o)
    assert all(c.ok for c in s.checks), [c.describe() for c in s.checks]
    assert s.totals.closed_pnl == pytest.approx(round(realised, 2), abs=0.005)


# =========================================================================== Interactive Brokers

from addin.statements import ibkr_activity, ibkr_flex, ibkr_positions  # noqa: E402
from pytest import approx  # noqa: E402


def write_flex(path: Path, executions: list[dict], realised_by_symbol: dict[str, float] | None = None) -> Path:
    """A Flex Query XML as IB writes it (the attributes the real files carry that the reader uses):
    one FlexStatement, AccountInformation (base USD), Trades at levelOfDetail EXECUTION and, when
    given, the FIFOPerformanceSummaryUnderlying realised P/L per symbol."""
    rows = []
    for k, e in enumerate(executions):
        when = e["time"]
        rows.append(
            f'<Trade accountId="U7654321" currency="USD" assetCategory="STK" fxRateToBase="1" symbol="{e["symbol"]}" '
            f'description="{e["symbol"]} INC" conid="{abs(hash(e["symbol"])) % 10**8}" multiplier="1" '
            f'tradeID="{9000 + k}" tradeDate="{when:%Y%m%d}" tradeTime="{when:%H%M%S}" transactionType="ExchTrade" '
            f'exchange="NASDAQ" quantity="{e["qty"]:g}" tradePrice="{e["price"]:g}" ibCommission="{e["comm"]:g}" '
            f'ibCommissionCurrency="USD" openCloseIndicator="{e["oc"]}" fifoPnlRealized="{e["realised"]:.6f}" '
            f'buySell="{"BUY" if e["qty"] > 0 else "SELL"}" ibExecID="0000e1.{k:04d}.01.01" levelOfDetail="EXECUTION" />')
    summary = "".join(
        f'<FIFOPerformanceSummaryUnderlying accountId="U7654321" assetCategory="STK" symbol="{s}" '
        f'totalRealizedPnl="{v:.6f}" />' for s, v in (realised_by_symbol or {}).items())
    path.write_text(
        '<FlexQueryResponse queryName="Partials" type="AF"><FlexStatements count="1">'
        '<FlexStatement accountId="U7654321" fromDate="20240301" toDate="20240329" period="" '
        'whenGenerated="20240330;010000"><AccountInformation accountId="U7654321" currency="USD" />'
        f'<FIFOPerformanceSummaryInBase>{summary}</FIFOPerformanceSummaryInBase>'
        '<Trades>' + "\n".join(rows) + "</Trades></FlexStatement></FlexStatements></FlexQueryResponse>\n",
        encoding="utf-8")
    return path


def fifo(executions: list[tuple[float, float, float]]) -> list[tuple[float, str]]:
    """IB's FIFO realised P/L per execution (signed quantity, price, commission ≤ 0), one symbol,
    starting flat: the cost basis of a lot includes its opening commission, a closing execution's
    P/L is net of its own commission. Returns (realised, open/close code) per execution."""
    lots: list[list[float]] = []  # [signed quantity left, basis per unit incl. commission]
    out = []
    for qty, price, comm in executions:
        realised, closed = 0.0, 0.0
        while lots and lots[0][0] * qty < 0 and closed < abs(qty):
            take = min(abs(lots[0][0]), abs(qty) - closed)
            sign = 1 if lots[0][0] > 0 else -1
            realised += sign * (price - lots[0][1]) * take
            lots[0][0] -= sign * take
            closed += take
            if abs(lots[0][0]) < 1e-9:
                lots.pop(0)
        rest = abs(qty) - closed
        if closed:
            realised += comm * closed / abs(qty)
        if rest > 1e-9:
            sign = 1 if qty > 0 else -1
            lots.append([sign * rest, price - sign * comm * (rest / abs(qty)) / rest])
        code = "C;O" if closed and rest > 1e-9 else ("C" if closed else "O")
        out.append((realised, code))
    return out


def _flex_rows(tmp_path, name: str, fills: list[tuple[float, float, float]], symbol: str = "AAPL",
               stated: float | None = None):
    books = fifo(fills)
    t0 = datetime(2024, 3, 4, 15, 30)
    return ibkr_flex.read(write_flex(tmp_path / name, [
        dict(symbol=symbol, time=t0 + timedelta(minutes=k), qty=q, price=p, comm=c, realised=r, oc=oc)
        for k, ((q, p, c), (r, oc)) in enumerate(zip(fills, books))],
        None if stated is None else {symbol: stated})), books


def test_ibkr_flex_scale_in_and_two_partial_closes_are_closed_rows_from_the_opening_lots(tmp_path):
    """Bought 100 AAPL at 150.00 and 100 at 160.00 (commission 1.00 each), sold 150 at 170.00
    (commission 1.50) and 50 at 155.00 (0.50). IB's FIFO: the first sale closes the 150.00 lot and
    half of the 160.00 lot: 100 × (170 − 150.01) + 50 × (170 − 160.01) − 1.50 = 2,497.00; the second
    closes the rest: 50 × (155 − 160.01) − 0.50 = −251.00. The journal has two closed rows: 150 from
    (100 × 150 + 50 × 160) / 150 = 153.33 bought at 15:30 and 50 from 160.00 bought at 15:31, each
    with its own and its lots' share of the opening commission (3.00 and 1.00: 4.00 in all, once);
    Net P/L = IB's realised P/L, total 2,246.00 = 33,250 − 31,000 − 4.00. The two purchases are no
    rows: accounted as opening executions closed in this statement."""
    fills = [(100, 150.0, -1.0), (100, 160.0, -1.0), (-150, 170.0, -1.5), (-50, 155.0, -0.5)]
    s, books = _flex_rows(tmp_path, "flex.xml", fills, stated=2246.0)
    assert [round(r, 2) for r, _ in books] == [0.0, 0.0, 2497.00, -251.00]
    rows = [(t.side, t.quantity, round(t.entry, 4), t.exit, t.open_time.minute, t.commission, round(t.net_profit, 2))
            for t in s.trades]
    assert rows == [("long", 150, 153.3333, 170.0, 30, -3.0, 2497.00), ("long", 50, 160.0, 155.0, 31, -1.0, -251.00)]
    assert s.trades[0].flags == ("opened by 100 of 100 @ 150 (row 1), 50 of 100 @ 160 (row 2)",)
    assert s.trades[1].flags == ("opened by 50 of 100 @ 160 (row 2)",)
    consumed = [n for n in s.non_trades if n.kind == ibkr_positions.CONSUMED]
    assert [(n.source.row, n.text) for n in consumed] == [
        (1, "BUY 100 AAPL @ 150: closed in this statement by row 3, whose rows carry its price, open time and commission"),
        (2, "BUY 100 AAPL @ 160: closed in this statement by rows 3 and 4, whose rows carry its price, open time and "
            "commission")]
    assert s.ledger.balanced and (s.ledger.trade_rows, s.ledger.non_trade_rows) == (2, 2)
    assert [c.describe() for c in s.checks] == [
        "realised P/L: statement says 2,246.00 USD (FIFOPerformanceSummaryUnderlying totalRealizedPnl), "
        "rows read add up to 2,246.00 USD: matches"]


def test_ibkr_flex_a_partial_close_leaves_an_open_row_of_the_remainder(tmp_path):
    """Bought 100 at 10.00 (commission 1.00), sold 40 at 12.00 (0.40): IB realises
    40 × (12 − 10.01) − 0.40 = 79.20. A closed row of 40 from 10.00 carrying 0.40 + 0.40 of
    commission, and the purchase stays an open row of the 60 still held with the 0.60 left of its
    commission, its Flags saying what closed and where."""
    s, books = _flex_rows(tmp_path, "part.xml", [(100, 10.0, -1.0), (-40, 12.0, -0.4)])
    assert round(books[1][0], 2) == 79.20
    still, closed = s.trades
    assert (still.quantity, still.entry, still.exit, still.commission) == (60, 10.0, None, approx(-0.6))
    assert still.flags == ("40 of 100 closed in this statement by row 2: 60 still open",)
    assert (closed.quantity, closed.entry, closed.exit, closed.commission) == (40, 10.0, 12.0, approx(-0.8))
    assert closed.net_profit == approx(79.20) and closed.profit == approx(80.0)


def test_ibkr_flex_a_flip_is_a_closed_row_and_an_open_row_of_the_rest(tmp_path):
    """Long 100 at 10.00, then SELL 150 at 11.00 (IB: C;O, realised 100 × 1.00 − 1.00 of the
    commission's 1.50 = 99.00): a closed long of 100 (10.00 -> 11.00, 99.00) and an open short of 50
    at 11.00 carrying the other 0.50 of commission, Trade ID "<execution>:open", both flagged. A
    later BUY 50 at 10.50 covers that short (IB: 50 × 0.50 − 0.50 − 0.50 = 24.00): a closed short
    from 11.00, and nothing stays open. The flip's source row is one row of the ledger (a trade)."""
    fills = [(100, 10.0, 0.0), (-150, 11.0, -1.5), (50, 10.5, -0.5)]
    s, books = _flex_rows(tmp_path, "flip.xml", fills, symbol="XYZ")
    assert [(round(r, 2), oc) for r, oc in books] == [(0.0, "O"), (99.0, "C;O"), (24.0, "C")]
    long_closed, short_closed = s.trades
    assert (long_closed.side, long_closed.quantity, long_closed.entry, long_closed.exit) == ("long", 100, 10.0, 11.0)
    assert long_closed.net_profit == approx(99.0) and long_closed.commission == approx(-1.0)
    assert long_closed.flags[0].startswith("flip: this execution of 150 closed 100 and opened 50 short")
    assert (short_closed.side, short_closed.quantity, short_closed.entry, short_closed.exit) == ("short", 50, 11.0, 10.5)
    assert short_closed.commission == approx(-1.0) and short_closed.net_profit == approx(24.0)
    assert s.ledger.balanced and s.ledger.trade_rows == 2

    # without the cover, the opened short is an open row of its own
    s, _ = _flex_rows(tmp_path, "flip2.xml", fills[:2], symbol="XYZ")
    closed, opened = s.trades
    assert (opened.side, opened.quantity, opened.entry, opened.exit) == ("short", 50, 11.0, None)
    assert opened.trade_id == closed.trade_id + ":open" and opened.commission == approx(-0.5)
    assert opened.open_time == closed.close_time and opened.source == closed.source
    assert opened.flags[0].startswith("flip: opened by the execution that closed 100")
    assert s.ledger.balanced and s.ledger.trade_rows == 1 and len(s.trades) == 2


def test_ibkr_flex_a_flip_of_a_position_opened_before_the_statement_stays_one_flagged_row(tmp_path):
    """SELL 150 at 11.00, C;O, with the long it closed bought before the file: how much of it
    opened the short is unknown -- one closing row of 150, flagged as a flip and as opened before."""
    s = ibkr_flex.read(write_flex(tmp_path / "f.xml", [dict(symbol="XYZ", time=datetime(2024, 3, 4, 15, 30),
                                                            qty=-150, price=11.0, comm=0, realised=100, oc="C;O")]))
    (flip,) = s.trades
    assert (flip.side, flip.quantity, flip.net_profit) == ("long", 150, 100.0)
    assert flip.flags == ibkr_flex.FLIP_FLAGS + (ibkr_positions.OPENED_BEFORE,)


def test_ibkr_activity_real_partial_close_in_four_executions():
    """Real statement: bought 500 NOK at 6.73 (commission 2.50: basis 6.735), sold all at 7.45 in
    four executions of 300, 68, 100 and 32 shares (code C;P). Four closed rows from the purchase's
    price and time with IB's realised P/L each, e.g. 300 × (7.45 − 6.735) − 1.585 = 212.91;
    together 354.86, the order's figure; the quantities add up to the 500 bought, and no open row
    is left (the purchase is accounted as closed in this statement)."""
    s = ibkr_activity.read(shared_statement("ibkr_activity_statement_csv/oittaa_data_numbers_within_quotes.csv"))
    nok = [t for t in s.trades if t.symbol == "NOK" and t.close_time.day == 27]
    assert [(t.quantity, round(t.net_profit, 2)) for t in nok] == [(300, 212.91), (68, 48.26), (100, 70.97),
                                                                  (32, 22.71)]
    assert {(t.entry, t.exit, t.open_time) for t in nok} == {(6.73, 7.45, datetime(2021, 1, 27, 13, 31, 38))}
    # the purchase's 2.50 commission is shared 300:68:100:32 over the four rows, counted once
    assert sum(t.commission for t in nok) == approx(-2.5 - 1.5850935 - 0.35928786 - 0.5283645 - 0.16907664)
    assert round(sum(t.net_profit for t in nok), 2) == 354.86 and sum(t.quantity for t in nok) == 500
    assert round(300 * (7.45 - 6.735) - 1.5850935, 2) == 212.91
    assert not [t for t in s.trades if not t.is_closed]
    assert all(c.ok for c in s.checks) and s.ledger.balanced


def test_ibkr_real_scale_ins_stay_open_rows_and_the_option_expiry_closes_four_sales():
    """Real Flex file: URANIUM ONE bought in 10 executions (2.31 to 2.72) and GCM in 3, none
    closed: 10 and 3 open rows, 12,000 shares each, no P/L booked. The 4 CLOV option sales of the
    real activity statement (scale-in of a short) are closed by one 4-lot expiry: one closed row of
    4 from the sales' mean price 0.895, carrying the whole premium less the sales' commission, no
    open row left."""
    s = ibkr_flex.read(shared_statement("ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile01.xml"))
    for symbol, n in (("UUU", 10), ("GCM", 3)):
        rows = [t for t in s.trades if t.symbol == symbol]
        assert len(rows) == n and sum(t.quantity for t in rows) == 12_000 and not any(t.is_closed for t in rows)
    a = ibkr_activity.read(shared_statement("ibkr_activity_statement_csv/oittaa_data_multi_account.csv"))
    (clov,) = [t for t in a.trades if t.symbol.startswith("CLOV")]
    assert (clov.side, clov.quantity, clov.entry, clov.exit) == ("short", 4, approx(0.895), 0)
    assert clov.net_profit == approx(355.308974) and clov.net_profit == approx(358 - 2.6910258)
    assert len([n for n in a.non_trades if n.kind == ibkr_positions.CONSUMED]) == 4


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fills=st.lists(st.tuples(st.integers(-300, 300).filter(bool), st.integers(500, 1500), st.integers(0, 300)),
                      min_size=1, max_size=12))
def test_ibkr_any_executions_book_fifo_pnl_quantity_and_cost_once(tmp_path, fills):
    """Any executions of one stock from flat (scale-ins, partial closes, flips) with IB's FIFO
    realised P/L: the closed rows' Net P/L adds up to the realised P/L; the open rows' signed
    quantity is the net position; every lot is on exactly one row (closed quantity = what the
    executions closed, and each lot's cost, price x quantity, appears once over all rows); every
    commission is on one row; the ledger accounts for every execution once."""
    executions = [(q, p / 10, -c / 100) for q, p, c in fills]
    s, books = _flex_rows(tmp_path, "h.xml", executions, symbol="ABC")
    closed = [t for t in s.trades if t.is_closed]
    still = [t for t in s.trades if not t.is_closed]
    assert s.ledger.balanced and s.ledger.seen == len(fills)
    assert sum(t.net_profit for t in closed) == pytest.approx(sum(r for r, _ in books), abs=1e-5 * len(fills))
    assert sum(t.quantity if t.side == "long" else -t.quantity for t in still) == pytest.approx(
        sum(q for q, _, _ in executions))
    assert all(t.flags == () or ibkr_positions.OPENED_BEFORE not in t.flags for t in s.trades)
    # FIFO by hand: the lots (signed quantity, price) each execution opens and how much each closes
    lots: list[list[float]] = []
    closed_qty, cost = 0.0, 0.0
    for q, p, _ in executions:
        left = abs(q)
        while lots and lots[0][0] * q < 0 and left > 1e-9:
            take = min(abs(lots[0][0]), left)
            cost += take * lots[0][1]
            closed_qty += take
            lots[0][0] += take if lots[0][0] < 0 else -take
            left -= take
            if abs(lots[0][0]) < 1e-9:
                lots.pop(0)
        if left > 1e-9:
            lots.append([left if q > 0 else -left, p])
    assert sum(t.quantity for t in closed) == pytest.approx(closed_qty)
    assert sum(t.entry * t.quantity for t in closed) == pytest.approx(cost)
    assert sorted((round(t.quantity, 6), t.entry) for t in still) == sorted((round(abs(q), 6), p) for q, p in lots)
    assert sum(t.commission for t in s.trades) == pytest.approx(sum(c for _, _, c in executions))


# =========================================================================== Tradovate

from addin.statements import tradovate  # noqa: E402

TRADOVATE_HEADER = ("symbol,_priceFormat,_priceFormatType,_tickSize,buyFillId,sellFillId,qty,buyPrice,sellPrice,pnl,"
                    "boughtTimestamp,soldTimestamp,duration")


def _money(x: float) -> str:
    return f"${x:.2f}" if x >= 0 else f"$({-x:.2f})"


def write_tradovate(path: Path, pairs: list[tuple]) -> Path:
    """pairs: (symbol, buy fill id, sell fill id, qty, buy price, sell price, pnl, bought, sold)."""
    lines = [TRADOVATE_HEADER]
    for sym, b, s, q, bp, sp, pnl, bt, stime in pairs:
        lines.append(f"{sym},-2,0,0.25,{b},{s},{q},{bp:.2f},{sp:.2f},{_money(pnl)},{bt:%m/%d/%Y %H:%M:%S},"
                     f"{stime:%m/%d/%Y %H:%M:%S},1min 0sec")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tradovate_real_fill_shared_by_several_rows_is_one_row_per_matched_pair():
    """Real export: a 3-lot buy (fill 163781411091) covered a short built from three 1-lot sells at
    4247.1 (MGC, 10 USD per point). Tradovate prints three rows sharing the buy fill id, one per
    matched pair: each 1 × (4251.8 − 4247.1) × 10 = −47.00, together −141.00; the journal has the
    three rows with distinct ids, nothing merged, nothing counted twice (the pnl column's total
    reconciles)."""
    path = shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    s = tradovate.read(path)
    rows = [t for t in s.trades if t.trade_id.startswith("163781411091-")]
    assert sorted(t.trade_id for t in rows) == ["163781411091-163781411066", "163781411091-163781411069",
                                                "163781411091-163781411080"]
    assert [(t.side, t.quantity, t.entry, t.exit, t.profit, t.contract_size) for t in rows] == [
        ("short", 1, 4247.1, 4251.8, -47.0, 10)] * 3
    assert len({t.trade_id for t in s.trades}) == len(s.trades)
    assert all(c.ok for c in s.checks)
    with path.open(newline="") as fh:
        raw = list(csv.DictReader(fh))
    shared = defaultdict(int)
    for r in raw:
        shared[r["buyFillId"]] += 1
        shared[r["sellFillId"]] += 1
    assert sum(1 for n in shared.values() if n > 1) == 15  # 8 buy and 7 sell fills matched more than once


def test_tradovate_scale_in_and_partial_closes_are_rows_per_matched_pair(tmp_path):
    """Bought 1 MES at 5000.00 (fill B1) and 2 at 5002.00 (B2), sold 2 at 5005.00 (S1) and 1 at
    5001.00 (S2), 5 USD per point. Tradovate matches first in, first out: B1/S1 1 × 5 × 5 = +25.00,
    B2/S1 1 × 3 × 5 = +15.00, B2/S2 1 × (−1) × 5 = −5.00: three journal rows, +35.00 in all, three
    contracts bought and sold once each."""
    t0 = datetime(2024, 3, 4, 15, 30)
    path = write_tradovate(tmp_path / "Performance.csv", [
        ("MESH4", "B1", "S1", 1, 5000.0, 5005.0, 25.0, t0, t0 + timedelta(minutes=10)),
        ("MESH4", "B2", "S1", 1, 5002.0, 5005.0, 15.0, t0 + timedelta(minutes=1), t0 + timedelta(minutes=10)),
        ("MESH4", "B2", "S2", 1, 5002.0, 5001.0, -5.0, t0 + timedelta(minutes=1), t0 + timedelta(minutes=20)),
    ])
    s = tradovate.read(path)
    assert [(t.trade_id, t.side, t.quantity, t.entry, t.exit, t.profit, t.contract_size) for t in s.trades] == [
        ("B1-S1", "long", 1, 5000, 5005, 25, 5), ("B2-S1", "long", 1, 5002, 5005, 15, 5),
        ("B2-S2", "long", 1, 5002, 5001, -5, 5)]
    assert net(s.trades) == 35.0 == s.totals.closed_pnl and all(c.ok for c in s.checks)


def fifo_pairs(fills: list[tuple[int, float]]) -> list[tuple[int, int, int, float, float]]:
    """Tradovate-style matching of (signed quantity, price) fills, first in first out:
    (buy fill index, sell fill index, quantity, buy price, sell price) per matched pair."""
    lots: list[list] = []  # [fill index, signed qty left, price]
    pairs = []
    for k, (q, p) in enumerate(fills):
        left = abs(q)
        while left and lots and (lots[0][1] > 0) != (q > 0):
            take = min(left, abs(lots[0][1]))
            j, _, lp = lots[0]
            pairs.append((j, k, take, lp, p) if q < 0 else (k, j, take, p, lp))
            lots[0][1] += take if lots[0][1] < 0 else -take
            left -= take
            if lots[0][1] == 0:
                lots.pop(0)
        if left:
            lots.append([k, left if q > 0 else -left, p])
    return pairs


@HYPO
@given(fills=st.lists(st.tuples(st.integers(-4, 4).filter(bool), st.integers(19_000, 21_000)), min_size=2,
                      max_size=14))
def test_tradovate_any_fills_book_each_contract_and_dollar_once(tmp_path, fills):
    """Any fills (scale-ins, partial closes, reversals) matched into pairs: one journal row per
    pair; each fill's matched contracts appear on its rows exactly once and the rows' P/L adds up
    to the pnl column."""
    fills = [(q, p / 4) for q, p in fills]  # MNQ ticks of 0.25
    pairs = fifo_pairs(fills)
    if not pairs:
        return
    t0 = datetime(2024, 3, 4, 15, 30)
    rows = [("MNQH4", f"F{b}", f"F{s}", q, bp, sp, (sp - bp) * q * 2, t0 + timedelta(minutes=b),
             t0 + timedelta(minutes=s)) for b, s, q, bp, sp in pairs]
    st_ = tradovate.read(write_tradovate(tmp_path / "Performance.csv", rows))
    assert len(st_.trades) == len(pairs) and st_.rejected == []
    per_fill = defaultdict(float)
    for t in st_.trades:
        b, s = t.trade_id.split("-")
        per_fill[b] += t.quantity
        per_fill[s] += t.quantity
    expected = defaultdict(float)
    for b, s, q, _, _ in pairs:
        expected[f"F{b}"] += q
        expected[f"F{s}"] += q
    assert per_fill == expected
    assert net(st_.trades) == pytest.approx(round(sum(r[6] for r in rows), 2)) and all(c.ok for c in st_.checks)


# =========================================================================== Binance USDⓈ-M and Bybit (perpetuals)

from addin.statements import binance_usdm, bybit_closed_pnl, bybit_trades  # noqa: E402
from addin.statements.perpetuals import Fill, group_positions, position_trade  # noqa: E402


def test_binance_real_flip_closes_the_short_and_opens_a_long_with_one_fill():
    """Real bot export: short 0.03 BTCBUSD at 18864.9; a BUY of 0.06 at 19028.5 (realised −4.908)
    closes it, (18864.9 − 19028.5) × 0.03 = −4.908, and opens a long of 0.03 at 19028.5 with the
    rest; that long is closed by a SELL of 0.03 at 19214.3, (19214.3 − 19028.5) × 0.03 = +5.574. The
    flip fill's fee 0.342513 is split half and half, so each row carries one half."""
    s = binance_usdm.read(shared_statement("binance_usdm_futures_trades/GabrielBuzik_Export_Trade_History.xlsx"))
    short = next(t for t in s.trades if t.trade_id == "BTCBUSD 2022-09-22 15:00:04")
    long_ = next(t for t in s.trades if t.trade_id == "BTCBUSD 2022-09-22 17:00:05")
    assert (short.side, short.quantity, short.entry, short.exit, short.profit) == ("short", 0.03, 18864.9, 19028.5,
                                                                                   -4.908)
    assert (long_.side, long_.quantity, long_.entry, long_.exit, long_.profit) == ("long", 0.03, 19028.5, 19214.3,
                                                                                   5.574)
    assert short.commission == pytest.approx(-(0.1697841 + 0.342513 / 2))
    assert long_.commission == pytest.approx(-(0.342513 / 2 + 0.1729287))
    assert short.flags == ("closed by a fill that also opened the opposite position (one-way mode flip)",)
    assert long_.flags == ("opened by a fill that closed the opposite position (one-way mode flip)",)
    flips = [f for t in s.trades for f in t.flags if "flip" in f]  # 44 fills flipped the bot's position
    assert flips.count(short.flags[0]) == flips.count(long_.flags[0]) == 44
    assert all(c.ok for c in s.checks)


def test_binance_real_position_closed_by_two_orders():
    """Real export (Nov–Dec 2022): two positions were closed by two orders each; each is one journal
    row whose exit is the two closes' quantity-weighted price and whose profit is the sum of the
    exchange's Realized Profit of its fills (the statement's total reconciles)."""
    s = binance_usdm.read(shared_statement("binance_usdm_futures_trades/Mike-Zelixon_Binance_Nov-Dec_2022.xlsx"))
    two = [t for t in s.trades if t.comment == "2 closing orders"]
    assert len(two) == 2
    for t in two:
        side = 1 if t.side == "long" else -1
        assert (t.exit - t.entry) * t.quantity * side == pytest.approx(t.profit, abs=0.01)
    assert all(c.ok for c in s.checks)


def _one_way_fills(steps: list[tuple[int, int, int]]) -> tuple[list[Fill], float]:
    """Binance-style one-way fills from (order side, quantity in 0.001 coins, price) with the
    exchange's realised P/L of each (average-cost, as Binance computes it), starting flat."""
    fills, pos, avg, total = [], 0.0, 0.0, 0.0
    t0 = datetime(2024, 1, 1)
    for k, (side, q, price) in enumerate(steps):
        qty = q / 1000
        realised = 0.0
        if pos * side < 0:  # reduces (and maybe flips) the position
            closing = min(qty, abs(pos))
            realised = (price - avg) * closing * (1 if pos > 0 else -1)
            rest = qty - closing
            pos += side * closing
            if abs(pos) < 1e-12:
                pos = 0.0
            if rest > 1e-12:
                pos, avg = side * rest, price
        else:
            avg = (avg * abs(pos) + price * qty) / (abs(pos) + qty)
            pos += side * qty
        total += realised
        fills.append(Fill(row=k + 2, time=t0 + timedelta(minutes=k), symbol="BTCUSDT", side=side, quantity=qty,
                          price=float(price), fee=qty * price * 0.0004, realized=round(realised, 8)))
    return fills, total


@HYPO
@given(steps=st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(1, 50), st.integers(900, 1100)),
                      min_size=1, max_size=30))
def test_perpetuals_one_way_any_fills_book_quantity_pnl_and_fees_once(steps):
    """group_positions in one-way mode (Binance): for any fills (scale-ins, partial closes, flips)
    the positions' realised P/L adds up to the fills', every coin bought or sold is opened or
    closed exactly once (Σ opened − Σ closed = the position left open), fees are kept whole, and
    each closed trade's (exit − entry) × quantity × side is its realised P/L."""
    fills, total = _one_way_fills(steps)
    g = group_positions(fills)
    assert g.orphan_fills == []  # no funding rows given: none to attach
    assert sum(p.profit for p in g.positions) == pytest.approx(total, abs=1e-6)
    traded = sum(f.quantity for f in fills)
    assert sum(p.opened_qty + p.closed_qty for p in g.positions) == pytest.approx(traded, abs=1e-9)
    net_open = sum(p.side * p.open_qty for p in g.positions)
    assert net_open == pytest.approx(sum(f.side * f.quantity for f in fills), abs=1e-9)
    assert sum(1 for p in g.positions if not p.is_closed) <= 1
    assert sum(p.fees for p in g.positions) == pytest.approx(sum(f.fee for f in fills))
    trades = [position_trade(p, broker="Binance", account="", quote="USDT", file="x", section="s", trade_id=str(k))
              for k, p in enumerate(g.positions)]
    for t, p in zip(trades, g.positions):
        if t.is_closed:
            side = 1 if t.side == "long" else -1
            assert (t.exit - t.entry) * t.quantity * side == pytest.approx(t.profit, abs=1e-6)
        elif p.closed_qty:  # partly closed, still open: the realised part is named, not lost
            assert any(f.startswith(f"partly closed: {p.closed_qty:g} of") for f in t.flags)


@HYPO
@given(steps=st.lists(st.tuples(st.sampled_from([1, -1]), st.booleans(), st.integers(1, 50), st.integers(900, 1100)),
                      min_size=1, max_size=30))
def test_perpetuals_explicit_direction_any_fills_book_quantity_and_pnl_once(steps):
    """group_positions with the export's open/close (Bybit, hedge mode: a long and a short at
    once): every fill that has a position to act on is booked once, the rest are orphans with a
    reason; closed quantity never exceeds opened; gross P/L adds up to the average-cost P/L."""
    t0 = datetime(2024, 1, 1)
    fills, expected_gross, orphans = [], 0.0, 0
    book = {1: [0.0, 0.0], -1: [0.0, 0.0]}  # side -> [open qty, average]
    for k, (side, is_open, q, price) in enumerate(steps):
        qty = q / 1000
        pos = book[side]
        if is_open:
            pos[1] = (pos[1] * pos[0] + price * qty) / (pos[0] + qty)
            pos[0] += qty
        elif pos[0] <= 1e-12:
            orphans += 1
        else:
            qty = min(qty, pos[0])
            expected_gross += side * (price - pos[1]) * qty
            pos[0] -= qty
            if pos[0] <= 1e-12:
                pos[0] = 0.0
        order_side = side if is_open else -side
        fills.append(Fill(row=k + 2, time=t0 + timedelta(minutes=k), symbol="ETHUSDT", side=order_side,
                          quantity=qty, price=float(price), effect="open" if is_open else "close"))
    g = group_positions(fills)
    assert len(g.orphan_fills) == orphans
    booked = [f for f in fills if all(f is not o for o, _ in g.orphan_fills)]
    assert sum(p.opened_qty + p.closed_qty for p in g.positions) == pytest.approx(sum(f.quantity for f in booked))
    assert all(p.closed_qty <= p.opened_qty + 1e-9 for p in g.positions)
    assert sum(p.gross for p in g.positions) == pytest.approx(expected_gross, abs=1e-6)


BYBIT_HISTORY_HEADER = ("Contracts,Order No.,Transaction Time(UTC+0),Leverage,Direction,Order Type,Filled Type,Filled Qty,"
                        "Filled Price,Order Price,Trading Fee Rate,Fees Paid,Transaction ID")
BYBIT_CLOSED_HEADER = "Contracts,Closing Direction,Qty,Entry Price,Exit Price,Closed P&L,Exit Type,Trade Time(UTC+0)"


def test_bybit_partial_closed_pnl_rows_and_the_fills_reconcile(tmp_path):
    """Opened long 0.5 BTC at 40,000 and 0.5 at 42,000 (fees 10.00 and 10.50: average 41,000), closed
    0.4 at 43,000 (fee 8.60) and 0.6 at 44,000 (fee 13.20). Gross 0.4 × 2,000 + 0.6 × 3,000 = 2,600.
    Bybit's Closed P&L prints one row per closing order, net; this file gives each the closed part's
    share of the opening fees (an allocation assumed here, not checked on a real partial close):
    800 − 8.20 − 8.60 = 783.20 and 1,800 − 12.30 − 13.20 = 1,774.50. The Closed P&L
    reader books the two rows (2,557.70); the Trade History reader books one position (quantity 1,
    entry 41,000, exit 43,600) whose net is the same 2,557.70."""
    history = tmp_path / "history.csv"
    history.write_text("\n".join([BYBIT_HISTORY_HEADER,
        "BTCUSDT,o4,2024-01-04 10:00:00,10,Close Long,Market,Trade,0.6,44000,44000,0.0005,13.2,t4",
        "BTCUSDT,o3,2024-01-03 10:00:00,10,Close Long,Market,Trade,0.4,43000,43000,0.0005,8.6,t3",
        "BTCUSDT,o2,2024-01-02 10:00:00,10,Open Long,Market,Trade,0.5,42000,42000,0.0005,10.5,t2",
        "BTCUSDT,o1,2024-01-01 10:00:00,10,Open Long,Market,Trade,0.5,40000,40000,0.0005,10,t1"]) + "\n")
    closed = tmp_path / "closed.csv"
    closed.write_text("\n".join([BYBIT_CLOSED_HEADER,
        "BTCUSDT,Close Long,0.6,41000.00,44000.00,1774.50000000,Trade,2024-01-04 10:00:00",
        "BTCUSDT,Close Long,0.4,41000.00,43000.00,783.20000000,Trade,2024-01-03 10:00:00"]) + "\n")
    rows = bybit_closed_pnl.read(closed)
    assert [(t.quantity, t.entry, t.exit, t.net_profit) for t in rows.trades] == [
        (0.6, 41000, 44000, 1774.5), (0.4, 41000, 43000, 783.2)]
    assert net(rows.trades) == 2557.70 and all(c.ok for c in rows.checks)
    [position] = bybit_trades.read(history).trades
    assert (position.side, position.quantity, position.entry, position.exit, position.profit) == (
        "long", 1.0, 41000, 43600, 2600)
    assert position.commission == pytest.approx(-42.3) and round(position.net_profit, 2) == 2557.70
    assert position.comment == "2 closing orders"


def test_bybit_real_closed_pnl_rows_each_close_one_position():
    """The real pair of exports holds no partial close: each of the 52 Closed P&L rows is the only
    row of one position grouped from the fills (same symbol and side, closed while it was open)."""
    closed_rows = list(csv.DictReader(shared_statement(
        "bybit_usdt_perpetual/ShichidaNael_BybitClosedPNLUSDTPerpetual20220223-20220516.csv").open(newline="")))
    s = bybit_trades.read(shared_statement(
        "bybit_usdt_perpetual/ShichidaNael_BybitTradeHistoryUSDTPerpetual20220223-20220516.csv"))
    counts = []
    for t in (t for t in s.trades if t.is_closed):
        side = "Close Long" if t.side == "long" else "Close Short"
        counts.append(sum(1 for r in closed_rows if r["Contracts"] == t.symbol and r["Closing Direction"] == side
                          and t.open_time <= datetime.fromisoformat(r["Trade Time(UTC+0)"]) <= t.close_time))
    assert counts == [1] * 52
    total = sum(Decimal(r["Closed P&L"]) for r in closed_rows)
    assert round(total, 2) == Decimal("-2691.28")


# =========================================================================== the journal, end to end

def test_fill_puts_linked_mt4_tickets_and_a_partly_closed_mt5_position_in_the_journal(tmp_path):
    """`python -m addin fill` on the MT4 partial close and the MT5 partly closed position: the
    journal holds the two MT4 tickets with their links in Flags and 800.00 of profit, and one open
    MT5 row of 0.7 lots naming the 0.3 closed; every statement total matches (exit code 0)."""
    import subprocess
    import sys

    from journal_reader import read_journal

    mt4 = _mt4_partial(tmp_path)
    mt5 = _hedge_partly_closed(tmp_path)
    journal = tmp_path / "Journal.xlsx"
    run = subprocess.run([sys.executable, "-m", "addin", "fill", str(mt4), str(mt5), "--journal", str(journal),
                          "--no-progress"], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "MISMATCH" not in run.stdout
    rows = {t.trade_id: t for t in read_journal(journal).trades}
    assert set(rows) == {"100", "101", "6001"}
    assert rows["101"].flags == ("remainder of ticket #100 after a partial close (0.40 lots closed there)",)
    assert rows["100"].flags[0] == "partly closed: the remaining 0.60 lots continue as ticket #101"
    assert rows["100"].profit + rows["101"].profit == pytest.approx(800.0)
    assert rows["6001"].quantity == 0.7 and not rows["6001"].is_closed
    assert any(f.startswith("partly closed: 0.3 of 1 lots closed at 1.245") for f in rows["6001"].flags)
