"""Worked examples from public articles and documentation, checked the way a trader would check them
by hand.

Every example goes through the risk function (addin.risk) and through the Excel function
(addin.udfs), the latter both with bare values and with single cells as xlwings passes them
(``[[value]]``, ndim=2). Sources: AltSignals' "leverage vs margin" article, a margin-calculator
article and a broker's blog (the dollar examples), BabyPips' position-size lessons, EarnForex's
Position Sizer (github.com/EarnForex/PositionSizer), the Regulation T / FINRA 4210 margin rules,
Binance's and Bybit's liquidation-price help pages, and the regulators' documents cited in
addin/risk/caps.py.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from addin import risk
from addin.udfs import (
    EFFECTIVE_LEVERAGE,
    LEVERAGE,
    LIQUIDATION_PRICE,
    LIQUIDATION_PRICE_TIERED,
    LOSSES_TO_DRAWDOWN,
    MARGIN_RATE,
    MARGIN_REQUIRED,
    MAX_LEVERAGE,
    MAX_POSITION_SIZE,
    NOTIONAL,
    PIP_VALUE,
    POSITION_SIZE,
    RECOVERY_GAIN,
    RETURN_ON_MARGIN,
    RISK_AMOUNT,
    RISK_AT_STOP,
    STOCK_MARGIN_CALL_PRICE,
    WIPEOUT_MOVE,
    WIPEOUT_PIPS,
)


def cells(excel_function, *args):
    """Call an Excel function twice, with bare values and with xlwings' single cells [[v]], and
    return the answer after checking both agree."""
    bare = excel_function(*args)
    wrapped = excel_function(*[[[a]] for a in args])
    assert wrapped == bare, f"{excel_function.__name__}: [[value]] cells gave {wrapped!r}, bare values {bare!r}"
    return bare


# --- Leverage vs margin (AltSignals' article) -----------------------------------------------------

def test_1000_margin_on_a_5000_position_is_5x():
    assert risk.effective_leverage(5_000, 1_000) == 5
    assert cells(EFFECTIVE_LEVERAGE, 5_000.0, 1_000.0) == 5


@pytest.mark.parametrize("leverage, controls", [(2, 2_000), (5, 5_000), (10, 10_000)])
def test_1000_of_margin_controls_leverage_times_1000(leverage, controls):
    # "At 5x leverage, $1,000 controls $5,000" (price 1: quantity is the position value)
    assert risk.max_position_size(1_000, 1, leverage) == pytest.approx(controls)
    assert cells(MAX_POSITION_SIZE, 1_000.0, 1.0, float(leverage)) == pytest.approx(controls)


@pytest.mark.parametrize("leverage, margin", [(5, 2_000), (10, 1_000)])
def test_a_10000_bitcoin_position_needs_2000_at_5x_and_1000_at_10x(leverage, margin):
    assert risk.margin_required(10_000, 1, leverage) == pytest.approx(margin)
    assert cells(MARGIN_REQUIRED, 10_000.0, 1.0, f"{leverage}x") == pytest.approx(margin)


def test_a_10000_position_falling_5pct_loses_500_which_is_half_of_1000_margin():
    # 100 shares at 100 (a $10,000 position) falling to 95, on $1,000 of margin (10x)
    loss = risk.risk_at_stop(100, 100, 95)
    assert loss == pytest.approx(500)
    assert cells(RISK_AT_STOP, 100.0, 100.0, 95.0) == pytest.approx(500)
    assert risk.margin_required(100, 100, 10) == pytest.approx(1_000)
    assert cells(MARGIN_REQUIRED, 100.0, 100.0, 10.0) == pytest.approx(1_000)
    assert risk.return_on_margin(-loss, 1_000) == pytest.approx(-0.5)
    assert cells(RETURN_ON_MARGIN, -500.0, 1_000.0) == pytest.approx(-0.5)


# --- Margin rate and leverage (a margin-calculator article, a broker's blog) -------------------

@pytest.mark.parametrize("margin_rate, leverage", [(0.02, 50), (0.10, 10), (0.01, 100), (0.5, 2), (0.2, 5), (0.05, 20)])
def test_margin_rate_and_leverage_are_reciprocals(margin_rate, leverage):
    assert risk.leverage(margin_rate) == pytest.approx(leverage)
    assert cells(LEVERAGE, margin_rate) == pytest.approx(leverage)
    assert risk.margin_rate(leverage) == pytest.approx(margin_rate)
    assert cells(MARGIN_RATE, float(leverage)) == pytest.approx(margin_rate)
    assert cells(MARGIN_RATE, f"{leverage}:1") == pytest.approx(margin_rate)


@pytest.mark.parametrize("leverage, deposit", [(2, 5_000), (5, 2_000), (10, 1_000), (20, 500), (50, 200), (100, 100)])
def test_deposit_on_a_10000_position(leverage, deposit):
    # the article's table: 2:1 -> $5,000 ... 100:1 -> $100
    assert risk.margin_required(10_000, 1, leverage) == pytest.approx(deposit)
    assert cells(MARGIN_REQUIRED, 10_000.0, 1.0, f"{leverage}:1") == pytest.approx(deposit)


def test_2pct_margin_on_a_50000_position_is_1000():
    assert risk.margin_required(50_000, 1, risk.leverage(0.02)) == pytest.approx(1_000)
    assert cells(MARGIN_REQUIRED, 50_000.0, 1.0, LEVERAGE(0.02)) == pytest.approx(1_000)


def test_1_to_100_turns_1000_into_100000_and_2pct_is_2000():
    assert risk.max_position_size(1_000, 1, 100) == pytest.approx(100_000)
    assert cells(MAX_POSITION_SIZE, 1_000.0, 1.0, "1:100") == pytest.approx(100_000)
    assert risk.return_on_margin(100_000 * 0.02, 1_000) == pytest.approx(2.0)  # $2,000 on $1,000


def test_10pct_margin_requirement_buys_10000_with_1000():
    assert cells(MAX_POSITION_SIZE, 1_000.0, 1.0, LEVERAGE(0.10)) == pytest.approx(10_000)


@pytest.mark.parametrize("text", ["1:30", "30:1", "30x", "30", " 1 : 30 ", "X30"])
def test_leverage_text_forms_all_mean_30(text):
    assert risk.parse_leverage(text) == 30
    assert cells(MARGIN_RATE, text) == pytest.approx(1 / 30)
    assert cells(MARGIN_REQUIRED, 3_000.0, 1.0, text) == pytest.approx(100)


# --- 10,000 EUR/USD at 1.1000 with 50:1 (the margin-calculator article) ---------------------

def test_10000_eurusd_at_1_10_is_11000_notional_and_220_margin_at_50_to_1():
    assert risk.notional(10_000, 1.10) == pytest.approx(11_000)
    assert cells(NOTIONAL, 10_000.0, 1.10) == pytest.approx(11_000)
    assert risk.margin_required(10_000, 1.10, 50) == pytest.approx(220)
    for leverage in ("1:50", "50:1", "50x", 50.0):
        assert cells(MARGIN_REQUIRED, 10_000.0, 1.10, leverage) == pytest.approx(220)
    assert MARGIN_REQUIRED(10_000, 1.10, "1:50") == pytest.approx(220)  # ints, as xlwings Lite may pass


def test_plus_100_pips_is_100_dollars_or_45_5pct_on_the_220_margin():
    pip = risk.pip_value(10_000)  # $1 a pip on 10,000 units
    assert pip == pytest.approx(1)
    assert cells(PIP_VALUE, 10_000.0) == pytest.approx(1)
    assert 100 * pip == pytest.approx(100)
    assert risk.return_on_margin(100, 220) == pytest.approx(0.455, abs=0.0005)
    assert cells(RETURN_ON_MARGIN, 100.0, 220.0) == pytest.approx(0.4545, abs=0.0001)
    # the same 100 pips is a 0.9% move of the rate
    assert 0.0100 / 1.1000 == pytest.approx(0.009, abs=0.0001)


def test_220_pips_against_wipe_out_the_220_margin():
    assert risk.wipeout_pips(220, 10_000) == pytest.approx(220)
    assert cells(WIPEOUT_PIPS, 220.0, 10_000.0) == pytest.approx(220)
    # wipe-out move = margin / (pip value per unit x position size) = 220 / (0.0001 x 10,000)
    assert cells(WIPEOUT_PIPS, MARGIN_REQUIRED(10_000.0, 1.1, "1:50"), 10_000.0, 0.0001) == pytest.approx(220)


@pytest.mark.parametrize("leverage, move", [(10, 0.10), (50, 0.02)])
def test_10_to_1_is_wiped_out_by_10pct_and_50_to_1_by_2pct(leverage, move):
    assert risk.wipeout_move(leverage) == pytest.approx(move)
    assert cells(WIPEOUT_MOVE, f"{leverage}:1") == pytest.approx(move)


# --- Position sizing (BabyPips, EarnForex) ---------------------------------------------------------

def test_babypips_5000_account_risking_1pct_with_a_200_pip_stop_is_2500_units():
    assert risk.risk_amount(5_000, 0.01) == pytest.approx(50)
    assert cells(RISK_AMOUNT, 5_000.0, 0.01) == pytest.approx(50)
    # units: point value 1 (one unit of EUR/USD moves $1 per 1.0 of price)
    assert risk.position_size(50, 1.1000, 1.0800) == pytest.approx(2_500)
    assert cells(POSITION_SIZE, 50.0, 1.1000, 1.0800) == pytest.approx(2_500)
    assert cells(POSITION_SIZE, RISK_AMOUNT(5_000.0, 0.01), 1.1000, 1.0800, 1.0, 1.0) == 2_500


def test_babypips_one_standard_lot_of_eurusd_is_10_dollars_a_pip():
    assert risk.pip_value(1, 0.0001, 100_000) == pytest.approx(10)
    assert cells(PIP_VALUE, 1.0, 0.0001, 100_000.0) == pytest.approx(10)
    assert cells(PIP_VALUE, 100_000.0) == pytest.approx(10)  # the same in units


def test_earnforex_risk_100_with_a_50_pip_stop_is_0_20_lots():
    assert risk.position_size(100, 1.1000, 1.0950, 100_000, 0.01) == 0.2
    assert cells(POSITION_SIZE, 100.0, 1.1000, 1.0950, 100_000.0, 0.01) == 0.2
    # and the loss at the stop of 0.20 lots is the $100 risked
    assert cells(RISK_AT_STOP, 0.2, 1.1000, 1.0950, 100_000.0) == pytest.approx(100)


# --- Drawdown -------------------------------------------------------------------------------------

@pytest.mark.parametrize("drawdown, gain", [(0.10, 0.1111), (0.20, 0.25), (0.50, 1.00), (0.90, 9.00)])
def test_recovery_gain(drawdown, gain):
    assert risk.recovery_gain(drawdown) == pytest.approx(gain, abs=0.00005)
    assert cells(RECOVERY_GAIN, drawdown) == pytest.approx(gain, abs=0.00005)


def test_69_losses_at_1pct_reach_a_50pct_drawdown():
    assert risk.losses_to_drawdown(0.01, 0.5) == 69
    assert cells(LOSSES_TO_DRAWDOWN, 0.01, 0.5) == 69
    assert 0.99 ** 68 > 0.5 > 0.99 ** 69  # by hand: 68 losses are not yet enough


# --- Stock margin, liquidation ---------------------------------------------------------------------

def test_stock_bought_at_100_with_50pct_initial_gets_a_margin_call_at_71_43_with_30pct_maintenance():
    assert risk.stock_margin_call_price(100, 0.5, 0.3) == pytest.approx(71.43, abs=0.005)
    assert cells(STOCK_MARGIN_CALL_PRICE, 100.0, 0.5, 0.3) == pytest.approx(71.43, abs=0.005)
    assert STOCK_MARGIN_CALL_PRICE(100.0, 0.5, 0.3, "long") == pytest.approx(71.43, abs=0.005)
    # by hand: equity 71.43 - 50 = 21.43 is 30% of 71.43
    assert (71.4286 - 50) / 71.4286 == pytest.approx(0.3, abs=1e-4)


@pytest.mark.parametrize("side, excel_side, price", [(1, "long", 9.10), (-1, "short", 10.90)])
def test_linear_isolated_liquidation_entry_10_at_10x_with_1pct_maintenance(side, excel_side, price):
    assert risk.liquidation_price(side, 10, 10, 0.01) == pytest.approx(price)
    assert cells(LIQUIDATION_PRICE, excel_side, 10.0, 10.0, 0.01) == pytest.approx(price)
    assert cells(LIQUIDATION_PRICE, excel_side, 10.0, "10x", 0.01, False) == pytest.approx(price)


BTCUSDT_FLOORS = [0, 50_000, 600_000, 3_000_000, 12_000_000]
BTCUSDT_CAPS = [50_000, 600_000, 3_000_000, 12_000_000, 70_000_000]
BTCUSDT_RATES = [0.004, 0.005, 0.0065, 0.01, 0.02]


def test_binance_btcusdt_maintenance_amounts_0_50_950_11450_131450():
    amounts = risk.maintenance_amounts(BTCUSDT_FLOORS, BTCUSDT_RATES)
    assert amounts == pytest.approx([0, 50, 950, 11_450, 131_450])
    # by hand, tier 3: 600,000 x (0.65% - 0.5%) + 50 = 950


def test_tier_table_without_amounts_gives_the_same_liquidation_as_with_them():
    three = [[f, c, r] for f, c, r in zip(BTCUSDT_FLOORS, BTCUSDT_CAPS, BTCUSDT_RATES)]
    four = [[f, c, r, a] for (f, c, r), a in zip(three, [0, 50, 950, 11_450, 131_450])]
    for quantity, wallet in ((1, 6_000), (20, 60_000), (100, 400_000)):
        with_amounts = LIQUIDATION_PRICE_TIERED("long", float(quantity), 60_000.0, float(wallet), four)
        without = LIQUIDATION_PRICE_TIERED("long", float(quantity), 60_000.0, float(wallet), three)
        assert with_amounts == pytest.approx(without)
        assert with_amounts == pytest.approx(risk.liquidation_price_tiered(1, quantity, 60_000, wallet, four)[0])


def test_one_btc_long_at_60000_with_6000_uses_the_second_tier():
    lp, tier = risk.liquidation_price_tiered(1, 1, 60_000, 6_000, [[0, 50e3, .004, 0], [50e3, 600e3, .005, 50]])
    assert tier == 2 and lp == pytest.approx(54_221.11, abs=0.005)
    # by hand: (6,000 + 50 - 60,000) / (0.005 - 1) = 54,221.11, notional 54,221 is in tier 2
    assert (6_000 + 50 - 60_000) / (0.005 - 1) == pytest.approx(lp)
    assert LIQUIDATION_PRICE_TIERED("buy", 1.0, 60_000.0, 6_000.0,
                                    [[0.0, 50e3, .004, 0.0], [50e3, 600e3, .005, 50.0]]) == pytest.approx(lp)


# --- Leverage caps by regulator ---------------------------------------------------------------------

DAY = datetime(2026, 1, 15)  # rules in force on a fixed day, so the test does not age


@pytest.mark.parametrize("regime, instrument, cap", [
    ("ESMA", "FX_MAJOR", 30), ("ESMA", "EURUSD", 30), ("ESMA", "EUR/USD", 30), ("ESMA", "usdjpy", 30),
    ("ESMA", "AUDUSD", 20), ("ESMA", "EURAUD", 20), ("ESMA", "FX_MINOR", 20), ("ESMA", "GOLD", 20),
    ("ESMA", "XAUUSD", 20), ("ESMA", "INDEX_MAJOR", 20), ("ESMA", "INDEX_MINOR", 10), ("ESMA", "COMMODITY", 10),
    ("ESMA", "EQUITY", 5), ("ESMA", "CRYPTO", 2),
    ("FCA", "EURUSD", 30), ("FCA", "AUDUSD", 20), ("FCA", "EQUITY", 5),
    ("ASIC", "EURUSD", 30), ("ASIC", "AUDUSD", 30), ("ASIC", "NZDUSD", 20), ("ASIC", "GOLD", 20), ("ASIC", "CRYPTO", 2),
    ("NFA", "EURUSD", 50), ("NFA", "EUR/USD", 50), ("NFA", "AUDUSD", 50), ("NFA", "EURAUD", 50),
    ("NFA", "USDSEK", 50), ("NFA", "USDTRY", 20), ("NFA", "EURPLN", 20),
    ("JFSA", "EURUSD", 25), ("JFSA", "USDTRY", 25), ("JFSA", "CRYPTO", 2),
    ("REGT", "EQUITY", 2),
])
def test_max_leverage_caps(regime, instrument, cap):
    assert risk.max_leverage(regime, instrument, DAY.date()) == cap
    assert cells(MAX_LEVERAGE, regime, instrument, DAY) == cap


def test_audusd_is_major_for_the_nfa_but_minor_for_esma():
    assert risk.classify("ESMA", "AUDUSD") == "FX_MINOR"
    assert risk.classify("NFA", "AUDUSD") == "FX_MAJOR"
    assert risk.classify("ESMA", "EURUSD") == risk.classify("ESMA", "EUR/USD") == "FX_MAJOR"
    assert MAX_LEVERAGE("ESMA", "AUDUSD", DAY) == 20 and MAX_LEVERAGE("NFA", "AUDUSD", DAY) == 50


def test_fca_bans_crypto_derivatives_for_retail_since_2021_01_06():
    message = cells(MAX_LEVERAGE, "FCA", "CRYPTO", DAY)
    assert isinstance(message, str)
    assert "bars CRYPTO for retail clients" in message and "2021-01-06" in message and "PS20/10" in message
    with pytest.raises(risk.RiskInputError, match="bars CRYPTO"):
        risk.max_leverage("FCA", "CRYPTO", DAY.date())
    # before the ban, the 2:1 cap of PS19/18 applied
    assert MAX_LEVERAGE("FCA", "CRYPTO", "2020-06-01") == 2


@pytest.mark.parametrize("regime, instrument, says", [
    ("NFA", "EQUITY", "the NFA rule covers retail forex only"),
    ("REGT", "EURUSD", "Regulation T covers securities (EQUITY) only"),
    ("JFSA", "GOLD", "the JFSA caps cover retail FX and crypto-assets only"),
])
def test_a_regime_that_does_not_cover_the_product_says_so(regime, instrument, says):
    message = MAX_LEVERAGE(regime, instrument, DAY)
    assert isinstance(message, str) and says in message
