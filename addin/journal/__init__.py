"""The trade journal workbook, built from code (:func:`build_journal`).

``python -m addin template`` writes the empty journal ``workbooks/TradeJournal.xlsx``
(``build_journal(path, [])``); the batch fill (:mod:`addin.fill`) merges statements into it, or into
a journal a trader has edited. :mod:`.schema` names every sheet, table and column;
:func:`instruments.lookup` maps a broker's symbol to its contract data.
"""

from __future__ import annotations

from .instruments import DEFAULT_INSTRUMENTS, Instrument, lookup
from .settings import Settings
from .workbook import build_journal

__all__ = ["DEFAULT_INSTRUMENTS", "Instrument", "Settings", "build_journal", "lookup"]
