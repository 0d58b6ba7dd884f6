"""One margin model per instrument kind, checked against cases solved by hand and MetaTrader's own
documented formulas.

MetaTrader (MQL5 reference, ENUM_SYMBOL_CALC_MODE, SYMBOL_CALC_MODE_FOREX): margin = Lots ×
Contract_Size / Leverage, in the pair's base currency; profit = (close − open) × Contract_Size × Lots,
in the quote currency; each converted into the account currency at the current rate. So when the
account currency is the base currency (USDJPY or USDCHF in a USD account, EURUSD in a EUR account)
the margin is constant as the price moves and the profit is converted at 1/price.

The "exact algebra" below is worked with fractions.Fraction from those definitions, not from our
closed forms: equity(P) = equity + side × (P − entry) × lots × contract / P and the stop-out is where
equity(P) = level × margin. For a long that is (entry − P) × Q / P = equity − T, so P = entry × Q / (Q + equity − T);
for a short (P − entry) × Q / P = equity − T, so P = entry × Q / (Q − (equity − T)).
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from addin import risk
from addin.udfs import MARGIN_CALL_PRICE, MARGIN_REQUIRED, MAX_POSITION_SIZE, PROFIT_AT_PRICE, STOP_OUT_PRICE, WIPEOUT_MOVE


def exact_base_stop_out(side: int, entry: str, lots: str, contract: int, leverage: int, equity: str,
                        level: str) -> F:
    """The stop-out price of a base-currency account, solved with exact fractions (see the module doc)."""
    q = F(lots) * contract
    margin = q / leverage  # MetaTrader: Lots x Contract_Size / Leverage, base (= account) currency
    cushion = F(equity) - F(level) * margin  # what the position may lose before the level
    return F(entry) * q / (q + cushion) if side == 1 else F(entry) * q / (q - cushion)


def mt_margin_level(side: int, entry: F, price: F, q: F, leverage: int, equity: F) -> F:
    """Margin level at ``price`` by MetaTrader's definitions for a base-currency account."""
    profit_quote = side * (price - entry) * q  # (close - open) x Contract_Size x Lots, quote currency
    profit_account = profit_quote / price  # converted at the current price
    return (equity + profit_account) / (q / leverage)


CASES = [
    # pair / account, side, entry, lots, leverage, equity, level
    ("USDJPY / USD long", 1, "150.00", "1", 100, "2000", "0.5"),
    ("USDJPY / USD short", -1, "150.00", "1", 100, "2000", "0.5"),
    ("USDCHF / USD long", 1, "0.9000", "1", 30, "5000", "0.5"),
    ("USDCHF / USD short, margin call", -1, "0.9000", "0.5", 30, "3000", "1"),
    ("EURUSD / EUR long", 1, "1.1000", "2", 30, "10000", "0.5"),
    ("EURUSD / EUR short", -1, "1.1000", "2", 30, "10000", "0.5"),
]


@pytest.mark.parametrize("name, side, entry, lots, leverage, equity, level", CASES, ids=[c[0] for c in CASES])
def test_base_currency_account_stop_out_is_the_exact_solution(name, side, entry, lots, leverage, equity, level):
    want = exact_base_stop_out(side, entry, lots, 100_000, leverage, equity, level)
    got = risk.margin_call_price(side, float(entry), float(lots), float(equity), leverage, float(level), 100_000,
                                 1.0, 0.0, True)
    assert got == pytest.approx(float(want), rel=1e-12)
    # and at that price MetaTrader's margin level is the level, computed exactly
    level_there = mt_margin_level(side, F(entry), F(got), F(lots) * 100_000, leverage, F(equity))
    assert float(level_there) == pytest.approx(float(level), rel=1e-9)
    # the Excel function gives the same, with the flag as a cell holds it
    excel = STOP_OUT_PRICE("long" if side == 1 else "short", float(entry), float(lots), float(equity), float(leverage),
                           float(level), 100_000.0, 1.0, 0.0, True)
    assert excel == got
    assert MARGIN_CALL_PRICE(side, float(entry), float(lots), float(equity), float(leverage), float(level), 100_000.0,
                             None, None, [[True]]) == got


