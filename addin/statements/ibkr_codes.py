"""Interactive Brokers' codes shared by its two export formats (Flex XML ``notes``, Activity CSV ``Code``)."""

from __future__ import annotations

# Codes for a position that leaves the book without a market trade, and what the journal says.
EVENT_CODES = {"EP": "expired worthless", "A": "assigned", "EX": "exercised"}


def events(codes: set[str]) -> list[str]:
    """What the codes say happened, e.g. {"C", "Ep"} -> ["expired worthless"] (any case)."""
    upper = {c.upper() for c in codes}
    return [text for code, text in EVENT_CODES.items() if code in upper]
