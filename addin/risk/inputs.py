"""How traders write leverage and direction, read into numbers.

``leverage`` may be a number (30, 3.33) or text "1:30", "30:1", "30x", "x30", "30". ``side`` may be
"long"/"buy", "short"/"sell" (any case) or +1 / -1. These are shared by the Excel layer, the journal
and the statement import, so a trader's "1:30" means the same everywhere.
"""

from __future__ import annotations

import math
import re

from .errors import RiskInputError, must

_LONG = frozenset({"long", "buy", "l", "b", "+1", "1"})
_SHORT = frozenset({"short", "sell", "s", "-1"})


_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_LEVERAGE_TEXT = re.compile(rf"^(?:(?P<a>{_NUMBER}):(?P<b>{_NUMBER})|x?(?P<x>{_NUMBER})|(?P<y>{_NUMBER})x)$")


def parse_leverage(value: object, name: str = "leverage") -> float:
    """Leverage as a positive float from 30, "1:30", "30:1", "30x" or "x30".

    In a ratio the larger side is the exposure, so "1:30" and "30:1" are both 30; "1:1" is 1. The text
    must be one of those forms as a whole: "xx30xx", "30 lots" or "1:30:1" are refused, not read as 30.

    >>> parse_leverage("1:30"), parse_leverage("30x"), parse_leverage(3.33)
    (30.0, 30.0, 3.33)
    """
    if isinstance(value, bool) or value is None:
        raise must(name, "a number or text like 1:30", value)
    if isinstance(value, (int, float)):
        try:
            lev = float(value)
        except OverflowError:  # an int beyond the float range
            raise RiskInputError(f"{name} must be finite (got {'+' if value > 0 else '-'}infinity)") from None
        if math.isnan(lev):
            raise RiskInputError(f"{name} must be a number (got NaN)")
        if math.isinf(lev):
            raise RiskInputError(f"{name} must be finite (got {'+' if lev > 0 else '-'}infinity)")
    elif isinstance(value, str):
        match = _LEVERAGE_TEXT.match(value.strip().lower().replace(" ", ""))
        lev = math.nan
        if match:
            if match["a"] is not None:
                a_, b_ = float(match["a"]), float(match["b"])
                if a_ > 0 and b_ > 0:
                    lev = max(a_, b_) / min(a_, b_)
            else:
                lev = float(match["x"] if match["x"] is not None else match["y"])
        if not lev > 0 or not math.isfinite(lev):
            raise RiskInputError(f"{name} must be a number or text like 1:30, 30:1 or 30x (got {value!r})")
    else:
        raise must(name, "a number or text like 1:30", value)
    if not (lev > 0 and math.isfinite(lev)):
        raise must(name, "> 0", lev)
    return lev


def parse_side(value: object, name: str = "side") -> int:
    """+1 for long/buy, -1 for short/sell.

    >>> parse_side("Buy"), parse_side("SHORT"), parse_side(-1.0)
    (1, -1, -1)
    """
    if isinstance(value, bool):
        raise RiskInputError(f"{name} must be long/buy, short/sell, 1 or -1 (got {value!r})")
    if isinstance(value, (int, float)):
        if value == 1:
            return 1
        if value == -1:
            return -1
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in _LONG:
            return 1
        if text in _SHORT:
            return -1
    raise RiskInputError(f"{name} must be long/buy, short/sell, 1 or -1 (got {value!r})")