def test_usdjpy_long_by_hand():
    # 1 lot USD/JPY long at 150.00, 1:100 in a USD account: margin $1,000 whatever the price. With $2,000
    # equity the 50% stop-out leaves $500, so the position may lose $1,500: 100,000 x (150 - P) / P = 1,500,
    # 150 / P = 1.015, P = 147.7833...
    assert risk.stop_out_price(1, 150.0, 1, 2_000, 100, 0.5, 100_000, 1, 0, True) == pytest.approx(150 / 1.015, rel=1e-12)
    # The fixed-rate model (fx_rate = 1/150, margin revalued at P) puts it lower: the trader would believe
    # the position survives a deeper fall than it does.
    fixed = risk.stop_out_price(1, 150.0, 1, 2_000, 100, 0.5, 100_000, 1 / 150)
    assert fixed < 150 / 1.015
    assert 150 / 1.015 - fixed == pytest.approx(0.0436, abs=1e-3)


def test_a_short_with_margin_in_the_base_currency_can_lose_at_most_its_size():
    # short 1 lot USD/JPY in a USD account: however far USD/JPY rises the loss stays below $100,000
    # (100,000 x (P - 150) / P < 100,000), so $200,000 of equity is never stopped out
    assert isinstance(STOP_OUT_PRICE("short", 150.0, 1.0, 200_000.0, 100.0, 0.5, 100_000.0, 1.0, 0.0, True), str)
    with pytest.raises(risk.NoPrice, match="however far the price rises"):
        risk.stop_out_price(-1, 150.0, 1, 200_000, 100, 0.5, 100_000, 1, 0, True)


# --- MetaTrader's documented Forex margin: Lots x Contract_Size / Leverage in the base currency ----

@pytest.mark.parametrize("symbol, account, price, base_to_account, account_is_base, fx_rate", [
    ("USDJPY", "USD", 150.0, 1.0, True, 1.0),  # base is the account currency
    ("USDCHF", "USD", 0.9, 1.0, True, 1.0),
    ("EURUSD", "EUR", 1.1, 1.0, True, 1.0),
    ("EURUSD", "USD", 1.1, 1.1, False, 1.0),  # base EUR converted at EURUSD
    ("GBPJPY", "USD", 190.0, 190.0 / 150.0, False, 1 / 150.0),  # GBP -> USD at GBPJPY / USDJPY
])
def test_margin_is_metatraders_forex_formula(symbol, account, price, base_to_account, account_is_base, fx_rate):
    lots, contract, leverage = 2.0, 100_000.0, 50.0
    mt = lots * contract / leverage * base_to_account  # MetaTrader, converted into the account currency
    assert risk.margin_required(lots, price, leverage, contract, fx_rate, account_is_base) == pytest.approx(mt, rel=1e-12)
    assert MARGIN_REQUIRED(lots, price, leverage, contract, fx_rate, account_is_base) == pytest.approx(mt, rel=1e-12)
    # constant as the price moves when the account holds the base currency
    moved = risk.margin_required(lots, price * 1.05, leverage, contract, fx_rate, account_is_base)
    assert (moved == pytest.approx(mt)) == account_is_base
    # MAX_POSITION_SIZE inverts the same formula
    assert MAX_POSITION_SIZE(mt, price, leverage, contract, fx_rate, 0.01, account_is_base) == pytest.approx(lots)


