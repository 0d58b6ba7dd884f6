"""Properties that hold for every input, not just the worked examples (hypothesis).

Strategies are bounded to what traders type: prices 0.5-200,000, leverage 1-500, sizes from a
micro lot to thousands of units; the identities must then hold to floating-point precision.
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from addin import risk
from addin.udf_meta import REGISTRY
from addin.udfs import LEVERAGE, MARGIN_RATE, MAX_DRAWDOWN, POSITION_SIZE, RISK_AT_STOP, WIPEOUT_PIPS

settings.register_profile("risk", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("risk")

prices = st.floats(0.5, 200_000, allow_nan=False, allow_infinity=False)
leverages = st.floats(1, 500, allow_nan=False, allow_infinity=False)
sides = st.sampled_from([1, -1])
lot_steps = st.sampled_from([0.0, 0.01, 0.1, 1.0, 100.0, 0.001, 0.05])
point_values = st.sampled_from([1.0, 10.0, 100.0, 100_000.0, 1_000.0 / 150.0, 0.5])


@given(st.floats(1e-3, 1e4, allow_nan=False))
def test_leverage_of_margin_rate_is_the_leverage(x):
    assert risk.leverage(risk.margin_rate(x)) == pytest.approx(x, rel=1e-12)
    assert LEVERAGE(MARGIN_RATE(x)) == pytest.approx(x, rel=1e-12)
    if x >= 1:  # in "a:b" text the larger side is the exposure, so "1:0.5" reads as 2
        assert LEVERAGE(MARGIN_RATE(f"1:{x!r}")) == pytest.approx(x, rel=1e-12)


@given(risk_amount=st.floats(1, 1e6), entry=prices, stop_pct=st.floats(0.0005, 0.5), side=sides,
       point_value=point_values, lot_step=lot_steps, commission=st.sampled_from([0.0, 0.5, 3.5, 7.0]))
def test_position_size_loses_at_most_the_risk_and_one_more_step_would_lose_more(
        risk_amount, entry, stop_pct, side, point_value, lot_step, commission):
    stop = entry * (1 - side * stop_pct)
    size = risk.position_size(risk_amount, entry, stop, point_value, lot_step, commission)
    assert POSITION_SIZE(risk_amount, entry, stop, point_value, lot_step, commission) == size
    assume(size > 0)
    loss = risk.risk_at_stop(size, entry, stop, point_value, commission)
    assert loss <= risk_amount * (1 + 1e-9)
    assert RISK_AT_STOP(size, entry, stop, point_value, commission) == loss
    step = lot_step if lot_step > 0 else size * 1e-6  # no rounding: any bit more is too much
    assert risk.risk_at_stop(size + step, entry, stop, point_value, commission) > risk_amount * (1 - 1e-9)


@given(margin=st.floats(10, 1e6), quantity=st.floats(0.01, 1e4), pip_size=st.sampled_from([0.0001, 0.01, 0.1, 1.0]),
       contract_size=st.sampled_from([1.0, 100.0, 100_000.0]), fx_rate=st.floats(0.005, 2))
def test_a_move_of_wipeout_pips_loses_exactly_the_margin(margin, quantity, pip_size, contract_size, fx_rate):
    pips = risk.wipeout_pips(margin, quantity, pip_size, contract_size, fx_rate)
    assert WIPEOUT_PIPS(margin, quantity, pip_size, contract_size, fx_rate) == pips
    assert pips * risk.pip_value(quantity, pip_size, contract_size, fx_rate) == pytest.approx(margin, rel=1e-12)
    # the same as a loss at a stop that far away
    entry = 2 * pips * pip_size
    loss = risk.risk_at_stop(quantity, entry, entry - pips * pip_size, contract_size * fx_rate)
    assert loss == pytest.approx(margin, rel=1e-9)


@given(side=sides, entry=prices, quantity=st.floats(0.01, 100), leverage=leverages, cushion=st.floats(1.05, 50),
       level=st.sampled_from([0.2, 0.5, 1.0, 1.5]), contract_size=st.sampled_from([1.0, 100.0, 100_000.0]),
       fx_rate=st.floats(0.005, 2), other_margin=st.sampled_from([0.0, 100.0, 5_000.0]))
def test_at_the_margin_call_price_equity_over_used_margin_is_the_level(
        side, entry, quantity, leverage, cushion, level, contract_size, fx_rate, other_margin):
    used_at_entry = risk.margin_required(quantity, entry, leverage, contract_size, fx_rate) + other_margin
    equity = cushion * level * used_at_entry  # above the level at entry
    try:
        price = risk.margin_call_price(side, entry, quantity, equity, leverage, level, contract_size, fx_rate,
                                       other_margin)
    except risk.NoPrice:
        assume(False)
    assert (price < entry) if side == 1 else (price > entry)
    equity_at_price = equity + side * (price - entry) * quantity * contract_size * fx_rate
    used_at_price = risk.margin_required(quantity, price, leverage, contract_size, fx_rate) + other_margin
    assert equity_at_price / used_at_price == pytest.approx(level, rel=1e-6)


BTCUSDT = [[0, 50e3, .004], [50e3, 600e3, .005], [600e3, 3e6, .0065], [3e6, 12e6, .01], [12e6, 70e6, .02],
           [70e6, 100e6, .025], [100e6, 230e6, .05], [230e6, 480e6, .1], [480e6, 600e6, .125], [600e6, 800e6, .15]]


@given(side=sides, quantity=st.floats(0.001, 3_000), entry=st.floats(1_000, 150_000), margin_pct=st.floats(0.01, 1.5))
def test_tiered_liquidation_lies_inside_the_tier_it_used(side, quantity, entry, margin_pct):
    wallet = margin_pct * quantity * entry
    try:
        price, tier = risk.liquidation_price_tiered(side, quantity, entry, wallet, BTCUSDT)
    except (risk.NoPrice, risk.RiskInputError):
        assume(False)
    floor, cap = BTCUSDT[tier - 1][:2]
    notional = quantity * price
    assert floor <= notional * (1 + 1e-12) and (notional < cap or tier == len(BTCUSDT))
    assert price > 0


@given(st.lists(st.floats(0.01, 1e9), min_size=1, max_size=60))
def test_a_curve_that_never_falls_has_no_drawdown(values):
    curve = sorted(values)
    assert risk.max_drawdown(curve) == 0
    assert MAX_DRAWDOWN([[v] for v in curve]) == 0
    assert MAX_DRAWDOWN([curve]) == 0  # a row works too


@given(st.lists(st.floats(0.01, 1e9), min_size=2, max_size=60))
def test_max_drawdown_is_a_fraction_that_a_fall_from_the_peak_reaches(values):
    worst = risk.max_drawdown(values)
    assert 0 <= worst < 1
    falls = [(max(values[: i + 1]) - v) / max(values[: i + 1]) for i, v in enumerate(values)]
    assert worst == pytest.approx(max(falls), rel=1e-12, abs=1e-15)


# --- Array results equal the scalar results, row by row ----------------------------------------------

KIND = {"side": "side", "leverage": "leverage", "inverse": "flag", "regime": "regime", "instrument": "instrument",
        "as_of": "date", "tiers": "table", "equity_curve": "range"}
BAD = [None, "abc", True, math.nan, math.inf, -1.0, 0.0, "#N/A"]
TIERS = [[0.0, 50e3, 0.004], [50e3, 600e3, 0.005], [600e3, 3e6, 0.0065]]


def cell_values(kind: str):
    """A cell as a trader might fill it: mostly sensible, sometimes zero, negative, empty or wrong."""
    if kind == "side":
        return st.sampled_from(["long", "short", "Buy", "SELL", 1.0, -1.0, "up", 0.0, None, True])
    if kind == "leverage":
        return st.one_of(st.sampled_from(["1:30", "30:1", "50x", "abc", "1:0", -5.0, 0.0, None, True, math.nan]),
                         st.floats(1, 500))
    if kind == "flag":
        return st.sampled_from([True, False, 0.0, 1.0, "TRUE", "maybe", 2.0, None])
    if kind == "regime":
        return st.sampled_from(["ESMA", "FCA", "ASIC", "NFA", "JFSA", "REGT", "SEC", None, 1.0])
    if kind == "instrument":
        return st.sampled_from(["EURUSD", "EUR/USD", "AUDUSD", "CRYPTO", "EQUITY", "GOLD", "ABC", None, True])
    if kind == "date":
        return st.sampled_from([None, datetime(2020, 6, 1), datetime(2026, 1, 15), "2019-01-01", "bad", 45000.0, True])
    return st.one_of(st.sampled_from(BAD + [0.5, 1.0, 1.1, 2.0, 0.01, 100_000.0]),
                     st.floats(0.0001, 1.0), st.floats(0.5, 200_000), st.floats(-1e4, 1e6))


# Arguments read as whole ranges (one result per call, not per row); their own properties are in
# tests/test_risk_stats.py.
KIND.update({name: "range" for name in ("pnls", "values", "r_multiples", "notionals", "margins", "symbols", "sides",
                                        "highs", "lows", "closes")})
BROADCASTING = [name for name in REGISTRY if not any(KIND.get(a.name) == "range" for a in REGISTRY[name].args)]


@pytest.mark.parametrize("name", BROADCASTING)
@given(data=st.data())
def test_a_column_call_gives_the_scalar_answers_row_by_row(name, data):
    info = REGISTRY[name]
    rows = data.draw(st.integers(2, 6), label="rows")
    columns, scalars = [], []  # per argument: what the column call gets; the value of each row
    for a in info.args:
        kind = KIND.get(a.name, "number")
        if kind == "table":
            columns.append(TIERS)
            scalars.append([TIERS] * rows)
            continue
        how = data.draw(st.sampled_from(["column", "cell", "bare"] + (["omitted"] if a.optional else [])), label=a.name)
        if how == "omitted":  # then every later optional argument is omitted too
            break
        if how == "column":
            values = data.draw(st.lists(cell_values(kind), min_size=rows, max_size=rows), label=a.name)
            columns.append([[v] for v in values])
            scalars.append(values)
        else:
            v = data.draw(cell_values(kind), label=a.name)
            columns.append([[v]] if how == "cell" else v)
            scalars.append([v] * rows)
    got = info.function(*columns)
    expected = [info.function(*[s[r] for s in scalars]) for r in range(rows)]
    if not any(isinstance(c, list) and c is not TIERS and len(c) > 1 for c in columns):
        assert got == expected[0]  # no argument was a column: a single cell
        return
    assert got == [[e] for e in expected]


def test_a_big_column_with_one_bad_row_in_the_fast_path():
    n = 5_000
    q = [[1.0 + i % 7] for i in range(n)]
    got = POSITION_SIZE([[100.0]] * n, [[1.1]] * n, [[1.095]] * (n - 1) + [[1.1]], 100_000.0, 0.01)
    assert got[:-1] == [[0.2]] * (n - 1) and got[-1] == ["stop_price must differ from entry (both 1.1)"]
    assert WIPEOUT_PIPS(q, [[10_000.0]] * n) == [[r[0] / 1.0] for r in q]
