"""The trade journal workbook: built from code (:func:`build_journal`), read back (:func:`read_journal`).

``python -m addin template`` writes the empty journal ``workbooks/TradeJournal.xlsx``; the batch
fill calls :func:`build_journal` with the trades it read and :func:`read_journal` to merge into a
journal a user has edited. :func:`instruments.lookup` maps a broker's symbol to its contract data.
"""

from __future__ import annotations

from .instruments import DEFAULT_INSTRUMENTS, Instrument, lookup
from .read import JournalContents, read_journal
from .settings import Settings
from .workbook import build_journal

__all__ = ["DEFAULT_INSTRUMENTS", "Instrument", "JournalContents", "Settings", "build_journal", "lookup",
           "read_journal"]
