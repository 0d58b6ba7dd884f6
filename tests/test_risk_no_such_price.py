"""Where the honest answer is "no such price" (or no such ratio), the function says why instead of
returning a number a trader might act on. Each case through the risk function and the Excel function."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin import risk
from addin.udfs import (LIQUIDATION_PRICE, LIQUIDATION_PRICE_TIERED, MARGIN_RATE, MAX_POSITION_SIZE, POSITION_SIZE,
                        R_MULTIPLE, REWARD_RISK, RISK_AT_STOP, STOCK_MARGIN_CALL_PRICE)

BTCUSDT = [[0.0, 50e3, 0.004], [50e3, 600e3, 0.005], [600e3, 3e6, 0.0065]]


@pytest.mark.parametrize("side", ["long", "short"])
@pytest.mark.parametrize("inverse", [False, True])
def test_liquidation_at_or_beyond_entry_is_refused(side, inverse):
    # 250x is an initial margin of 0.4%, below the 0.5% maintenance: the position is liquidated at entry
    got = LIQUIDATION_PRICE(side, 100.0, 250.0, 0.005, inverse)
    assert got == ("no liquidation price: the initial margin (1/leverage = 0.004) is not above the maintenance "
                   "rate (0.005), so the position is liquidated at entry")
    assert isinstance(LIQUIDATION_PRICE(side, 100.0, 200.0, 0.005, inverse), str)  # equal: at entry
    assert isinstance(LIQUIDATION_PRICE(side, 100.0, 199.0, 0.005, inverse), float)


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from([1, -1]), leverage=st.floats(1.01, 1000), mmr=st.floats(0, 0.5), inverse=st.booleans())
def test_a_liquidation_price_is_always_on_the_losing_side_of_entry(side, leverage, mmr, inverse):
    try:
        price = risk.liquidation_price(side, 100.0, leverage, mmr, inverse)
    except risk.NoPrice:
        return
    assert side * (100.0 - price) > 0


def test_stock_margin_call_without_a_loan_is_refused():
    assert STOCK_MARGIN_CALL_PRICE(100.0, 1.0, 0.3) == "no margin call: with 100% initial margin nothing is borrowed (no loan)"
    assert isinstance(STOCK_MARGIN_CALL_PRICE(100.0, 0.25, 0.3), str)  # initial below maintenance: called at entry
    assert isinstance(STOCK_MARGIN_CALL_PRICE(100.0, 0.3, 0.3, "short"), str)
    assert STOCK_MARGIN_CALL_PRICE(100.0, 1.0, 0.3, "short") == pytest.approx(200 / 1.3)  # a short always borrows


def test_tiered_liquidation_beyond_the_last_bracket_is_refused():
    # 100 BTC at 60,000 with 100 USDT: liquidation notional about 6,000,000, the table stops at 3,000,000
    got = LIQUIDATION_PRICE_TIERED("long", 100.0, 60_000.0, 100.0, BTCUSDT)
    assert isinstance(got, str) and "beyond the last bracket's cap (3,000,000)" in got
    with pytest.raises(risk.NoPrice, match="beyond the last bracket"):
        risk.liquidation_price_tiered(1, 100, 60_000, 100, BTCUSDT)
    # within the table it still answers
    assert isinstance(LIQUIDATION_PRICE_TIERED("long", 1.0, 60_000.0, 6_000.0, BTCUSDT), float)


def test_tiered_liquidation_at_or_beyond_entry_is_refused():
    # a wallet below the maintenance margin: the formula's answer is above a long's entry
    got = LIQUIDATION_PRICE_TIERED("long", 1.0, 60_000.0, -500.0, BTCUSDT)
    assert isinstance(got, str) and "at or beyond entry" in got


@pytest.mark.parametrize("function", [R_MULTIPLE, REWARD_RISK])
def test_a_stop_on_the_profit_side_is_refused(function):
    got = function("long", 1.1, 1.12, 1.13)
    assert got == ("stop_price must be below entry for a long (got 1.12 against entry 1.1): a stop on the profit "
                   "side risks nothing")
    got = function("short", 1.1, 1.09, 1.05)
    assert got.startswith("stop_price must be above entry for a short")
    assert function("long", 1.1, 1.1, 1.13) == "stop_price must differ from entry (both 1.1)"  # zero risk


def test_a_target_on_the_losing_side_is_refused():
    assert REWARD_RISK("long", 1.1, 1.09, 1.05) == "target must be above entry for a long (got 1.05 against entry 1.1): no reward"
    assert REWARD_RISK("short", 1.1, 1.11, 1.12).startswith("target must be below entry for a short")
    assert isinstance(REWARD_RISK("long", 1.1, 1.09, 1.1), str)  # at entry: no reward either
    assert REWARD_RISK("long", 1.1, 1.09, 1.13) == pytest.approx(3.0)
    # R_MULTIPLE reports a losing exit as a negative R: that is its answer, not an error
    assert R_MULTIPLE("long", 1.1, 1.09, 1.08) == pytest.approx(-2.0)


@pytest.mark.parametrize("text", ["xx30xx", "x30x", "30xx", "1:30:1", "30 lots", "30%", "1/30", "3O", "1:", ":30"])
def test_leverage_text_with_digits_somewhere_in_it_is_refused(text):
    got = MARGIN_RATE(text)
    assert got == f"leverage must be a number or text like 1:30, 30:1 or 30x (got {text!r})"


@pytest.mark.parametrize("text", ["1:30", "30:1", "30x", "x30", "X30", "30", " 1 : 30 ", "30.0x", "1:30.0"])
def test_leverage_text_forms_are_read(text):
    assert MARGIN_RATE(text) == pytest.approx(1 / 30)


# --- Lot-step rounding never exceeds the budget ----------------------------------------------------

STEPS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 10.0, 100.0]


@settings(max_examples=400, deadline=None)
@given(risk_amount=st.floats(0.01, 1e7), entry=st.floats(0.0001, 200_000), stop_pct=st.floats(1e-6, 0.9),
       side=st.sampled_from([1, -1]), point_value=st.floats(0.001, 1e6), step=st.sampled_from(STEPS),
       commission=st.sampled_from([0.0, 0.5, 7.0]))
def test_position_size_never_exceeds_the_risk_budget(risk_amount, entry, stop_pct, side, point_value, step, commission):
    stop = entry * (1 - side * stop_pct)
    try:
        size = risk.position_size(risk_amount, entry, stop, point_value, step, commission)
    except OverflowError:
        return
    if size == 0:
        return
    assert risk.risk_at_stop(size, entry, stop, point_value, commission) <= risk_amount * (1 + 1e-12)
    assert POSITION_SIZE(risk_amount, entry, stop, point_value, step, commission) == size
    # a whole number of steps (to the step's decimals), and one step more would break the budget
    assert abs(size / step - round(size / step)) <= 1e-9 * max(1.0, size / step)
    assert risk.risk_at_stop(size + step, entry, stop, point_value, commission) > risk_amount * (1 - 1e-9)


@settings(max_examples=300, deadline=None)
@given(free=st.floats(1, 1e8), price=st.floats(0.0001, 200_000), leverage=st.floats(1, 1000),
       contract=st.sampled_from([1.0, 100.0, 100_000.0]), step=st.sampled_from(STEPS), base=st.booleans())
def test_max_position_size_never_exceeds_the_free_margin(free, price, leverage, contract, step, base):
    try:
        size = risk.max_position_size(free, price, leverage, contract, 1.0, step, base)
    except OverflowError:
        return
    assert risk.margin_required(size, price, leverage, contract, 1.0, base) <= free * (1 + 1e-12)
    assert MAX_POSITION_SIZE(free, price, leverage, contract, 1.0, step, base) == size


def test_a_tiny_step_on_a_big_size_does_not_round_up():
    # 1e-8 steps on ~123 lots: 1.2e10 steps. The old tolerance (1e-9 of the step count) rounded
    # 123.456789905 up to 123.45679002, 12 steps beyond the budget; now it is 123.4567899.
    size = risk.position_size(123_456.789905, 2.0, 1.0, 1_000.0, 1e-8)
    assert size == pytest.approx(123.4567899, abs=1e-12)
    assert size <= 123.456789905
    assert RISK_AT_STOP(size, 2.0, 1.0, 1_000.0) <= 123_456.789905
