"""Realistic, varied synthetic trades for tests and benchmarks (a developer's tool, not installed).

:func:`sample_trades` mixes FX majors and crosses (JPY pairs included, with their conversion rate
to a USD account), gold, index CFDs, crypto CFDs and futures with month codes (MNQZ4, ESH5, MGCG5);
long and short; some trades without a stop, some still open, some with the broker's suffix on the
symbol; equity, leverage and contract size given on some and left to the journal on others.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from addin.statements.model import BalanceEvent, SourceRef, Trade

# symbol: (price, digits, contract size, fx to USD (None: 1/price), typical lots, stop distance as a fraction)
_SYMBOLS = {
    "EURUSD": (1.0850, 5, 100_000, 1.0, (0.05, 2.0), 0.004),
    "GBPUSD": (1.2700, 5, 100_000, 1.0, (0.05, 1.5), 0.005),
    "USDJPY": (150.20, 3, 100_000, None, (0.05, 1.5), 0.005),
    "EURJPY": (162.80, 3, 100_000, 1 / 150.2, (0.05, 1.0), 0.005),
    "GBPJPY": (190.50, 3, 100_000, 1 / 150.2, (0.05, 0.8), 0.006),
    "AUDUSD": (0.6600, 5, 100_000, 1.0, (0.05, 1.5), 0.005),
    "EURGBP": (0.8540, 5, 100_000, 1.27, (0.05, 1.0), 0.003),
    "USDCAD": (1.3600, 5, 100_000, None, (0.05, 1.0), 0.004),
    "XAUUSD": (2300.0, 2, 100, 1.0, (0.01, 0.5), 0.006),
    "US30": (39000.0, 1, 1, 1.0, (0.1, 5.0), 0.005),
    "NAS100": (18000.0, 1, 1, 1.0, (0.1, 5.0), 0.006),
    "GER40": (18200.0, 1, 1, 1.08, (0.1, 5.0), 0.005),
    "BTCUSD": (60000.0, 1, 1, 1.0, (0.01, 0.3), 0.02),
    "MNQZ4": (18000.0, 2, 2, 1.0, (1, 3), 0.004),
    "ESH5": (5000.0, 2, 50, 1.0, (1, 2), 0.004),
    "MGCG5": (2300.0, 1, 10, 1.0, (1, 3), 0.006),
}
_WEIGHTS = {"EURUSD": 20, "GBPUSD": 10, "USDJPY": 10, "EURJPY": 5, "GBPJPY": 4, "AUDUSD": 6, "EURGBP": 4,
            "USDCAD": 5, "XAUUSD": 10, "US30": 6, "NAS100": 5, "GER40": 5, "BTCUSD": 3, "MNQZ4": 4,
            "ESH5": 2, "MGCG5": 2}
_SUFFIXES = ("", "", "", "", ".m", "pro")


def sample_trades(n: int = 200, seed: int = 1, broker: str = "Sample Markets Ltd",
                  account: str = "30571942") -> list[Trade]:
    rnd = random.Random(seed)
    names = list(_WEIGHTS)
    weights = [_WEIGHTS[s] for s in names]
    t = datetime(2024, 1, 2, 8, 0, 0)
    equity = 10_000.0
    out: list[Trade] = []
    for k in range(n):
        sym = rnd.choices(names, weights)[0]
        price, digits, contract, fx, (lo, hi), stop_frac = _SYMBOLS[sym]
        is_future = sym in ("MNQZ4", "ESH5", "MGCG5")
        entry = round(price * (1 + rnd.gauss(0, 0.02)), digits)
        side = rnd.choice(("long", "short"))
        sgn = 1 if side == "long" else -1
        qty = float(rnd.randint(int(lo), int(hi))) if is_future else round(rnd.uniform(lo, hi), 2)
        dist = entry * stop_frac * rnd.uniform(0.5, 2.0)
        wide = rnd.random() < 0.04  # a stop far away: beyond the stop-out on a small account
        stop = round(entry - sgn * dist * (25 if wide else 1), digits) if rnd.random() > 0.1 else None
        if stop is not None and stop <= 0:
            stop = round(entry * 0.05, digits)
        target = round(entry + sgn * dist * rnd.uniform(1, 3), digits) if rnd.random() > 0.3 else None
        is_open = k >= n - 3 or rnd.random() < 0.04
        open_time = t + timedelta(minutes=rnd.randint(0, 600))
        t = open_time + timedelta(hours=rnd.randint(1, 30))
        rate = fx if fx is not None else 1 / entry
        exit_ = close = profit = None
        commission = swap = 0.0
        if not is_open:
            r = rnd.gauss(0.2, 1.1)
            move = r * (abs(entry - stop) if stop else dist)
            exit_ = round(max(entry + sgn * move, entry * 0.5), digits)
            close = t
            profit = round(sgn * (exit_ - entry) * qty * contract * rate, 2)
            commission = -round(7.0 * qty, 2) if not is_future else -round(1.24 * qty, 2)
            swap = round(rnd.uniform(-5, 2), 2) if rnd.random() < 0.3 else 0.0
        leverage = rnd.choice((None, None, 30.0, 100.0, 500.0))
        small = rnd.random() < 0.05
        flags: tuple[str, ...] = ()
        if leverage is None:
            flags = ("account leverage assumed",)
        out.append(Trade(
            broker=broker, account=account, trade_id=str(50_000_000 + k * 7), symbol=sym + rnd.choice(_SUFFIXES),
            side=side, quantity=qty, entry=entry, open_time=open_time, close_time=close, exit=exit_, stop=stop,
            target=target, commission=commission, swap=swap, profit=profit, account_currency="USD",
            quote_currency="USD" if fx == 1.0 else None,
            fx_to_account=None if fx == 1.0 else round(rate, 8),
            contract_size=float(contract) if rnd.random() < 0.6 else None,
            asset_class="FUTURE" if is_future and rnd.random() < 0.5 else None,
            equity=(1_000.0 if small else round(equity, 2)) if rnd.random() < 0.6 else None,
            leverage=leverage, comment=rnd.choice(("", "", "breakout", "news", "[sl]")), flags=flags,
            source=SourceRef(file="sample.htm", row=k + 10, section="Closed Transactions" if not is_open else "Open Trades"),
        ))
        if profit is not None:
            equity += profit + commission + swap
    return out


def sample_cash(trades: list[Trade], file: str = "sample.htm") -> list[BalanceEvent]:
    """Cash movements around ``trades`` (deterministic, by the trades' own times): the opening
    deposit before the first trade, a deposit a third of the way in, a withdrawal two thirds in, a
    credit booked at the very second a trade closed (the boundary of the Balance window), a fee
    after the last trade and an undated adjustment; listed out of time order, as a merge can leave
    them."""
    closes = sorted(t.close_time for t in trades if t.close_time is not None)
    opens = sorted(t.open_time for t in trades if t.open_time is not None)
    if not closes or not opens:
        return []

    def ev(k: int, when, amount: float, kind: str) -> BalanceEvent:
        return BalanceEvent(time=when, amount=amount, kind=kind, source=SourceRef(file=file, row=k + 1))

    third = closes[len(closes) // 3]
    return [
        ev(1, third + timedelta(minutes=5), 5_000.0, "deposit"),
        ev(0, opens[0] - timedelta(hours=2), 10_000.0, "deposit"),
        ev(2, closes[2 * len(closes) // 3] + timedelta(minutes=1), -2_500.0, "withdrawal"),
        ev(3, closes[len(closes) // 2], 125.5, "credit"),
        ev(4, closes[-1] + timedelta(days=1), -35.25, "fee"),
        ev(5, None, 10.0, "adjustment"),
    ]


def edge_trades(broker: str = "Edge Broker") -> list[Trade]:
    """Trades that exercise the journal's corners: formula-like text from a statement, a trade with
    nothing optional (no stop, no exit, no equity, no leverage, unknown symbol), a crypto CFD (barred
    by the FCA), a stop far beyond the stop-out price on a small account, a short JPY cross."""
    src = SourceRef(file="edge.csv", row=1)
    return [
        Trade(broker=broker, account="+4412345", trade_id="=1+1", symbol='=HYPERLINK("http://evil.example","x")',
              side="long", quantity=1, entry=1.1, stop=1.09, exit=1.105, close_time=datetime(2024, 3, 1, 12),
              open_time=datetime(2024, 3, 1, 9), profit=50.0, comment="@SUM(1)", flags=("-2+3", "=A1"),
              source=SourceRef(file="=cmd|' /C calc'!A0", row=2, section="@SUM(1)")),
        Trade(broker=broker, trade_id="bare-1", symbol="NOSUCH", side="short", quantity=3, entry=42.0,
              source=src),
        Trade(broker=broker, trade_id="btc-1", symbol="BTCUSD", side="long", quantity=0.2, entry=60_000,
              stop=58_000, exit=61_000, profit=200.0, open_time=datetime(2024, 5, 1, 10),
              close_time=datetime(2024, 5, 2, 10), equity=5_000, leverage=2, asset_class="CRYPTO", source=src),
        Trade(broker=broker, trade_id="wide-1", symbol="EURUSD.m", side="long", quantity=2, entry=1.1,
              stop=1.0, equity=1_000, leverage=500, open_time=datetime(2024, 6, 3, 8), source=src),
        Trade(broker=broker, trade_id="jpy-1", symbol="EURJPY", side="short", quantity=0.5, entry=162.5,
              stop=163.2, target=160.0, exit=161.9, profit=200.5, fx_to_account=1 / 150.0, commission=-3.5,
              swap=-1.2, taxes=-0.5, open_time=datetime(2024, 7, 1, 8), close_time=datetime(2024, 7, 2, 8),
              source=src),
        Trade(broker=broker, trade_id="mnq-1", symbol="MNQZ4", side="long", quantity=2, entry=20_000.25,
              stop=19_950.0, exit=20_040.5, profit=161.0, commission=-2.48, open_time=datetime(2024, 11, 1, 15),
              close_time=datetime(2024, 11, 1, 16), source=src),
    ]
