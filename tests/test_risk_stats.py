"""Journal statistics (WIN_RATE, PROFIT_FACTOR, PAYOFF_RATIO, EXPECTANCY, SQN, KELLY_FRACTION,
RISK_OF_RUIN) against examples a trader can check by hand and published values; the docstring
examples of the statistics, portfolio and volatility modules; hostile input through each of their
Excel functions."""

from __future__ import annotations

import doctest
import math
import statistics
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import addin.udfs as udfs
from addin import risk
from addin.risk import RiskInputError, portfolio, stats, volatility

# A week of trades as a journal column holds them: an empty cell (a trade not closed yet) and a scratch.
WEEK = [120.0, -50.0, None, 80.0, 0.0, -40.0, 30.0]


def column(values):
    return [[v] for v in values]


@pytest.mark.parametrize("module", [stats, volatility, portfolio], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --- by hand -----------------------------------------------------------------------------------------

def test_a_week_of_trades_by_hand():
    # wins 120, 80, 30 (three); losses -50, -40 (two); the 0 is a scratch, the empty cell is skipped
    assert udfs.WIN_RATE(column(WEEK)) == 3 / 5
    assert udfs.PROFIT_FACTOR(column(WEEK)) == pytest.approx(230 / 90)  # won 230, lost 90
    assert udfs.PAYOFF_RATIO(column(WEEK)) == pytest.approx((230 / 3) / (90 / 2))  # 76.67 / 45
    assert udfs.EXPECTANCY(column(WEEK)) == pytest.approx(140 / 6)  # net 140 over six closed trades


def test_a_row_gives_the_same_as_a_column():
    for fn in (udfs.WIN_RATE, udfs.PROFIT_FACTOR, udfs.PAYOFF_RATIO, udfs.EXPECTANCY):
        assert fn([WEEK]) == fn(column(WEEK))


def test_win_rate_times_payoff_gives_expectancy_without_scratches():
    # expectancy = win_rate x average win - loss_rate x average loss, when no trade is a scratch
    pnls = [120.0, -50.0, 80.0, -40.0, 30.0]
    p, b = risk.win_rate(pnls), risk.payoff_ratio(pnls)
    average_loss = 45.0
    assert risk.expectancy(pnls) == pytest.approx(p * b * average_loss - (1 - p) * average_loss)


def test_ranges_with_nothing_to_compute_say_why():
    assert udfs.PROFIT_FACTOR(column([120.0, 80.0])) == "no losing trades in pnls: the profit factor divides by the gross loss"
    assert udfs.PAYOFF_RATIO(column([120.0, 0.0])) == "no losing trades in pnls: the payoff ratio divides by the average loss"
    assert udfs.PAYOFF_RATIO(column([-50.0, -40.0])) == "no winning trades in pnls: the payoff ratio needs an average win"
    assert udfs.PROFIT_FACTOR(column([-50.0, -40.0])) == 0.0  # all losers: nothing won per unit lost
    assert udfs.WIN_RATE(column([0.0, 0.0])) == "pnls must hold a winning or a losing trade (every pnl is 0)"
    assert udfs.SQN(column([1.5])) == "needs 2 or more R multiples (r_multiples holds 1)"
    assert udfs.SQN(column([1.0, 1.0])) == "r_multiples must not all be equal (their standard deviation is 0)"
    assert udfs.EXPECTANCY(column([None, ""])) == "values is required (the range holds no numbers)"
    assert udfs.WIN_RATE(column([1.0, "abc"])) == "pnls value 2 must be a number (got 'abc')"
    assert udfs.WIN_RATE(column([1.0, "#DIV/0!"])) == "pnls value 2 is an Excel error (#DIV/0!)"


# --- SQN: Van K. Tharp's published example ----------------------------------------------------------

# Van K. Tharp, *Super Trader* (2009), p. 159: eight trades in R, "expectancy 0.675R", "standard
# deviation 1.86R", "the ratio is 0.36"; SQN = sqrt(8) x 0.36 (Tharp, *The Definitive Guide to
# Position Sizing*, 2008: SQN = sqrt(N) x expectancy / stdev(R), N at most 100).
THARP_R = [0.86, 4.40, -0.72, 0.44, 1.57, 1.13, -1.70, -0.58]


def test_sqn_of_tharps_eight_trades():
    assert udfs.EXPECTANCY(column(THARP_R)) == pytest.approx(0.675)
    assert statistics.stdev(THARP_R) == pytest.approx(1.86, abs=0.005)  # published, rounded
    assert risk.expectancy(THARP_R) / statistics.stdev(THARP_R) == pytest.approx(0.36, abs=0.005)
    assert udfs.SQN(column(THARP_R)) == pytest.approx(math.sqrt(8) * 0.675 / statistics.stdev(THARP_R), rel=1e-12)
    assert udfs.SQN(column(THARP_R)) == pytest.approx(1.03, abs=0.005)


def test_sqn_counts_at_most_100_trades():
    # 300 trades repeating Tharp's eight: the ratio stays, the square root stops at 100
    many = THARP_R * 40  # 320 trades
    ratio = statistics.mean(many) / statistics.stdev(many)
    assert risk.sqn(many) == pytest.approx(10 * ratio, rel=1e-12)
    assert risk.sqn(many[:100]) == pytest.approx(10 * statistics.mean(many[:100]) / statistics.stdev(many[:100]))
    assert risk.sqn(many[:99]) == pytest.approx(math.sqrt(99) * statistics.mean(many[:99]) / statistics.stdev(many[:99]))


# --- Kelly ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p, b, kelly", [
    (0.6, 1.0, 0.2),  # even money: 2p - 1 (Thorp, "The Kelly criterion in blackjack, sports betting and the stock market")
    (0.5, 2.0, 0.25),  # 0.5 - 0.5 / 2
    (0.55, 2.0, 0.325),  # 0.55 - 0.45 / 2
    (0.4, 1.5, 0.0),  # 0.4 - 0.6 / 1.5: no edge
    (0.3, 1.0, -0.4),  # a negative edge: do not trade
])
def test_kelly_fraction(p, b, kelly):
    assert udfs.KELLY_FRACTION(p, b) == pytest.approx(kelly, abs=1e-15)


