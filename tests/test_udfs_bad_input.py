"""Bad input never raises: every Excel function, every argument, every kind of bad cell.

The cell (or that row of a spilled range) shows a message that names the argument and states the
rule, e.g. ``margin_rate must be > 0 (got -0.02)``. Values are passed both as bare scalars and as
xlwings passes them with ndim=2 (``[[v]]`` for a single cell, ``[[a], [b]]`` for a column).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

import pytest

import addin.udfs as udfs
from addin.udf_meta import REGISTRY

TIERS = [[0.0, 50e3, 0.004, 0.0], [50e3, 600e3, 0.005, 50.0], [600e3, 3e6, 0.0065, 950.0]]
DAY = datetime(2026, 1, 15)

# A valid call of every function (all arguments given), the starting point of each bad case.
GOOD: dict[str, dict[str, object]] = {
    "LEVERAGE": dict(margin_rate=0.02),
    "MARGIN_RATE": dict(leverage=50.0),
    "NOTIONAL": dict(quantity=10_000.0, price=1.1, contract_size=1.0, fx_rate=1.0),
    "MARGIN_REQUIRED": dict(quantity=10_000.0, price=1.1, leverage=50.0, contract_size=1.0, fx_rate=1.0,
                            account_is_base=False),
    "EFFECTIVE_LEVERAGE": dict(notional=5_000.0, equity=1_000.0),
    "MARGIN_LEVEL": dict(equity=600.0, used_margin=220.0),
    "FREE_MARGIN": dict(equity=1_000.0, used_margin=220.0),
    "RETURN_ON_MARGIN": dict(pnl=100.0, margin=220.0),
    "MAX_POSITION_SIZE": dict(free_margin=1_000.0, price=1.1, leverage=30.0, contract_size=100_000.0, fx_rate=1.0,
                              lot_step=0.01, account_is_base=False),
    "PIP_VALUE": dict(quantity=1.0, pip_size=0.0001, contract_size=100_000.0, fx_rate=1.0),
    "WIPEOUT_PIPS": dict(margin=220.0, quantity=10_000.0, pip_size=0.0001, contract_size=1.0, fx_rate=1.0),
    "WIPEOUT_MOVE": dict(leverage=50.0, stop_out_level=0.0, side="long", account_is_base=False),
    "MARGIN_CALL_PRICE": dict(side="long", entry=1.1, quantity=1.0, equity=2_000.0, leverage=100.0, level=1.0,
                              contract_size=100_000.0, fx_rate=1.0, other_margin=0.0, account_is_base=False),
    "STOP_OUT_PRICE": dict(side="long", entry=1.1, quantity=1.0, equity=1_000.0, leverage=100.0, level=0.5,
                           contract_size=100_000.0, fx_rate=1.0, other_margin=0.0, account_is_base=False),
    "STOCK_MARGIN_CALL_PRICE": dict(entry=100.0, initial_margin=0.5, maintenance_margin=0.3, side="long"),
    "FUTURES_MARGIN_CALL_PRICE": dict(side="long", entry=5_000.0, equity=30_000.0, maintenance_margin=12_000.0,
                                      multiplier=50.0, contracts=2.0),
    "LIQUIDATION_PRICE": dict(side="long", entry=10.0, leverage=10.0, maintenance_rate=0.01, inverse=False),
    "LIQUIDATION_PRICE_TIERED": dict(side="long", quantity=1.0, entry=60_000.0, wallet_balance=6_000.0, tiers=TIERS,
                                     other_maintenance=0.0, other_upnl=0.0),
    "RISK_AMOUNT": dict(equity=5_000.0, risk_pct=0.01),
    "POSITION_SIZE": dict(risk_amount=100.0, entry=1.1, stop_price=1.095, point_value=100_000.0, lot_step=0.01,
                          commission=0.0, min_size=0.0, max_size=0.0),
    "RISK_AT_STOP": dict(quantity=0.2, entry=1.1, stop_price=1.095, point_value=100_000.0, commission=0.0),
    "R_MULTIPLE": dict(side="long", entry=1.1, stop_price=1.095, exit_price=1.11),
    "REWARD_RISK": dict(side="short", entry=1.1, stop_price=1.105, target=1.085),
    "PROFIT_AT_PRICE": dict(side="long", entry=1.1, price=1.11, quantity=0.2, contract_size=100_000.0, fx_rate=1.0,
                            commission=7.0, account_is_base=False),
    "RECOVERY_GAIN": dict(drawdown=0.5),
    "LOSSES_TO_DRAWDOWN": dict(risk_per_trade=0.01, drawdown=0.5),
    "EQUITY_AFTER_LOSSES": dict(equity=10_000.0, risk_per_trade=0.02, losses=10.0),
    "MAX_DRAWDOWN": dict(equity_curve=[[100.0], [120.0], [90.0]]),
    "RISK_OF_RUIN": dict(win_rate=0.55, capital_units=20.0),
    "FUNDING_COST": dict(side="long", quantity=2.0, mark_price=3_000.0, funding_rate=0.0001, periods=3.0),
    "MARGIN_INTEREST": dict(borrowed=50_000.0, annual_rate=0.08, days=30.0, day_count=360.0),
    "MAX_LEVERAGE": dict(regime="ESMA", instrument="EURUSD", as_of=DAY),
    "SAFE_LEVERAGE": dict(atr_pct=0.006, atr_multiple=3.0, stop_out_level=0.5, maintenance_rate=0.0),
}

# Arguments that are not plain numbers; every other argument is read as a number.
KIND = {"side": "side", "leverage": "leverage", "inverse": "flag", "account_is_base": "flag", "regime": "text",
        "instrument": "text",
        "as_of": "date", "tiers": "table", "equity_curve": "range"}

# Values of the right type that break the argument's rule (zero, negative, out of range, unknown).
INVALID: dict[tuple[str, str], list] = {
    ("LEVERAGE", "margin_rate"): [0.0, -0.02],
    ("NOTIONAL", "price"): [0.0, -1.1], ("NOTIONAL", "contract_size"): [0.0, -1.0], ("NOTIONAL", "fx_rate"): [0.0],
    ("MARGIN_REQUIRED", "price"): [0.0, -1.1], ("MARGIN_REQUIRED", "leverage"): [0.0, -50.0, "0:1"],
    ("MARGIN_REQUIRED", "contract_size"): [0.0, -1.0], ("MARGIN_REQUIRED", "fx_rate"): [0.0, -1.0],
    ("EFFECTIVE_LEVERAGE", "notional"): [-1.0], ("EFFECTIVE_LEVERAGE", "equity"): [0.0, -1_000.0],
    ("MARGIN_LEVEL", "used_margin"): [0.0, -220.0],
    ("FREE_MARGIN", "used_margin"): [-220.0],
    ("RETURN_ON_MARGIN", "margin"): [0.0, -220.0],
    ("MAX_POSITION_SIZE", "free_margin"): [-1.0], ("MAX_POSITION_SIZE", "price"): [0.0],
    ("MAX_POSITION_SIZE", "leverage"): [0.0, -30.0], ("MAX_POSITION_SIZE", "contract_size"): [0.0],
    ("MAX_POSITION_SIZE", "fx_rate"): [0.0], ("MAX_POSITION_SIZE", "lot_step"): [-0.01],
    ("PIP_VALUE", "quantity"): [0.0], ("PIP_VALUE", "pip_size"): [0.0, -0.0001],
    ("PIP_VALUE", "contract_size"): [0.0], ("PIP_VALUE", "fx_rate"): [-1.0],
    ("WIPEOUT_PIPS", "margin"): [-1.0], ("WIPEOUT_PIPS", "quantity"): [0.0], ("WIPEOUT_PIPS", "pip_size"): [0.0],
    ("WIPEOUT_PIPS", "contract_size"): [0.0], ("WIPEOUT_PIPS", "fx_rate"): [0.0],
    ("WIPEOUT_MOVE", "leverage"): [0.0, -10.0], ("WIPEOUT_MOVE", "stop_out_level"): [-0.1, 1.0],
    ("STOCK_MARGIN_CALL_PRICE", "entry"): [0.0], ("STOCK_MARGIN_CALL_PRICE", "initial_margin"): [0.0, 1.5],
    ("STOCK_MARGIN_CALL_PRICE", "maintenance_margin"): [-0.1, 1.0], ("STOCK_MARGIN_CALL_PRICE", "side"): ["up", 0.0],
    ("FUTURES_MARGIN_CALL_PRICE", "entry"): [0.0], ("FUTURES_MARGIN_CALL_PRICE", "maintenance_margin"): [-1.0],
    ("FUTURES_MARGIN_CALL_PRICE", "multiplier"): [0.0], ("FUTURES_MARGIN_CALL_PRICE", "contracts"): [0.0, -2.0],
    ("LIQUIDATION_PRICE", "entry"): [0.0], ("LIQUIDATION_PRICE", "leverage"): [0.0, "0x"],
    ("LIQUIDATION_PRICE", "maintenance_rate"): [-0.01, 1.0], ("LIQUIDATION_PRICE", "inverse"): ["maybe", 2.0],
    ("LIQUIDATION_PRICE_TIERED", "quantity"): [0.0], ("LIQUIDATION_PRICE_TIERED", "entry"): [0.0, -1.0],
    ("LIQUIDATION_PRICE_TIERED", "other_maintenance"): [-1.0],
    ("LIQUIDATION_PRICE_TIERED", "tiers"): [[[0.0, 50e3]], [[50e3, 0.0, 0.004]], [[0.0, 1e5, 1.5]],
                                            [[0.0, 1e5, 0.004, 0.0, 1.0]], [[0.0, 1e5, "x"]]],
    ("RISK_AMOUNT", "risk_pct"): [-0.01, 1.5],
    ("POSITION_SIZE", "risk_amount"): [-100.0], ("POSITION_SIZE", "entry"): [0.0], ("POSITION_SIZE", "stop_price"): [0.0, 1.1],
    ("POSITION_SIZE", "point_value"): [0.0], ("POSITION_SIZE", "lot_step"): [-0.01],
    ("POSITION_SIZE", "commission"): [-1.0], ("POSITION_SIZE", "min_size"): [-1.0], ("POSITION_SIZE", "max_size"): [-1.0],
    ("RISK_AT_STOP", "entry"): [0.0], ("RISK_AT_STOP", "stop_price"): [-1.0], ("RISK_AT_STOP", "point_value"): [0.0],
    ("RISK_AT_STOP", "commission"): [-1.0],
    ("R_MULTIPLE", "entry"): [0.0], ("R_MULTIPLE", "exit_price"): [0.0],
    ("REWARD_RISK", "entry"): [-1.0],
    ("RECOVERY_GAIN", "drawdown"): [-0.1, 1.0, 1.5],
    ("LOSSES_TO_DRAWDOWN", "risk_per_trade"): [0.0, 1.0], ("LOSSES_TO_DRAWDOWN", "drawdown"): [0.0, 1.0],
    ("EQUITY_AFTER_LOSSES", "risk_per_trade"): [-0.1, 1.5], ("EQUITY_AFTER_LOSSES", "losses"): [-1.0],
    ("MAX_DRAWDOWN", "equity_curve"): [[[0.0], [1.0]], [[-5.0]], [[100.0], ["abc"]], [[1.0, 2.0], [3.0]]],
    ("RISK_OF_RUIN", "win_rate"): [-0.1, 1.5], ("RISK_OF_RUIN", "capital_units"): [-1.0],
    ("FUNDING_COST", "mark_price"): [0.0], ("FUNDING_COST", "funding_rate"): [1.0, -1.0],
    ("FUNDING_COST", "periods"): [-1.0],
    ("MARGIN_INTEREST", "borrowed"): [-1.0], ("MARGIN_INTEREST", "annual_rate"): [-0.01, 1.0],
    ("MARGIN_INTEREST", "days"): [-1.0], ("MARGIN_INTEREST", "day_count"): [0.0, 300.0],
    ("MAX_LEVERAGE", "regime"): ["XXX", "SEC"], ("MAX_LEVERAGE", "instrument"): ["ABC", "EURXYZ", "BITCOIN"],
    ("MAX_LEVERAGE", "as_of"): ["yesterday", "2026-13-01"],
    ("SAFE_LEVERAGE", "atr_pct"): [0.0, -0.006], ("SAFE_LEVERAGE", "atr_multiple"): [0.0],
    ("SAFE_LEVERAGE", "stop_out_level"): [-0.1, 1.0], ("SAFE_LEVERAGE", "maintenance_rate"): [-0.01, 1.0],
    ("MARGIN_RATE", "leverage"): [0.0, -30.0, "1:0", "abc:30", "x", "xx30xx", "30 lots", "1:30:1"],
    ("WIPEOUT_MOVE", "side"): ["up", 0.0, 2.0],
    ("PROFIT_AT_PRICE", "entry"): [0.0], ("PROFIT_AT_PRICE", "price"): [0.0, -1.0],
    ("PROFIT_AT_PRICE", "quantity"): [math.inf], ("PROFIT_AT_PRICE", "contract_size"): [0.0],
    ("PROFIT_AT_PRICE", "fx_rate"): [0.0], ("PROFIT_AT_PRICE", "commission"): [-1.0],
    ("R_MULTIPLE", "stop_price"): [0.0, 1.1, 1.2], ("REWARD_RISK", "stop_price"): [1.1, 1.09],
    ("REWARD_RISK", "target"): [0.0, 1.2, 1.1],
}
# The functions over whole ranges, and RISK_OF_RUIN's third argument. A range with nothing to
# compute ("no losing trades", "needs 2 or more R multiples") is not a bad cell: tests/test_risk_stats.py.
PNLS = [[120.0], [-50.0], [None], [80.0], [0.0], [-40.0], [30.0]]
BARS = [(48.70, 47.79, 48.16), (48.72, 48.14, 48.61), (48.90, 48.39, 48.75), (48.87, 48.37, 48.63),
        (48.82, 48.24, 48.74), (49.05, 48.635, 49.03), (49.20, 48.94, 49.07), (49.35, 48.86, 49.32),
        (49.92, 49.50, 49.91), (50.19, 49.87, 50.13), (50.12, 49.20, 49.53), (49.66, 48.90, 49.50),
        (49.88, 49.43, 49.75), (50.19, 49.725, 50.03), (50.36, 49.26, 50.31)]
GOOD.update({
    "RISK_OF_RUIN": dict(win_rate=0.55, capital_units=20.0, payoff_ratio=1.0),
    "WIN_RATE": dict(pnls=PNLS),
    "PROFIT_FACTOR": dict(pnls=PNLS),
    "PAYOFF_RATIO": dict(pnls=PNLS),
    "EXPECTANCY": dict(values=PNLS),
    "SQN": dict(r_multiples=[[0.86], [4.40], [-0.72], [None], [0.44], [1.57], [1.13], [-1.70], [-0.58]]),
    "KELLY_FRACTION": dict(win_rate=0.55, payoff_ratio=2.0),
    "PORTFOLIO_STOP_OUT_MOVE": dict(equity=10_000.0, notionals=[[100_000.0], [50_000.0]],
                                    margins=[[3_333.33], [1_666.67]], stop_out_level=0.5),
    "CURRENCY_EXPOSURE": dict(symbols=[["EURUSD"], ["USDJPY"]], sides=[["long"], ["short"]],
                              notionals=[[100_000.0], [50_000.0]], account_currency="USD"),
    "ATR": dict(highs=[[h] for h, _, _ in BARS], lows=[[lo] for _, lo, _ in BARS], closes=[[c] for _, _, c in BARS],
                period=14.0),
    "ATR_STOP": dict(side="long", entry=1.1, atr=0.006, multiple=2.0),
})
KIND.update({name: "range" for name in ("pnls", "values", "r_multiples", "notionals", "margins", "highs", "lows",
                                        "closes", "symbols", "sides")})
KIND.update({"account_currency": "text"})
INVALID.update({
    ("RISK_OF_RUIN", "payoff_ratio"): [0.0, -1.0],
    ("WIN_RATE", "pnls"): [[[0.0], [0.0]], [[1.0], ["x"]]],
    ("EXPECTANCY", "values"): [[[None], [None]], [[1.0], [True]]],
    ("SQN", "r_multiples"): [[[1.0], [1.0]], [[1.0], ["#N/A"]]],
    ("KELLY_FRACTION", "win_rate"): [-0.1, 1.5], ("KELLY_FRACTION", "payoff_ratio"): [0.0, -2.0],
    ("PORTFOLIO_STOP_OUT_MOVE", "equity"): [[[1.0], [2.0]]],
    ("PORTFOLIO_STOP_OUT_MOVE", "notionals"): [[[0.0]], [[1.0, 2.0], [3.0]]],
    ("PORTFOLIO_STOP_OUT_MOVE", "margins"): [[[-1.0]], [["abc"]]],
    ("PORTFOLIO_STOP_OUT_MOVE", "stop_out_level"): [-0.5],
    ("CURRENCY_EXPOSURE", "symbols"): [[["EURUSD"]], [[True], ["USDJPY"]]],
    ("CURRENCY_EXPOSURE", "sides"): [[["up"], ["short"]], [[0.0], [1.0]]],
    ("CURRENCY_EXPOSURE", "notionals"): [[[1.0]], [[1.0], [None]]],
    ("CURRENCY_EXPOSURE", "account_currency"): ["US DOLLAR", "12"],
    ("ATR", "highs"): [[[1.0]] * 15, [[40.0]] * 15],
    ("ATR", "period"): [0.0, -14.0, 2.5, 16.0],
    ("ATR_STOP", "entry"): [0.0, -1.0], ("ATR_STOP", "atr"): [0.0, -0.006], ("ATR_STOP", "multiple"): [0.0],
})


# MAE, MFE and LOWEST_MARGIN_LEVEL: one trade's bars, and the margin level at its worst price
LOWS = [[lo] for _, lo, _ in BARS]
HIGHS = [[h] for h, _, _ in BARS]
GOOD.update({
    "MAE": dict(side="long", entry=48.5, lows=LOWS, highs=HIGHS),
    "MFE": dict(side="short", entry=48.5, lows=LOWS, highs=HIGHS),
    "LOWEST_MARGIN_LEVEL": dict(side="long", entry=1.1, adverse_price=1.096, quantity=1.0, equity=1_000.0,
                                leverage=100.0, contract_size=100_000.0, fx_rate=1.0, other_margin=0.0,
                                account_is_base=False),
})
INVALID.update({
    ("MAE", "entry"): [0.0, -1.0, [[1.0], [2.0]]], ("MFE", "side"): [[["long"], ["short"]]],
    ("MAE", "lows"): [[[48.0]], [[50.0]] * 15, [["x"]] * 15], ("MFE", "highs"): [[[None]] * 15, [[1.0, 2.0]] * 15],
    ("LOWEST_MARGIN_LEVEL", "adverse_price"): [0.0, -1.0], ("LOWEST_MARGIN_LEVEL", "quantity"): [0.0],
    ("LOWEST_MARGIN_LEVEL", "leverage"): [0.0, "1:0"], ("LOWEST_MARGIN_LEVEL", "other_margin"): [-1.0],
    ("LOWEST_MARGIN_LEVEL", "fx_rate"): [0.0], ("LOWEST_MARGIN_LEVEL", "contract_size"): [0.0],
})


def over_ranges(name: str) -> bool:
    """True for the functions that read whole ranges into one result (no row-by-row spill)."""
    return any(KIND.get(a.name) == "range" for a in REGISTRY[name].args)


for (_f, _a) in [(f, "account_is_base") for f, args in GOOD.items() if "account_is_base" in args]:
    INVALID.setdefault((_f, _a), ["maybe", 2.0])
for (_f, _a) in [(f, "side") for f, args in GOOD.items() if "side" in args]:
    INVALID.setdefault((_f, _a), ["up", "flat", 0.0, 2.0])

RULE = re.compile(r"\b(must|is required|is an Excel error|do not line up)\b")

WRAPS = {"bare": lambda v: v, "cell": lambda v: [[v]]}


def call(name: str, args: dict, wrap=lambda v: v):
    """Call an Excel function positionally, wrapping the single-cell arguments (not tables)."""
    info = REGISTRY[name]
    values = [args[a.name] if KIND.get(a.name) in ("table", "range") else wrap(args[a.name]) for a in info.args]
    return info.function(*values)


def kinds_of_bad(name: str, arg: str) -> list:
    """The generic bad cells for an argument of this kind (beyond its own INVALID values)."""
    kind = KIND.get(arg, "number")
    bad = ["abc", math.nan, math.inf, -math.inf, "#N/A"]
    if kind != "flag":
        bad.append(True)  # TRUE where a number, side, leverage, text or date belongs
    if kind in ("text",):
        bad.remove("abc")  # text is text; unknown names are in INVALID
    if kind == "date":
        bad.remove(-math.inf)
    return bad


def cases():
    for name, info in REGISTRY.items():
        for a in info.args:
            values = kinds_of_bad(name, a.name) + INVALID.get((name, a.name), [])
            if not a.optional:
                values.append(None)
            for v in values:
                yield pytest.param(name, a.name, v, id=f"{name}-{a.name}-{v!r}")


def test_every_function_and_argument_has_a_good_value():
    assert set(GOOD) == set(REGISTRY)
    for name, info in REGISTRY.items():
        assert list(GOOD[name]) == [a.name for a in info.args], name
        good = call(name, GOOD[name])
        if name == "CURRENCY_EXPOSURE":  # spills two columns: currency, net exposure
            assert good and all(isinstance(c, str) and math.isfinite(v) for c, v in good), good
            continue
        assert isinstance(good, (int, float)) and math.isfinite(good), f"{name}: the GOOD call gives {good!r}"


@pytest.mark.parametrize("wrap", WRAPS.values(), ids=WRAPS.keys())
@pytest.mark.parametrize("name, arg, value", list(cases()))
def test_bad_cell_gives_a_message_naming_the_argument_and_the_rule(name, arg, value, wrap):
    args = dict(GOOD[name], **{arg: value})
    got = call(name, args, wrap)
    assert isinstance(got, str), f"{name}({arg}={value!r}) gave {got!r}, not a message"
    assert arg in got, f"{name}({arg}={value!r}): the message {got!r} does not name {arg}"
    assert RULE.search(got), f"{name}({arg}={value!r}): the message {got!r} states no rule"
    assert "Traceback" not in got and "Error" not in got.replace("Excel error", "")


def test_the_message_convention():
    assert udfs.LEVERAGE(-0.02) == "margin_rate must be > 0 (got -0.02)"
    assert udfs.LEVERAGE([[-0.02]]) == "margin_rate must be > 0 (got -0.02)"
    assert udfs.LEVERAGE(None) == "margin_rate is required (the cell is empty)"
    assert udfs.LEVERAGE("abc") == "margin_rate must be a number (got 'abc')"
    assert udfs.LEVERAGE(True) == "margin_rate must be a number (got TRUE)"
    assert udfs.LEVERAGE(math.nan) == "margin_rate must be a number (got NaN)"
    assert udfs.LEVERAGE(math.inf) == "margin_rate must be finite (got +infinity)"
    assert udfs.LEVERAGE("#DIV/0!") == "margin_rate is an Excel error (#DIV/0!)"
    assert udfs.MARGIN_RATE(math.nan) == "leverage must be a number (got NaN)"  # as for any number
    assert udfs.MARGIN_RATE([[-math.inf]]) == "leverage must be finite (got -infinity)"
    assert udfs.MARGIN_RATE("abc") == "leverage must be a number or text like 1:30, 30:1 or 30x (got 'abc')"
    assert udfs.R_MULTIPLE("up", 1.1, 1.095, 1.11) == "side must be long/buy, short/sell, 1 or -1 (got 'up')"
    assert udfs.POSITION_SIZE(100.0, 1.1, 1.1) == "stop_price must differ from entry (both 1.1)"
    assert udfs.MAX_LEVERAGE("SEC", "EURUSD") == "regime must be one of ESMA, FCA, ASIC, NFA, JFSA, REGT, NONE (got 'SEC')"


@pytest.mark.parametrize("wrap", WRAPS.values(), ids=WRAPS.keys())
@pytest.mark.parametrize("name", list(REGISTRY))
def test_an_optional_argument_left_empty_takes_its_default(name, wrap):
    info = REGISTRY[name]
    required = [a for a in info.args if not a.optional]
    base = info.function(*[GOOD[name][a.name] if KIND.get(a.name) in ("table", "range") else wrap(GOOD[name][a.name])
                           for a in required])
    for i, a in enumerate(info.args):
        if not a.optional:
            continue
        # classic Excel passes None for an empty cell: same as leaving the argument out
        values = [GOOD[name][b.name] if KIND.get(b.name) in ("table", "range") else wrap(GOOD[name][b.name])
                  for b in info.args[:i]] + [wrap(None) if wrap(None) is not None else None]
        assert info.function(*values) == base or _default_differs_from_good(name, info.args[:i]), (name, a.name)
        # and the empty cell gives exactly what the default itself gives
        explicit = values[:-1] + [wrap(a.default)]
        assert info.function(*values) == info.function(*explicit), (name, a.name)


def _default_differs_from_good(name: str, given) -> bool:
    """True when an optional argument before this one was given a GOOD value other than its default."""
    return any(b.optional and GOOD[name][b.name] != b.default for b in given)


def test_empty_optional_cells_in_a_row():
    # =MARGIN_REQUIRED(10000, 1.1, "1:50", , ) in classic Excel: two empty optional cells
    assert udfs.MARGIN_REQUIRED(10_000.0, 1.1, "1:50", None, None) == pytest.approx(220)
    assert udfs.POSITION_SIZE([[100.0]], [[1.1]], [[1.095]], [[100_000.0]], [[None]], [[None]]) == pytest.approx(0.2)
    assert udfs.LIQUIDATION_PRICE([["long"]], [[10.0]], [[10.0]], [[0.01]], [[None]]) == pytest.approx(9.1)
    assert isinstance(udfs.MAX_LEVERAGE("ESMA", "EURUSD", None), float)  # today's rules


# --- Ranges -----------------------------------------------------------------------------------------

def first_invalid(name: str):
    """An argument of ``name`` read per row and a value breaking its rule."""
    for a in REGISTRY[name].args:
        if KIND.get(a.name) not in ("table", "range") and (name, a.name) in INVALID:
            return a.name, INVALID[(name, a.name)][0]
    return None


@pytest.mark.parametrize("name", [n for n in REGISTRY if first_invalid(n) and not over_ranges(n)])
def test_a_bad_row_gets_its_message_and_the_other_rows_their_values(name):
    arg, bad = first_invalid(name)
    good = GOOD[name]
    column = [[good[arg]], [bad], [None], [good[arg]]]
    args = dict(good, **{arg: column})
    got = call(name, args, wrap=lambda v: v)
    value = call(name, good)
    message = call(name, dict(good, **{arg: bad}))
    empty = call(name, dict(good, **{arg: None}))
    assert got == [[value], [message], [empty], [value]]
    assert isinstance(message, str) and arg in message


@pytest.mark.parametrize("name", [n for n in REGISTRY if not over_ranges(n)])
def test_a_column_of_good_rows_spills_one_value_per_row(name):
    info = REGISTRY[name]
    good = GOOD[name]
    per_row = [a for a in info.args if KIND.get(a.name) not in ("table", "range")]
    args = dict(good, **{a.name: [[good[a.name]], [good[a.name]]] for a in per_row})
    assert call(name, args) == [[call(name, good)]] * 2


def test_mismatched_ranges_say_so():
    got = udfs.MARGIN_REQUIRED([[1.0], [2.0], [3.0]], [[1.1], [1.2]], 50.0)
    assert got == "ranges do not line up: one argument is 2×1 cells, the result would be 3×1"
    assert isinstance(udfs.POSITION_SIZE([[100.0], [50.0]], [[1.1], [1.1], [1.1]], 1.095), str)


def test_a_ragged_range_is_a_message_not_a_traceback():
    assert udfs.LEVERAGE([[0.02, 0.01], [0.03]]) == "margin_rate must be a rectangular range (row 2 has 1 cell, row 1 has 2 cells)"
    assert udfs.NOTIONAL([[1.0], [2.0, 3.0]], 1.1) == "quantity must be a rectangular range (row 2 has 2 cells, row 1 has 1 cell)"
    assert udfs.NOTIONAL([[1.0], []], 1.1) == "quantity must be a rectangular range (row 2 has 0 cells, row 1 has 1 cell)"
    assert udfs.NOTIONAL([], 1.1) == "quantity must not be an empty range (it has no rows)"
    assert udfs.NOTIONAL([[]], 1.1) == "quantity must not be an empty range (its rows have no cells)"
    assert udfs.NOTIONAL([[1.0], 2.0], 1.1) == "quantity must be a rectangular range (it mixes rows and single cells)"
    assert "equity_curve" in udfs.MAX_DRAWDOWN([[1.0, 2.0], [3.0]])


def test_a_column_against_a_row_gives_a_grid():
    got = udfs.MARGIN_REQUIRED([[10_000.0], [20_000.0]], 1.1, [[10.0, "1:50", -1.0]])
    assert got == [[1_100.0, 220.0, "leverage must be > 0 (got -1)"], [2_200.0, 440.0, "leverage must be > 0 (got -1)"]]


def test_numbers_beyond_the_float_range_are_a_message_not_a_traceback():
    # finite inputs whose result is too large or too small for a float
    for got in (udfs.LEVERAGE(1e-320), udfs.WIPEOUT_PIPS(1.0, 5e-324, 5e-324, 0.5), udfs.SAFE_LEVERAGE(5e-324, 0.5),
                udfs.LOSSES_TO_DRAWDOWN(1e-320, 0.5), udfs.POSITION_SIZE(1e308, 1e-300, 1e5, 0.5, 1e-17),
                udfs.MAX_POSITION_SIZE(1.7e308, 360.0, 1e5, 1e5, 365.0, 50.0), udfs.NOTIONAL(1e300, 1e300)):
        assert got == "result out of range: the inputs are too large or too small to compute it"
    assert udfs.NOTIONAL(10**400, 1.0) == "quantity must be finite (got +infinity)"


def test_decimal_cells_read_as_numbers():
    # pywin32 reads currency-formatted cells as decimal.Decimal (xlwings issue #65)
    from decimal import Decimal

    assert udfs.MARGIN_LEVEL([[Decimal("500")]], [[100.0]]) == 5.0
    assert udfs.MARGIN_LEVEL(Decimal("NaN"), 100.0) == "equity must be a number (got NaN)"
