"""The empty journal: ``python -m addin template`` writes ``workbooks/TradeJournal.xlsx`` with it."""

from __future__ import annotations

from pathlib import Path

from .workbook import build_journal


def write_template(path: str | Path) -> None:
    """Write the template journal (no trades, default settings and instruments) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build_journal(path, [])