def test_kelly_maximises_the_growth_rate():
    # Kelly's fraction f* maximises p ln(1 + b f) + (1 - p) ln(1 - f): check against neighbours
    p, b = 0.55, 2.0
    f = risk.kelly_fraction(p, b)

    def growth(x):
        return p * math.log(1 + b * x) + (1 - p) * math.log(1 - x)

    assert growth(f) > growth(f - 0.01) and growth(f) > growth(f + 0.01)


# --- Risk of ruin -----------------------------------------------------------------------------------

@pytest.mark.parametrize("p, units", [(0.55, 20), (0.51, 50), (0.6, 10), (0.75, 3), (0.55, 0)])
def test_even_payoff_is_the_gamblers_ruin_closed_form(p, units):
    # Feller, An Introduction to Probability Theory and Its Applications I, XIV.2: against an
    # infinitely rich adversary the ruin probability is (q/p)^z for p > q
    assert udfs.RISK_OF_RUIN(p, float(units)) == pytest.approx(((1 - p) / p) ** units, rel=1e-12)
    assert risk.risk_of_ruin(p, units) == pytest.approx(((1 - p) / p) ** units, rel=1e-12)


def test_55pct_even_bets_with_20_units():
    assert udfs.RISK_OF_RUIN(0.55, 20.0) == pytest.approx(0.0181, abs=5e-5)  # (0.45 / 0.55)^20


@pytest.mark.parametrize("p, units", [(0.4, 10), (0.35, 5), (0.5, 20), (0.34, 30)])
def test_payoff_2_to_1_has_a_closed_form_root(p, units):
    # p z^3 - z + q = (z - 1)(p z^2 + p z - q): z = (-p + sqrt(p^2 + 4 p q)) / (2 p)
    q = 1 - p
    z = (-p + math.sqrt(p * p + 4 * p * q)) / (2 * p)
    assert udfs.RISK_OF_RUIN(p, float(units), 2.0) == pytest.approx(z ** units, rel=1e-9)


def ruin_by_dynamic_programming(p, b, units, ceiling=400, sweeps=20_000):
    """Independent check for whole-number b: the probability of reaching 0 before a far ceiling,
    by Gauss-Seidel sweeps over the capital levels (ruin(x) = p ruin(x + b) + q ruin(x - 1))."""
    q = 1 - p
    ruin = [1.0] + [0.0] * (ceiling + b)
    for _ in range(sweeps):
        change = 0.0
        for x in range(1, ceiling):
            new = p * ruin[x + b] + q * ruin[x - 1]
            change = max(change, abs(new - ruin[x]))
            ruin[x] = new
        if change < 1e-15:
            break
    return ruin[units]


@pytest.mark.parametrize("p, b, units", [(0.4, 2, 10), (0.3, 3, 5), (0.25, 4, 8)])
def test_payoff_above_1_against_a_direct_computation(p, b, units):
    assert risk.risk_of_ruin(p, units, b) == pytest.approx(ruin_by_dynamic_programming(p, b, units), rel=1e-6)


@pytest.mark.parametrize("p, b", [(0.5, 1.0), (0.3, 2.0), (1 / 3, 2.0), (0.2, 3.0), (0.0, 5.0)])
def test_no_edge_means_certain_ruin(p, b):
    assert udfs.RISK_OF_RUIN(p, 10.0, b) == 1.0


