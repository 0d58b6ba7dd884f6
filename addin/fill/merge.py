"""Merging the trades of several statements into a new journal on (broker, account, trade id),
compared as :func:`.journal_state.trade_key` does (case and whitespace do not matter)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..statements.model import RejectedRow, Trade


@dataclass
class MergeResult:
    trades: list[Trade]
    added: int = 0
    already_present: int = 0
    updated: int = 0  # open in the journal, closed in the new statement
    added_keys: set = field(default_factory=set)


def merge_trades(existing: list[Trade], incoming: list[Trade]) -> MergeResult:
    """Existing trades first, in their order; new trades appended in time order.

    A trade already in the journal is kept as it is (the user may have edited it), except that an
    open trade the new statement shows closed is replaced by the closed one. Re-importing the same
    statement therefore adds nothing.
    """
    from .journal_state import trade_key

    def key(t: Trade) -> tuple[str, str, str]:
        return trade_key(t.broker, t.account, t.trade_id)

    index = {key(t): i for i, t in enumerate(existing)}
    merged = list(existing)
    result = MergeResult(merged)
    fresh: list[Trade] = []
    for t in incoming:
        at = index.get(key(t))
        if at is None:
            index[key(t)] = -1 - len(fresh)
            fresh.append(t)
            continue
        if at < 0:  # the same trade twice in this import (overlapping statements)
            prev = fresh[-1 - at]
            if not prev.is_closed and t.is_closed:
                fresh[-1 - at] = t
            result.already_present += 1
            continue
        if not merged[at].is_closed and t.is_closed:
            merged[at] = t
            result.updated += 1
        else:
            result.already_present += 1
    fresh.sort(key=lambda t: (t.open_time is None, t.open_time or t.close_time, t.trade_id))
    merged.extend(fresh)
    result.added = len(fresh)
    return result


def merge_rejected(existing: list[RejectedRow], incoming: list[RejectedRow]) -> list[RejectedRow]:
    """All rejected rows, each (file, row, reason) once."""
    seen = {(r.source.file, r.source.row, r.reason) for r in existing}
    out = list(existing)
    for r in incoming:
        k = (r.source.file, r.source.row, r.reason)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out
