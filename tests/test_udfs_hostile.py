"""Hostile cells never raise and never compute from ranges whose shapes do not line up.

Every exported function (the registry) is called with values of every kind a cell, xlwings or a
careless caller can hand it -- sNaN/NaN/infinity (float and Decimal), integers beyond the float range,
TRUE/FALSE, dates, Excel errors, empty strings, text -- in every shape: a bare value, [[v]], a column,
a row (1×n), a grid, ragged rows, empty rows, 0-row ranges. The result must be a number or a message
(never an exception), and when the ranges line up, shaped like their broadcast.

Two drivers share one generator: hypothesis (shrinks a failure to its smallest call) and a seeded fuzz
run of 10,000 calls per CI run (a fixed, broad sample; a few seconds).
"""

from __future__ import annotations

import math
import random
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import addin.udfs  # noqa: F401  (registers the functions)
from addin.udf_meta import REGISTRY

KIND = {"side": "side", "leverage": "leverage", "inverse": "flag", "account_is_base": "flag", "regime": "regime",
        "instrument": "instrument", "as_of": "date", "tiers": "table", "equity_curve": "range",
        # the functions over whole ranges: one result from each range, never a spill per row
        **{name: "range" for name in ("pnls", "values", "r_multiples", "notionals", "margins", "highs", "lows",
                                      "closes", "symbols", "sides")}}
OVER_RANGES = {name for name, info in REGISTRY.items() if any(KIND.get(a.name) == "range" for a in info.args)}

HOSTILE = [Decimal("sNaN"), Decimal("NaN"), Decimal("-Infinity"), Decimal("1e400"), Decimal("2.5"), math.nan,
           math.inf, -math.inf, 10**400, -(10**400), 10**20, True, False, datetime(2026, 1, 15), date(2026, 1, 15),
           None, "", " ", "abc", "#N/A", "#DIV/0!", "xx30xx", "1:0", 1e308, -1e308, 5e-324, -0.0, 0.0, -1.0, 0]
GOOD = {
    "number": [0.01, 0.5, 1.0, 1.1, 2.0, 3.0, 30.0, 100.0, 1_000.0, 100_000.0, 0.0001],
    "side": ["long", "short", "Buy", "SELL", 1.0, -1.0],
    "leverage": [30.0, "1:30", "50x", 10.0, 500.0],
    "flag": [True, False, 0.0, 1.0, "TRUE"],
    "regime": ["ESMA", "FCA", "ASIC", "NFA", "JFSA", "REGT"],
    "instrument": ["EURUSD", "AUDUSD.m", "EURUSDT", "BTCUSD", "GOLD", "US500", "EQUITY"],
    "date": [datetime(2020, 6, 1), datetime(2026, 1, 15), "2019-01-01", 45_000.0],
}
TABLES = [
    [[0.0, 50e3, 0.004], [50e3, 600e3, 0.005], [600e3, 3e6, 0.0065]],
    [[0.0, 50e3, 0.004, 0.0]],
    [[0.0, 50e3, math.nan]], [[0.0, 50e3, 10**400]], [[0.0, 50e3, Decimal("sNaN")]], [[0.0, 50e3, True]],
    [[0.0, 50e3, 0.004], [50e3]], [], [[]], [[None, None, None]], 5.0, "abc",
]
CURVES = [[[100.0], [120.0], [90.0]], [[100.0, 120.0, 90.0]], [[1.0], []], [], [[]], [[Decimal("sNaN")]],
          [[10**400]], [[True]], [[datetime(2026, 1, 1)]], [[None]], [[100.0], ["x"]], 5.0]
SHAPES = ["bare", "cell", "column", "row", "grid", "other column", "ragged", "empty rows", "no rows", "no cells"]


def draw_call(name: str, pick, rows: int, cols: int):
    """Arguments for one call of ``name`` (``pick(seq)`` chooses) and the expected (rows, cols) of its
    result: None when a range cannot be read, so the answer must be a single message."""
    info = REGISTRY[name]
    args, shapes, readable = [], [], True
    n_args = len(info.args) - pick(range(len(info.args) - sum(1 for a in info.args if not a.optional) + 1))
    for a in info.args[:n_args]:
        kind = KIND.get(a.name, "number")
        if kind == "table":
            args.append(pick(TABLES))
            continue
        if kind == "range":
            args.append(pick(CURVES))
            continue

        def cell():
            return pick(GOOD[kind]) if pick((True, False)) else pick(HOSTILE)

        shape = pick(SHAPES)
        if shape == "bare":
            args.append(cell())
        elif shape == "cell":
            args.append([[cell()]])
        elif shape == "column":
            args.append([[cell()] for _ in range(rows)])
            shapes.append((rows, 1))
        elif shape == "row":
            args.append([[cell() for _ in range(cols)]])
            shapes.append((1, cols))
        elif shape == "grid":
            args.append([[cell() for _ in range(cols)] for _ in range(rows)])
            shapes.append((rows, cols))
        elif shape == "other column":
            args.append([[cell()] for _ in range(rows + 1)])
            shapes.append((rows + 1, 1))
        elif shape == "ragged":
            args.append([[cell()], [cell(), cell()]])
            readable = False
        elif shape == "empty rows":
            args.append([[cell()], []])
            readable = False
        elif shape == "no rows":
            args.append([])
            readable = False
        else:
            args.append([[]])
            readable = False
    if not readable:
        return args, None
    out_rows = max([r for r, _ in shapes], default=1)
    out_cols = max([c for _, c in shapes], default=1)
    if any(r not in (1, out_rows) or c not in (1, out_cols) for r, c in shapes):
        return args, None  # the ranges do not line up: one message
    return args, (out_rows, out_cols)