def test_risk_of_ruin_edges():
    assert risk.risk_of_ruin(1.0, 5, 2) == 0.0  # never loses
    assert risk.risk_of_ruin(0.6, 0, 2) == 1.0  # nothing to lose
    with pytest.raises(RiskInputError):
        risk.risk_of_ruin(0.6, 10, 0.0)
    assert udfs.RISK_OF_RUIN(0.6, 10.0, -1.0) == "payoff_ratio must be > 0 (got -1)"


def test_risk_of_ruin_spills_over_a_column_of_win_rates():
    got = udfs.RISK_OF_RUIN([[0.4], [0.6], ["x"]], 10.0, 1.0)
    assert got[0] == [1.0]
    assert got[1][0] == pytest.approx((0.4 / 0.6) ** 10, rel=1e-12)
    assert got[2] == ["win_rate must be a number (got 'x')"]


# --- hostile input: never an exception, always a number or a message ---------------------------------

HOSTILE_CELL = st.one_of(
    st.sampled_from([None, "", "abc", " ", True, False, math.nan, math.inf, -math.inf, "#N/A", "#DIV/0!",
                     10**400, -(10**400), Decimal("NaN"), Decimal("12.5"), datetime(2026, 1, 2), 0.0, -0.0,
                     1e308, -1e308, 5e-324, "long", "short", "EURUSD", "usd", 1.0, -1.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**6, 10**6),
    st.text(max_size=8),
)


def shapes(cells):
    """A value as Excel hands it: one cell, a column, a row, a grid, an empty or a ragged range."""
    return st.one_of(
        cells,
        st.lists(cells, min_size=0, max_size=12).map(lambda v: [[x] for x in v]),
        st.lists(cells, min_size=1, max_size=12).map(lambda v: [v]),
        st.lists(st.lists(cells, min_size=2, max_size=2), min_size=1, max_size=5),
        # rows of different lengths, an empty row among them ([[1.0], []]): a message naming the argument
        st.lists(st.lists(cells, min_size=0, max_size=3), min_size=1, max_size=4),
    )


NEW_FUNCTIONS = ["WIN_RATE", "PROFIT_FACTOR", "PAYOFF_RATIO", "EXPECTANCY", "SQN", "KELLY_FRACTION", "RISK_OF_RUIN",
                 "PORTFOLIO_STOP_OUT_MOVE", "CURRENCY_EXPOSURE", "ATR", "ATR_STOP"]


def is_cell_value(v) -> bool:
    return (isinstance(v, str) and "Traceback" not in v) or (
        isinstance(v, float) and math.isfinite(v)) or (isinstance(v, int) and not isinstance(v, bool))


@pytest.mark.parametrize("name", NEW_FUNCTIONS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_cells_give_a_number_or_a_message(name, data):
    fn = getattr(udfs, name)
    n_args = fn.__code__.co_argcount
    args = [data.draw(shapes(HOSTILE_CELL), label=f"arg{i}") for i in range(n_args)]
    got = fn(*args)
    if isinstance(got, list):
        for row in got:
            assert isinstance(row, list) and all(is_cell_value(v) for v in row), got
    else:
        assert is_cell_value(got), got


# --- a real statement: MetaTrader 4's own summary ------------------------------------------------------

def test_a_real_mt4_statement_against_metatraders_own_summary():
    """The summary block MetaTrader 4 prints under a Detailed Statement: Gross Profit 233.70, Gross Loss
    209.53, Profit Factor 1.12, Expected Payoff 0.19, Profit Trades 98 (75.38%), Loss trades 32
    (24.62%), Average profit trade 2.38, Average loss trade -6.55 (130 trades). A trade's result is
    profit + commission + swap + taxes, as MetaTrader sums it."""
    from conftest import shared_statement

    from addin.statements import mt4_html

    path = shared_statement("mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm")
    trades = [t for t in mt4_html.read(path).trades if t.close_time is not None]
    pnls = [round(t.profit + t.commission + t.swap + t.taxes, 2) for t in trades]
    assert len(pnls) == 130
    cells = column(pnls)
    assert sum(p for p in pnls if p > 0) == pytest.approx(233.70) and sum(p for p in pnls if p < 0) == pytest.approx(-209.53)
    assert round(udfs.PROFIT_FACTOR(cells), 2) == 1.12
    assert round(udfs.EXPECTANCY(cells), 2) == 0.19
    # one trade nets exactly 0: MetaTrader counts it among the 98 "profit trades", the contract counts
    # it as neither; counted MetaTrader's way the published figures come out
    scratches = pnls.count(0.0)
    assert scratches == 1
    assert udfs.WIN_RATE(cells) == pytest.approx(97 / 129)
    assert round((97 + scratches) / 130 * 100, 2) == 75.38
    assert round(233.70 / (97 + scratches), 2) == 2.38
    average_loss = -sum(p for p in pnls if p < 0) / 32
    assert round(average_loss, 2) == 6.55
    assert udfs.PAYOFF_RATIO(cells) == pytest.approx((233.70 / 97) / average_loss)
