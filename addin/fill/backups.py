"""Writing the new journal next to the old one and swapping it in, with rotating backups.

The new version is written to a temporary file in the journal's folder (``.~fill-<name>-<random>.tmp``),
flushed to disk (fsync), then moved over the journal in one step (``os.replace``); the folder is
fsynced so the rename itself survives a power cut. A reader sees the old or the new journal, never a
mix. Temporary files are removed on every exit path; one left by a killed fill is swept by the next.

Before the swap the current journal is copied to ``<name>.bak1`` through a temporary file of its
own, fsynced and renamed: the new backup is complete on disk before anything older moves. Backups
rotate ``.bak1`` (newest) to ``.bak5`` (oldest); the sixth is removed only after the new one exists.
No backup is ever copied over in place. A read-only backup (one the trader protected) is never
replaced, moved or removed: the writable ones rotate around it. A read-only journal is never
replaced either (:mod:`.paths`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from .paths import ReadOnlyJournal, read_only
from .xlsx_edit import NotAJournal

KEEP = 5


def backup_path(journal: Path, k: int) -> Path:
    return journal.with_name(f"{journal.name}.bak{k}")


def backups(journal: Path) -> list[Path]:
    """Existing backups, newest first."""
    return [p for p in (backup_path(journal, k) for k in range(1, KEEP + 1)) if p.exists()]


def temp_name(journal: Path, kind: str = "tmp") -> Path:
    return journal.with_name(f".~fill-{journal.name}-{secrets.token_hex(4)}.{kind}")


def sweep(journal: Path) -> list[Path]:
    """Remove temporary files a killed fill left beside ``journal``."""
    gone = []
    for p in journal.parent.glob(f".~fill-{journal.name}-*"):
        try:
            p.unlink()
            gone.append(p)
        except OSError:
            pass
    return gone


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


class BackupsReadOnly(NotAJournal):
    """Every backup slot holds a read-only backup: no new backup can be made without destroying one
    (a refusal, exit 2, like a journal the fill cannot use)."""


def rotate_backup(journal: Path) -> Path:
    """Copy ``journal`` into a new ``.bak1`` (complete and synced first), older ones moved up one.

    A read-only backup (the trader protected it) is never overwritten, moved or removed: it keeps
    its slot and the writable backups rotate around it, each into the next slot that is not
    read-only; the oldest writable one that no longer fits is removed. When all five slots hold
    read-only backups, :class:`BackupsReadOnly` (a refusal) stops the fill before anything changed."""
    free = [k for k in range(1, KEEP + 1) if not read_only(backup_path(journal, k))]
    if not free:
        raise BackupsReadOnly(f"all {KEEP} backups of {journal} ({journal.name}.bak1 to .bak{KEEP}) are read-only "
                              "and none may be replaced: make one writable or move one away")
    tmp = temp_name(journal, "bak")
    try:
        shutil.copy2(journal, tmp)
        _fsync_file(tmp)
        # Shift, oldest first: the backup in free slot i moves to free slot i + 1 (each a rename); the
        # one in the last free slot is replaced by the move into it (or by the new backup).
        for i in range(len(free) - 1, -1, -1):
            src = backup_path(journal, free[i])
            if not src.exists():
                continue
            if i + 1 < len(free):
                os.replace(src, backup_path(journal, free[i + 1]))
        os.replace(tmp, backup_path(journal, free[0]))
        _fsync_dir(journal.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return backup_path(journal, free[0])


def replace_with(journal: Path, write: Callable[[Path], None]) -> Path | None:
    """Write the new journal with ``write(tmp)`` beside it, back the old one up, swap atomically.
    Returns the new backup (None for a new journal). On any error nothing is changed."""
    journal = Path(journal)
    if read_only(journal):
        raise ReadOnlyJournal(f"{journal} is read-only: make it writable or write to another file name")
    tmp = temp_name(journal)
    try:
        write(tmp)
        _fsync_file(tmp)
        if journal.exists():
            shutil.copymode(journal, tmp)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        backup = rotate_backup(journal) if journal.exists() else None
        os.replace(tmp, journal)
        _fsync_dir(journal.parent)
        return backup
    finally:
        if tmp.exists():
            tmp.unlink()
