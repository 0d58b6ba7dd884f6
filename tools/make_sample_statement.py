"""A synthetic MetaTrader 4 "Detailed Statement", in the terminal's real HTML layout.

:func:`write_mt4_statement` writes a statement that :mod:`addin.statements.mt4_html` reads like a real
export: the same table, section titles, row shapes (alternating grey rows, ``title`` notes on the
ticket cell, ``balance`` rows with a spanning comment, a cancelled pending order with its
``colspan=4`` "cancelled" cell, totals and "Closed P/L" rows), a filled ``Leverage: 1:30`` header,
an open trade, and a Summary and Details block whose figures add up.

Profits follow from the prices, so a reader can derive the conversion rate from profit / move:

* EURUSD, GBPUSD, AUDUSD: ``(exit - entry) * side * lots * 100000`` USD;
* USDJPY: the same in JPY, converted at ``1 / exit`` (profit = yen / exit price);
* XAUUSD: contract 100 oz; US30 (index CFD): contract 1 USD per point.

The file is built from plain strings and streamed, so 100,000 trades take about a second
(``python -m tools.make_sample_statement out.htm 100000`` from the checkout). The sample bundled with
the package, ``addin/samples/sample_statement.htm`` (``fill --sample`` reads it), is
``write_mt4_statement(path, trades=40, seed=7)``, the default here.
"""

from __future__ import annotations

import math
import random
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout

BROKER = "Sample Markets Ltd"
ACCOUNT = "30571942"
NAME = "Sample Trader"
CURRENCY = "USD"
LEVERAGE = 30
FIRST_DEPOSIT = 10_000.00
SECOND_DEPOSIT = 5_000.00
START = datetime(2024, 1, 2, 8, 0, 0)

# symbol: (start price, digits, contract size, quote is JPY, hourly volatility (fraction),
#          stop distance range, commission per lot round turn, swap per lot per night long/short)
SYMBOLS = {
    "eurusd": (1.0950, 5, 100_000, False, 0.0012, (0.0015, 0.0045), -7.00, (-6.90, 2.10)),
    "gbpusd": (1.2700, 5, 100_000, False, 0.0014, (0.0018, 0.0055), -7.00, (-5.40, 0.90)),
    "usdjpy": (141.50, 3, 100_000, True, 0.0013, (0.180, 0.600), -7.00, (12.20, -25.60)),
    "audusd": (0.6800, 5, 100_000, False, 0.0014, (0.0012, 0.0040), -7.00, (-3.10, -1.20)),
    "xauusd": (2060.0, 2, 100, False, 0.0020, (4.00, 14.00), -7.00, (-38.50, 21.30)),
    "us30": (37_600.0, 2, 1, False, 0.0018, (60.0, 180.0), 0.00, (-6.20, -1.10)),
}
_WEIGHTS = {"eurusd": 30, "gbpusd": 18, "usdjpy": 16, "audusd": 12, "xauusd": 14, "us30": 10}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

