"""Replacing a journal without ever leaving it half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


class JournalBusy(Exception):
    """The journal is open in Excel (its ``~$`` lock file exists) or cannot be replaced."""


def lock_file(journal: Path) -> Path:
    """Excel's owner file for an open workbook: ``~$`` + the name, beside it."""
    return journal.with_name("~$" + journal.name)


def check_not_open(journal: Path) -> None:
    lock = lock_file(journal)
    if lock.exists():
        raise JournalBusy(f"{journal} is open in Excel (found {lock.name}); close it and run the command again")


def replace_atomically(journal: Path, write: Callable[[Path], None]) -> Path | None:
    """Write a new version with ``write(tmp_path)`` into a temporary file beside ``journal``, keep
    the previous version as ``<name>.bak``, then move the new file into place in one step.

    If ``write`` fails, the journal is untouched and the temporary file removed. Returns the backup
    path when there was a previous version.
    """
    journal = Path(journal)
    check_not_open(journal)
    journal.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix="." + journal.stem + ".", suffix=".tmp.xlsx", dir=journal.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        backup = None
        if journal.exists():
            backup = journal.with_name(journal.name + ".bak")
            shutil.copy2(journal, backup)
        check_not_open(journal)
        # mkstemp makes the file private (0600); a journal gets the mode of the one it replaces,
        # or the user's default for a new file.
        if journal.exists():
            shutil.copymode(journal, tmp)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, journal)
        return backup
    finally:
        if tmp.exists():
            tmp.unlink()
