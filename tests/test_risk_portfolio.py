"""PORTFOLIO_STOP_OUT_MOVE and CURRENCY_EXPOSURE: the whole account, against hand-solved cases."""

from __future__ import annotations

import pytest

import addin.udfs as udfs
from addin import risk
from addin.risk import NoPrice, RiskInputError


def column(values):
    return [[v] for v in values]


# --- PORTFOLIO_STOP_OUT_MOVE ------------------------------------------------------------------------

def test_two_positions_share_one_equity():
    # 10,000 equity; EURUSD long worth 100,000 (margin 3,333.33 at 1:30), USDJPY short worth 50,000
    # (1,666.67). Stop-out at 50% of 5,000 margin = 2,500 of equity: 7,500 may be lost over
    # 150,000 of positions, a 5% move of both against the trader.
    move = udfs.PORTFOLIO_STOP_OUT_MOVE(10_000.0, column([100_000.0, 50_000.0]), column([10_000 / 3, 5_000 / 3]))
    assert move == pytest.approx(0.05)
    # the same at the margin call (100%): (10,000 - 5,000) / 150,000
    assert udfs.PORTFOLIO_STOP_OUT_MOVE(10_000.0, column([100_000.0, 50_000.0]), column([10_000 / 3, 5_000 / 3]),
                                        1.0) == pytest.approx(1 / 30)


# Three positions quoted in the USD account currency, so that repricing them is exact:
# (side, lots, contract size, entry, leverage)
THREE = [(1, 1.0, 100_000, 1.1000, 30), (-1, 0.5, 100_000, 1.2700, 30), (1, 1.0, 100, 2_400.0, 20)]


def test_three_positions_repriced_by_the_move_stand_exactly_at_the_stop_out():
    equity = 20_000.0
    notionals = [lots * size * entry for _, lots, size, entry, _ in THREE]  # 110,000 63,500 240,000
    margins = [n / lev for n, (*_, lev) in zip(notionals, THREE)]  # 3,666.67 2,116.67 12,000
    move = risk.portfolio_stop_out_move(equity, notionals, margins)
    # by hand: (20,000 - 0.5 x 17,783.33) / 413,500 = 11,108.33 / 413,500
    assert move == pytest.approx((20_000 - 0.5 * (173_500 / 30 + 12_000)) / 413_500)
    assert move == pytest.approx(0.026864, abs=1e-6)

    def margin_level_after(x):
        pnl = sum(side * lots * size * (entry * (1 - side * x) - entry) for side, lots, size, entry, _ in THREE)
        return (equity + pnl) / sum(margins)

    assert margin_level_after(move) == pytest.approx(0.5, abs=1e-12)
    assert margin_level_after(move * 0.99) > 0.5 > margin_level_after(move * 1.01)


def test_empty_rows_are_skipped_and_short_notionals_count_by_size():
    got = udfs.PORTFOLIO_STOP_OUT_MOVE([[10_000.0]], column([100_000.0, None, -50_000.0]),
                                       column([10_000 / 3, None, 5_000 / 3]), [[0.5]])
    assert got == pytest.approx(0.05)


def test_an_account_at_or_past_the_stop_out_has_no_move_left():
    with pytest.raises(NoPrice):
        risk.portfolio_stop_out_move(2_500.0, [100_000.0, 50_000.0], [10_000 / 3, 5_000 / 3])
    assert udfs.PORTFOLIO_STOP_OUT_MOVE(2_000.0, column([100_000.0, 50_000.0]), column([10_000 / 3, 5_000 / 3])) == (
        "the account is already at or past the stop-out (margin level 40.0%, stop-out at 50.0%): no move is left")


def test_bad_account_input_is_a_message():
    assert udfs.PORTFOLIO_STOP_OUT_MOVE(10_000.0, column([None, None]), column([1.0])) == \
        "notionals must hold an open position (no notional in the range is above 0)"
    assert udfs.PORTFOLIO_STOP_OUT_MOVE(10_000.0, column([1e5]), column([-1.0])) == "margins value 1 must be >= 0 (got -1)"
    assert udfs.PORTFOLIO_STOP_OUT_MOVE(column([1.0, 2.0]), column([1e5]), column([1.0])) == \
        "equity must be a single cell (got 2×1 cells)"
    assert udfs.PORTFOLIO_STOP_OUT_MOVE("abc", column([1e5]), column([1.0])) == "equity must be a number (got 'abc')"
    with pytest.raises(RiskInputError):
        risk.portfolio_stop_out_move(1.0, [1.0], [1.0], -0.5)