_HEAD = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
<html>
  <head>
    <title>Statement: {account} - {name}</title>
    <meta name="generator" content="MetaQuotes Software Corp.">
    <link rel="help" href="http://www.metaquotes.net">
    <style type="text/css" media="screen">
    <!--
    td {{ font: 8pt Tahoma,Arial; }}
    //-->
    </style>
    <style type="text/css" media="print">
    <!--
    td {{ font: 7pt Tahoma,Arial; }}
    //-->
    </style>
    <style type="text/css">
    <!--
    .msdate {{ mso-number-format:"General Date"; }}
    .mspt   {{ mso-number-format:\\#\\,\\#\\#0\\.00;  }}
    //-->
    </style>
  </head>
<body topmargin=1 marginheight=1>
<div align=center>
<div style="font: 20pt Times New Roman"><b>{broker}</b></div><br>


<table cellspacing=1 cellpadding=3 border=0>
<tr align=left>
    <td colspan=2><b>Account: {account}</b></td>
    <td colspan=5><b>Name: {name}</b></td>
    <td colspan=2><b>Currency: {currency}</b></td>
    <td colspan=2><b>Leverage: 1:{leverage}</b></td>
    <td colspan=3 align=right><b>{date}</b></td></tr>

<tr align=left><td colspan=13><b>Closed Transactions:</b></td></tr>
<tr align=center bgcolor="#C0C0C0">
   <td>Ticket</td><td nowrap>Open Time</td><td>Type</td><td>Size</td><td>Item</td>
   <td>Price</td><td>S / L</td><td>T / P</td><td nowrap>Close Time</td>
   <td>Price</td><td>Commission</td><td>Taxes</td><td>Swap</td><td>Profit</td></tr>
"""


def _money(x: float) -> str:
    s = f"{x:,.2f}".replace(",", " ")
    return "0.00" if s == "-0.00" else s


def _when(t: datetime) -> str:
    return f"{t.year:04d}.{t.month:02d}.{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def _price_td(p: float, digits: int) -> str:
    return f'<td style="mso-number-format:0\\.{"0" * digits};">{p:.{digits}f}</td>'


def _tr_open(n: int) -> str:
    return "<tr bgcolor=#E0E0E0 align=right>" if n % 2 else "<tr align=right>"


def _weekday(t: datetime) -> datetime:
    """Move a time falling on a weekend to Monday 01:00."""
    wd = t.weekday()
    if wd >= 5:
        t = (t + timedelta(days=7 - wd)).replace(hour=1, minute=0)
    return t


def write_mt4_statement(path: str | Path, trades: int = 40, seed: int = 7) -> Path:
    """Write an MT4 Detailed Statement with ``trades`` closed trades (plus two deposits, a cancelled
    pending order per 50 trades and one open trade) to ``path``; same ``seed``, same bytes."""
    if trades < 1:
        raise ValueError("trades must be at least 1")
    path = Path(path)
    rnd = random.Random(seed)
    symbols = list(_WEIGHTS)
    weights = [_WEIGHTS[s] for s in symbols]
    price = {s: SYMBOLS[s][0] for s in symbols}
    ticket = 48_210_000
    t = START
    row_n = 0  # rows written in Closed Transactions, for the alternating background

    tot_commission = tot_swap = tot_profit = 0.0
    deposits = 0.0
    closed_pnl = 0.0
    # Details statistics
    gross_profit = gross_loss = 0.0
    wins = losses = shorts = longs = short_wins = long_wins = 0
    largest_win = largest_loss = 0.0
    run_kind, run_len, run_sum = 0, 0, 0.0
    max_wins = max_losses = 0
    max_wins_sum = max_losses_sum = 0.0
    max_profit_run = max_loss_run = 0.0
    max_profit_run_n = max_loss_run_n = 0
    win_runs: list[int] = []
    loss_runs: list[int] = []
    balance = peak = 0.0
    max_dd = max_dd_pct = 0.0
    min_balance_after_first = None

    buf: list[str] = []
    body = path.with_name(path.name + ".part")
    with body.open("w", encoding="utf-8", newline="\n") as fh:

        def flush() -> None:
            fh.write("".join(buf))
            buf.clear()

        def balance_row(when: datetime, amount: float, text: str) -> None:
            nonlocal ticket, row_n, deposits, balance, peak
            ticket += rnd.randint(3, 40)
            buf.append(f'{_tr_open(row_n)}<td title="{text}">{ticket}</td><td class=msdate nowrap>'
                       f'{_when(when)}</td><td>balance</td><td colspan=10 align=left>{text}</td>'
                       f'<td class=mspt>{_money(amount)}</td></tr>\n')
            row_n += 1
            deposits += amount
            balance += amount
            peak = max(peak, balance)

        def close_run() -> None:
            nonlocal max_wins, max_losses, max_wins_sum, max_losses_sum
            nonlocal max_profit_run, max_loss_run, max_profit_run_n, max_loss_run_n
            if run_kind > 0:
                win_runs.append(run_len)
                if run_len > max_wins or (run_len == max_wins and run_sum > max_wins_sum):
                    max_wins, max_wins_sum = run_len, run_sum
                if run_sum > max_profit_run:
                    max_profit_run, max_profit_run_n = run_sum, run_len
            elif run_kind < 0:
                loss_runs.append(run_len)
                if run_len > max_losses or (run_len == max_losses and run_sum < max_losses_sum):
                    max_losses, max_losses_sum = run_len, run_sum
                if run_sum < max_loss_run:
                    max_loss_run, max_loss_run_n = run_sum, run_len

        balance_row(START - timedelta(hours=2), FIRST_DEPOSIT, "Deposit")
        for i in range(trades):
            if i == trades // 2 and i > 0:
                balance_row(t + timedelta(minutes=5), SECOND_DEPOSIT, "Deposit")
            sym = rnd.choices(symbols, weights)[0]
            _, digits, contract, jpy, vol, (lo, hi), comm_rate, (swap_long, swap_short) = SYMBOLS[sym]
            t = _weekday(t + timedelta(minutes=rnd.randint(25, 540)))
            # the market walks between trades
            p = price[sym] * math.exp(rnd.gauss(0.0, vol * 2.0))

            if i % 50 == 17:  # a pending order placed, then cancelled
                ticket += rnd.randint(3, 40)
                kind = rnd.choice(("buy limit", "sell limit", "buy stop", "sell stop"))
                dist = round(rnd.uniform(lo, hi), digits)
                below = kind in ("buy limit", "sell stop")
                level = round(p - dist if below else p + dist, digits)
                sl = round(level - dist if kind.startswith("buy") else level + dist, digits)
                tp = round(level + 2 * dist if kind.startswith("buy") else level - 2 * dist, digits)
                cancelled = t + timedelta(minutes=rnd.randint(30, 600))
                lots_c = max(0.01, round(rnd.uniform(0.1, 1.0), 2))
                buf.append(f'{_tr_open(row_n)}<td title="cancelled">{ticket}</td><td class=msdate nowrap>'
                           f'{_when(t)}</td><td>{kind}</td><td class=mspt>{lots_c:.2f}</td><td>{sym}</td>'
                           f'{_price_td(level, digits)}{_price_td(sl, digits)}{_price_td(tp, digits)}'
                           f'<td class=msdate nowrap>{_when(cancelled)}</td>{_price_td(round(p, digits), digits)}'
                           f'<td colspan=4>cancelled</td></tr>\n')
                row_n += 1
                t += timedelta(minutes=rnd.randint(5, 60))

            ticket += rnd.randint(3, 40)
            side = 1 if rnd.random() < 0.55 else -1
            entry = round(p, digits)
            sl_dist = round(rnd.uniform(lo, hi), digits)
            tp_dist = round(sl_dist * rnd.uniform(1.0, 2.4), digits)
            has_stops = rnd.random() < 0.85
            usd_per_unit = contract / entry if jpy else contract
            risk = rnd.uniform(40.0, 160.0)
            lots = min(50.0, max(0.01, round(risk / (sl_dist * usd_per_unit), 2)))
            note = ""
            r = rnd.random()
            if has_stops:
                stop = round(entry - side * sl_dist, digits)
                target = round(entry + side * tp_dist, digits)
                if r < 0.40:
                    exit_, note = target, "[tp]"
                elif r < 0.78:
                    exit_, note = stop, "[sl]"
                else:
                    exit_ = round(entry + side * rnd.uniform(-0.8 * sl_dist, 0.9 * tp_dist), digits)
            else:
                stop = target = 0.0
                exit_ = round(entry + side * rnd.gauss(0.1 * sl_dist, sl_dist), digits)
            if exit_ <= 0:
                exit_ = round(entry, digits)
            minutes = max(1, int(rnd.expovariate(1 / 420)))
            closed_at = t + timedelta(minutes=minutes, seconds=rnd.randint(0, 59))
            opened_at = t + timedelta(seconds=rnd.randint(0, 59))
            move = (exit_ - entry) * side * lots * contract
            profit = round(move / exit_ if jpy else move, 2)
            commission = round(comm_rate * lots, 2)
            nights = (closed_at.date() - opened_at.date()).days
            swap = round(nights * lots * (swap_long if side > 0 else swap_short), 2)
            price[sym] = exit_

            buf.append(f'{_tr_open(row_n)}<td title="{note}">{ticket}</td><td class=msdate nowrap>'
                       f'{_when(opened_at)}</td><td>{"buy" if side > 0 else "sell"}</td>'
                       f'<td class=mspt>{lots:.2f}</td><td>{sym}</td>{_price_td(entry, digits)}'
                       f'{_price_td(stop, digits)}{_price_td(target, digits)}'
                       f'<td class=msdate nowrap>{_when(closed_at)}</td>{_price_td(exit_, digits)}'
                       f'<td class=mspt>{_money(commission)}</td><td class=mspt>0.00</td>'
                       f'<td class=mspt>{_money(swap)}</td><td class=mspt>{_money(profit)}</td></tr>\n')
            row_n += 1
            if len(buf) >= 2000:
                flush()

            # ---- running figures, in cents to keep the sums exact
            net = round(profit + commission + swap, 2)
            tot_commission += commission
            tot_swap += swap
            tot_profit += profit
            closed_pnl += net
            balance += net
            if balance > peak:
                peak = balance
            elif peak - balance > max_dd:
                max_dd = peak - balance
                max_dd_pct = 100.0 * max_dd / peak
            min_balance_after_first = balance if min_balance_after_first is None else min(min_balance_after_first, balance)
            if side < 0:
                shorts += 1
            else:
                longs += 1
            kind_now = 1 if net > 0 else -1
            if net > 0:
                wins += 1
                gross_profit += net
                largest_win = max(largest_win, net)
                if side < 0:
                    short_wins += 1
                else:
                    long_wins += 1
            else:
                losses += 1
                gross_loss += net
                largest_loss = min(largest_loss, net)
            if kind_now == run_kind:
                run_len += 1
                run_sum += net
            else:
                close_run()
                run_kind, run_len, run_sum = kind_now, 1, net
            t = opened_at
        close_run()

        # ---- closed totals
        buf.append(f"""

<tr align=right>
    <td colspan=10>&nbsp;</td>
    <td class=mspt>{_money(tot_commission)}</td>
    <td class=mspt>0.00</td>
    <td class=mspt>{_money(tot_swap)}</td>
    <td class=mspt>{_money(tot_profit)}</td>
</tr>

<tr align=right>
    <td colspan=12 align=right><b>Closed P/L:</b></td>
    <td colspan=2 align=right title="Commission + Swap + Profit + Taxes" class=mspt><b>{_money(closed_pnl)}</b></td>
</tr>
""")

        # ---- one open EURUSD trade
        ticket += rnd.randint(3, 40)
        o_digits, o_contract = SYMBOLS["eurusd"][1], SYMBOLS["eurusd"][2]
        o_entry = round(price["eurusd"], o_digits)
        o_market = round(o_entry + rnd.uniform(-0.0012, 0.0018), o_digits)
        o_lots = 0.50
        o_time = _weekday(t + timedelta(minutes=rnd.randint(20, 200)))
        o_commission = round(SYMBOLS["eurusd"][6] * o_lots, 2)
        o_profit = round((o_market - o_entry) * o_lots * o_contract, 2)
        floating = round(o_profit + o_commission, 2)
        margin = round(o_lots * o_contract * o_entry / LEVERAGE, 2)
        report_time = o_time + timedelta(hours=3)
        buf.append(f"""
<tr align=left><td colspan=14><b>Open Trades:</b></td></tr>
<tr align=center bgcolor="#C0C0C0">
    <td>Ticket</td><td nowrap>Open Time</td><td>Type</td><td>Size</td><td>Item</td>
    <td>Price</td><td>S / L</td><td>T / P</td><td>&nbsp;</td>
    <td>Price</td><td>Commission</td><td>Taxes</td><td>Swap</td><td>Profit</td></tr>
<tr align=right><td title="">{ticket}</td><td class=msdate nowrap>{_when(o_time)}</td><td>buy</td><td class=mspt>{o_lots:.2f}</td><td>eurusd</td>{_price_td(o_entry, o_digits)}{_price_td(round(o_entry - 0.0030, o_digits), o_digits)}{_price_td(round(o_entry + 0.0060, o_digits), o_digits)}<td class=msdate nowrap>&nbsp;</td>{_price_td(o_market, o_digits)}<td class=mspt>{_money(o_commission)}</td><td class=mspt>0.00</td><td class=mspt>0.00</td><td class=mspt>{_money(o_profit)}</td></tr>


<tr align=right>
    <td colspan=10>&nbsp;</td>
    <td class=mspt>{_money(o_commission)}</td>
    <td class=mspt>0.00</td>
    <td class=mspt>0.00</td>
    <td class=mspt>{_money(o_profit)}</td>
</tr>

<tr><td colspan=10>&nbsp;</td><td colspan=2 align=right><b>Floating P/L:</b></td>
    <td colspan=2 align=right title="Commission + Swap + Profit + Taxes" class=mspt><b>{_money(floating)}</b></td></tr>

<tr align=left><td colspan=14><b>Working Orders:</b></td></tr>
<tr align=center bgcolor="#C0C0C0">
    <td>Ticket</td><td nowrap>Open Time</td><td>Type</td><td>Size</td><td>Item</td>
    <td>Price</td><td>S / L</td><td>T / P</td><td colspan=2 nowrap>Market Price</td><td colspan=4>&nbsp;</td></tr>
<tr align=right><td colspan=13 align=center>No transactions</td></tr>


<tr><td colspan=14 style="font: 1pt arial">&nbsp;</td></tr>
""")

        # ---- Summary and Details
        equity = balance + floating
        n = wins + losses
        abs_dd = max(0.0, FIRST_DEPOSIT - min(min_balance_after_first or FIRST_DEPOSIT, FIRST_DEPOSIT))
        pf = gross_profit / -gross_loss if gross_loss else 0.0
        buf.append(f"""
<tr align=left><td colspan=14><b>Summary:</b></td></tr>
<tr align=right>
    <td colspan=2><b>Deposit/Withdrawal:</b></td>
    <td colspan=2 class=mspt><b>{_money(deposits)}</b></td>
    <td colspan=4><b>Credit Facility:</b></td>
    <td class=mspt><b>0.00</b></td>
    <td colspan=5>&nbsp;</td></tr>
    
<tr align=right>
    <td colspan=2><b>Closed Trade P/L:</b></td>
    <td colspan=2 class=mspt><b>{_money(closed_pnl)}</b></td>
    <td colspan=4><b>Floating P/L:</b></td>
    <td class=mspt><b>{_money(floating)}</b></td>
    <td colspan=3><b>Margin:</b></td>
    <td colspan=2 class=mspt><b>{_money(margin)}</b></td></tr>

<tr align=right>
    <td colspan=2><b>Balance:</b></td>
    <td colspan=2 class=mspt><b>{_money(balance)}</b></td>
    <td colspan=4><b>Equity:</b></td>
    <td class=mspt><b>{_money(equity)}</b></td>
    <td colspan=3><b>Free Margin:</b></td>
    <td colspan=2 class=mspt><b>{_money(equity - margin)}</b></td></tr>
    
<tr><td colspan=14 style="font: 1pt arial">&nbsp;</td></tr>
<tr align=left><td colspan=14><b>Details:</b></td></tr>

<tr align=right>
    <td colspan=2><b>Gross Profit:</b></td>
    <td colspan=2 class=mspt><b>{_money(gross_profit)}</b></td>
    <td colspan=4><b>Gross Loss:</b></td>
    <td class=mspt><b>{_money(-gross_loss)}</b></td>
    <td colspan=3><b>Total Net Profit:</b></td>
    <td colspan=2 class=mspt><b>{_money(closed_pnl)}</b></td></tr>
    
<tr align=right>
    <td colspan=2><b>Profit Factor:</b></td>
    <td colspan=2 class=mspt><b>{pf:.2f}</b></td>
    <td colspan=4><b>Expected Payoff:</b></td>
    <td class=mspt><b>{_money(closed_pnl / n)}</b></td>
    <td colspan=5>&nbsp;</td></tr>
    
<tr align=right>
    <td colspan=2><b>Absolute Drawdown:</b></td>
    <td colspan=2 class=mspt><b>{_money(abs_dd)}</b></td>
    <td colspan=4><b>Maximal Drawdown:</b></td>
    <td class=mspt><b>{_money(max_dd)} ({max_dd_pct:.2f}%)</b></td>
    <td colspan=3><b>Relative Drawdown:</b></td>
    <td colspan=2 class=mspt><b>{max_dd_pct:.2f}% ({_money(max_dd)})</b></td></tr>

<tr><td colspan=14 style="font: 1pt arial">&nbsp;</td></tr>
    
<tr align=right>
    <td colspan=2><b>Total Trades:</b></td>
    <td colspan=2 class=mspt><b>{n}</b></td>
    <td colspan=4><b>Short Positions (won %):</b></td>
    <td class=mspt><b>{shorts} ({_pct(short_wins, shorts)})</b></td>
    <td colspan=3><b>Long Positions (won %):</b></td>
    <td colspan=2 class=mspt><b>{longs} ({_pct(long_wins, longs)})</b></td></tr>

<tr align=right>
    <td colspan=8><b>Profit Trades (% of total):</b></td>
    <td class=mspt><b>{wins} ({_pct(wins, n)})</b></td>
    <td colspan=3><b>Loss trades (% of total):</b></td>
    <td colspan=2 class=mspt><b>{losses} ({_pct(losses, n)})</b></td></tr>

<tr align=right>
    <td colspan=2><b>Largest</b></td>
    <td colspan=6><b>profit trade:</b></td>
    <td class=mspt><b>{_money(largest_win)}</b></td>
    <td colspan=3><b>loss trade:</b></td>
    <td colspan=2 class=mspt><b>{_money(largest_loss)}</b></td></tr>

<tr align=right>
    <td colspan=2><b>Average</b></td>
    <td colspan=6><b>profit trade:</b></td>
    <td class=mspt><b>{_money(gross_profit / wins if wins else 0.0)}</b></td>
    <td colspan=3><b>loss trade:</b></td>
    <td colspan=2 class=mspt><b>{_money(gross_loss / losses if losses else 0.0)}</b></td></tr>

<tr align=right>
    <td colspan=2><b>Maximum</b></td>
    <td colspan=6><b>consecutive wins ($):</b></td>
    <td class=mspt><b>{max_wins} ({_money(max_wins_sum)})</b></td>
    <td colspan=3><b>consecutive losses ($):</b></td>
    <td colspan=2 class=mspt><b>{max_losses} ({_money(max_losses_sum)})</b></td></tr>

<tr align=right>
    <td colspan=2><b>Maximal</b></td>
    <td colspan=6><b>consecutive profit (count):</b></td>
    <td class=mspt><b>{_money(max_profit_run)} ({max_profit_run_n})</b></td>
    <td colspan=3><b>consecutive loss (count):</b></td>
    <td colspan=2 class=mspt><b>{_money(max_loss_run)} ({max_loss_run_n})</b></td></tr>

<tr align=right>
    <td colspan=2><b>Average</b></td>
    <td colspan=6><b>consecutive wins:</b></td>
    <td class=mspt><b>{_avg(win_runs)}</b></td>
    <td colspan=3><b>consecutive losses:</b></td>
    <td colspan=2 class=mspt><b>{_avg(loss_runs)}</b></td></tr>
</table>
</div></body></html>
""")
        head = _HEAD.format(account=ACCOUNT, name=NAME, currency=CURRENCY, leverage=LEVERAGE,
                            broker=BROKER, date=f"{report_time.year} {_MONTHS[report_time.month - 1]} "
                                                f"{report_time.day:02d}, {report_time:%H:%M}")
        flush()
    # The header carries the report date, known only at the end: write it, then stream the body.
    try:
        with path.open("wb") as out, body.open("rb") as src:
            out.write(head.encode("utf-8"))
            shutil.copyfileobj(src, out, 1 << 20)
    finally:
        body.unlink(missing_ok=True)
    return path


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.2f}%" if n else "0.00%"


def _avg(runs: list[int]) -> int:
    return round(sum(runs) / len(runs)) if runs else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.make_sample_statement [OUT.htm] [TRADES] [SEED]``; default: rewrite the bundled sample."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else ROOT / "addin" / "samples" / "sample_statement.htm"
    trades = int(args[1]) if len(args) > 1 else 40
    seed = int(args[2]) if len(args) > 2 else 7
    out.parent.mkdir(parents=True, exist_ok=True)
    write_mt4_statement(out, trades=trades, seed=seed)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
