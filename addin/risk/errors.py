"""The two ways a risk function declines to answer.

:class:`RiskInputError` — an argument breaks a rule; the message names the argument and the rule,
e.g. ``margin_rate must be > 0 (got -0.02)``. :class:`NoPrice` — the inputs are valid but the price
asked for does not exist (a long whose equity covers the whole position is never stopped out).
Both are ValueErrors so plain Python callers can catch either.
"""

from __future__ import annotations


class RiskInputError(ValueError):
    """An argument is outside the function's domain."""


class NoPrice(ValueError):
    """A price level that the position can never reach."""


def show(value: object) -> str:
    """A value as it appears in a message: 0.02, 1e-09, 'abc', True."""
    if isinstance(value, float):
        return f"{value:.10g}"
    return repr(value)


def must(name: str, rule: str, value: object) -> RiskInputError:
    """The error for ``name`` breaking ``rule``: ``must('margin_rate', '> 0', -0.02)``."""
    return RiskInputError(f"{name} must be {rule} (got {show(value)})")