# --- CURRENCY_EXPOSURE ------------------------------------------------------------------------------

def test_three_fx_positions_net_per_currency():
    # long EURUSD 100k: +100k EUR, -100k USD; long EURJPY 50k: +50k EUR, -50k JPY;
    # short USDJPY 30k: -30k USD, +30k JPY. Net: EUR +150k, USD -130k, JPY -20k.
    got = udfs.CURRENCY_EXPOSURE(column(["EURUSD", "EURJPY", "USDJPY"]), column(["long", "buy", "short"]),
                                 column([100_000.0, 50_000.0, 30_000.0]))
    assert got == [["EUR", 150_000.0], ["USD", -130_000.0], ["JPY", -20_000.0]]
    in_usd = udfs.CURRENCY_EXPOSURE(column(["EURUSD", "EURJPY", "USDJPY"]), column([1.0, 1.0, -1.0]),
                                    column([100_000.0, 50_000.0, 30_000.0]), "usd")
    assert in_usd == [["EUR", 150_000.0], ["JPY", -20_000.0]]


def test_five_eur_longs_are_one_big_eur_bet():
    symbols = ["EURUSD", "EURGBP", "EURJPY", "EURCHF", "EURAUD"]
    got = risk.currency_exposure(symbols, [1] * 5, [20_000.0] * 5, "USD")
    assert got[0] == ("EUR", 100_000.0)
    assert sorted(got[1:]) == [("AUD", -20_000.0), ("CHF", -20_000.0), ("GBP", -20_000.0), ("JPY", -20_000.0)]


def test_non_fx_symbols_count_under_their_own_names_and_metals_as_pairs():
    got = risk.currency_exposure(["XAUUSD", "US500", "BTCUSD", "EURUSDT"], [1, -1, 1, 1],
                                 [24_000.0, 30_000.0, 10_000.0, 5_000.0], "USD")
    assert got == [("US500", -30_000.0), ("XAU", 24_000.0), ("BTCUSD", 10_000.0), ("EURUSDT", 5_000.0)]


@pytest.mark.parametrize("symbol", ["EURUSD", "EUR/USD", "eurusd", "EURUSD.m", "EURUSDm", "EURUSD_i", "EURUSD-pro",
                                    "EURUSD+", " EURUSD "])
def test_broker_spellings_of_a_pair(symbol):
    assert risk.currency_legs(symbol) == ("EUR", "USD")


@pytest.mark.parametrize("symbol", ["EURUSDT", "BTCUSD", "US500", "EUR", "EURUSDX", "USDUSD", "GER40.cash"])
def test_symbols_that_are_not_pairs(symbol):
    assert risk.currency_legs(symbol) is None


def test_offsetting_positions_show_a_zero_exposure_and_empty_rows_are_skipped():
    got = udfs.CURRENCY_EXPOSURE(column(["EURUSD", None, "EURUSD"]), column(["long", None, "short"]),
                                 column([50_000.0, None, 50_000.0]))
    assert got == [["EUR", 0.0], ["USD", 0.0]]


def test_bad_positions_are_messages_naming_the_argument_and_row():
    assert udfs.CURRENCY_EXPOSURE(column(["EURUSD", "GBPUSD"]), column(["long", None]), column([1.0, 2.0])) == \
        "sides value 2 is required (the row has its other cells)"
    assert udfs.CURRENCY_EXPOSURE(column(["EURUSD"]), column(["up"]), column([1.0])) == \
        "sides value 1 must be long/buy, short/sell, 1 or -1 (got 'up')"
    assert udfs.CURRENCY_EXPOSURE(column(["EURUSD", "GBPUSD"]), column(["long"]), column([1.0, 2.0])) == \
        "symbols, sides and notionals must be ranges of the same size (got 2, 1 and 2 cells)"
    assert udfs.CURRENCY_EXPOSURE(column([None]), column([None]), column([None])) == \
        "symbols is required (the ranges hold no position)"
    assert udfs.CURRENCY_EXPOSURE(column(["EURUSD"]), column([1.0]), column([1.0]), "dollars") == \
        "account_currency must be a currency code like USD or USDT (got 'dollars')"
    assert udfs.CURRENCY_EXPOSURE(column(["EURUSD"]), column([1.0]), column(["#N/A"])) == \
        "notionals value 1 is an Excel error (#N/A)"


def test_numeric_tickers_are_symbols():
    assert udfs.CURRENCY_EXPOSURE(column([7203.0]), column([1.0]), column([10_000.0]), "JPY") == [["7203", 10_000.0]]