def test_profit_converted_at_the_current_price():
    # MetaTrader: (close - open) x Contract_Size x Lots in JPY = 100,000 yen, at 151 that is $662.25
    assert PROFIT_AT_PRICE("buy", 150.0, 151.0, 1.0, 100_000.0, 1.0, 0.0, True) == pytest.approx(100_000 / 151)
    assert PROFIT_AT_PRICE("sell", 150.0, 151.0, 1.0, 100_000.0, 1.0, 0.0, True) == pytest.approx(-100_000 / 151)
    # signed: a long's target below entry is a loss; commission comes off
    assert PROFIT_AT_PRICE("long", 1.1, 1.09, 0.5, 100_000.0, 1.0, 7.0) == pytest.approx(-500 - 3.5)


# --- One model: WIPEOUT_MOVE, STOP_OUT_PRICE and SAFE_LEVERAGE agree ------------------------------

@settings(max_examples=300, deadline=None)
@given(leverage=st.floats(1.5, 500), level=st.sampled_from([0.0, 0.2, 0.5, 0.8]), side=st.sampled_from([1, -1]),
       base=st.booleans(), entry=st.floats(0.5, 200_000))
def test_wipeout_move_is_the_distance_to_the_stop_out_price_of_an_all_in_position(leverage, level, side, base, entry):
    try:
        move = risk.wipeout_move(leverage, level, side, base)
    except risk.NoPrice:
        assume(False)
    equity = risk.margin_required(1, entry, leverage, 1, 1, base)  # all in: equity = margin
    price = risk.stop_out_price(side, entry, 1, equity, leverage, level, 1, 1, 0, base)
    assert move == pytest.approx(side * (entry - price) / entry, rel=1e-9, abs=1e-12)
    closed = {(1, False): (1 - level) / (leverage - level), (-1, False): (1 - level) / (leverage + level),
              (1, True): (1 - level) / (leverage + 1 - level), (-1, True): (1 - level) / (leverage - 1 + level)}
    assert move == pytest.approx(closed[side, base], rel=1e-9)


def test_wipeout_move_published_examples_still_hold():
    assert WIPEOUT_MOVE("50:1") == pytest.approx(0.02)
    assert WIPEOUT_MOVE("10:1") == pytest.approx(0.10)
    assert WIPEOUT_MOVE(10.0, 0.0, "short") == pytest.approx(0.10)


@settings(max_examples=300, deadline=None)
@given(atr_pct=st.floats(0.0005, 0.05), multiple=st.floats(0.5, 6), level=st.sampled_from([0.0, 0.2, 0.5, 0.8]))
def test_safe_leverage_keeps_the_nearest_stop_out_exactly_atr_multiple_atrs_away(atr_pct, multiple, level):
    try:
        safe = risk.safe_leverage(atr_pct, multiple, level)
    except risk.NoPrice:
        assume(False)
    assume(safe > 1.5)
    moves = [risk.wipeout_move(safe, level, side, base) for side in (1, -1) for base in (False, True)
             if not (base and safe <= 1 - level)]
    d = multiple * atr_pct
    assert min(moves) == pytest.approx(d, rel=1e-9)
    assert all(m >= d * (1 - 1e-9) for m in moves)


def test_safe_leverage_worked_example():
    # 0.6% ATR, 3 ATRs, 50% stop-out: 0.5 / 0.018 - 0.5 = 27.28:1; the old 1 / 0.018 = 55.6:1 stops a
    # short out after 0.5 / 56.1 = 0.89%, about 1.5 ATRs instead of 3
    assert risk.safe_leverage(0.006) == pytest.approx(0.5 / 0.018 - 0.5)
    assert risk.wipeout_move(risk.safe_leverage(0.006), 0.5, -1) == pytest.approx(0.018)
    assert risk.wipeout_move(1 / 0.018, 0.5, -1) / 0.006 == pytest.approx(1.48, abs=0.01)


def test_safe_leverage_for_an_exchange_maintenance_rate():
    lev = risk.safe_leverage(0.01, 3, 0.5, 0.005)
    assert lev == pytest.approx(1 / 0.035)
    for side in (1, -1):
        price = risk.liquidation_price(side, 100.0, lev, 0.005)
        assert abs(price - 100.0) / 100.0 == pytest.approx(0.03, rel=1e-9)