def is_value(v) -> bool:
    """A number Excel can show (finite, not a bool) or a message."""
    if isinstance(v, str):
        return bool(v) and not v.startswith("#")
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check(name: str, args: list, shape) -> None:
    got = REGISTRY[name].function(*args)  # must not raise
    if name == "CURRENCY_EXPOSURE" and isinstance(got, list):  # spills (currency, net exposure) rows
        assert all(isinstance(c, str) and c and is_value(v) for c, v in got), f"{name}{tuple(args)!r} gave {got!r}"
        return
    if shape is None or name in OVER_RANGES or shape == (1, 1):
        assert is_value(got), f"{name}{tuple(args)!r} gave {got!r}"
        return
    if isinstance(got, str) and name == "LIQUIDATION_PRICE_TIERED":
        return  # an unreadable tier table is one message for the whole call
    rows, cols = shape
    assert isinstance(got, list) and len(got) == rows, f"{name}{tuple(args)!r}: {got!r} is not {rows} rows"
    for row in got:
        assert isinstance(row, list) and len(row) == cols, f"{name}{tuple(args)!r}: row {row!r} is not {cols} cells"
        assert all(is_value(v) for v in row), f"{name}{tuple(args)!r} gave {row!r}"


@pytest.mark.parametrize("name", list(REGISTRY))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_calls_give_numbers_or_messages_shaped_like_the_broadcast(name, data):
    rows = data.draw(st.integers(2, 3), label="rows")
    cols = data.draw(st.integers(2, 3), label="cols")
    args, shape = draw_call(name, lambda seq: data.draw(st.sampled_from(list(seq))), rows, cols)
    check(name, args, shape)


FUZZ_CALLS = 10_000


def test_fuzz_ten_thousand_hostile_calls_raise_nothing():
    rnd = random.Random(20261129)
    names = list(REGISTRY)
    start = time.perf_counter()
    for i in range(FUZZ_CALLS):
        name = names[i % len(names)]
        args, shape = draw_call(name, lambda seq: rnd.choice(list(seq)), rnd.randint(2, 3), rnd.randint(2, 3))
        check(name, args, shape)
    assert time.perf_counter() - start < 60  # a budget for CI, not a benchmark: it takes a few seconds


def test_the_generator_reaches_every_kind_of_hostile_cell_and_shape():
    # the fuzz run is only as good as what it draws: each shape and each hostile value is drawn
    rnd = random.Random(1)
    seen_shapes, seen_values = set(), set()

    def pick(seq):
        seq = list(seq)
        v = rnd.choice(seq)
        if seq is SHAPES or seq == SHAPES:
            seen_shapes.add(v)
        elif seq == HOSTILE:
            seen_values.add(repr(v))
        return v

    for i in range(3_000):
        draw_call(list(REGISTRY)[i % len(REGISTRY)], pick, 2, 3)
    assert seen_shapes == set(SHAPES)
    assert seen_values == {repr(v) for v in HOSTILE}


def test_examples_that_used_to_raise_or_compute():
    from addin.udfs import LEVERAGE, NOTIONAL

    assert NOTIONAL([[1.0], [2.0, 3.0]], 1.1) == "quantity must be a rectangular range (row 2 has 2 cells, row 1 has 1 cell)"
    assert NOTIONAL([[1.0], []], 1.1).startswith("quantity must be a rectangular range")
    assert NOTIONAL(Decimal("sNaN"), 1.1) == "quantity must be a number (got NaN)"
    assert NOTIONAL(10**400, 1.1) == "quantity must be finite (got +infinity)"
    assert LEVERAGE([]) == "margin_rate must not be an empty range (it has no rows)"
    assert LEVERAGE([[0.02, 0.04]]) == [[50.0, 25.0]]  # a 1×n row spills as a row
