"""addin.risk.hedging: MetaTrader's hedged margin, by hand, by property, and its doctests."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, strategies as st

from addin.risk import hedging
from addin.risk.errors import RiskInputError


def test_doctests():
    result = doctest.testmod(hedging)
    assert result.attempted > 0 and result.failed == 0


def test_a_full_lock_at_50pct_costs_one_leg():
    """Buy 1 lot / sell 1 lot EURUSD, 1,000 each in full: at 50% the lock costs 1,000 (one lot)."""
    assert hedging.hedged_margin([1, -1], [1, 1], [1000, 1000], 0.5) == 1000
    assert hedging.hedged_margin([1, -1], [1, 1], [1000, 1000], 0.0) == 0


@pytest.mark.parametrize("bad", [dict(hedged_rate=1.5), dict(hedged_rate=-0.1), dict(lots=-1),
                                 dict(hedged=2.0), dict(full_margin=float("nan"))])
def test_bad_input_names_the_argument(bad):
    args = dict(full_margin=100.0, lots=1.0, side_lots=1.0, hedged=1.0, hedged_rate=0.5) | bad
    with pytest.raises(RiskInputError, match=next(iter(bad))):
        hedging.hedged_position_margin(**args)


lots = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.lists(st.tuples(st.sampled_from([1, -1]), lots, st.floats(min_value=0, max_value=1e6)), max_size=8),
       st.floats(min_value=0, max_value=1))
def test_hedged_margin_lies_between_the_locks_free_and_no_relief(positions, rate):
    """With one margin per lot (a Forex pair), the symbol's hedged margin is exactly
    uncovered lots x margin per lot + hedged lots x 2 x rate x margin per lot; it never exceeds the
    margin without relief nor falls below the uncovered lots' margin."""
    per_lot = 1000.0
    sides = [s for s, _, _ in positions]
    q = [x for _, x, _ in positions]
    got = hedging.hedged_margin(sides, q, [x * per_lot for x in q], rate)
    long_, short = sum(x for s, x in zip(sides, q) if s > 0), sum(x for s, x in zip(sides, q) if s < 0)
    h = min(long_, short)
    want = abs(long_ - short) * per_lot + h * 2 * rate * per_lot
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6)
    assert abs(long_ - short) * per_lot - 1e-6 <= got <= (long_ + short) * per_lot + 1e-6
