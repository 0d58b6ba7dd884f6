"""Progress on stderr, shown only on a terminal: a line as each slow stage starts, and a bar for
the stages that count rows."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, enabled: bool | None = None):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        sys.stderr.write(f"\r{self.label:<24} [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def stage(label: str, enabled: bool | None = None) -> None:
    """Say that a slow stage starts (reading a large statement, writing the journal)."""
    if sys.stderr.isatty() if enabled is None else enabled:
        sys.stderr.write(f"{label} ...\n")
        sys.stderr.flush()
