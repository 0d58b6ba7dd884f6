"""One fill at a time per journal, and none while Excel or LibreOffice has it open.

The lock is a file beside the journal, ``.~fill.<name>.lock``, created exclusively (``O_EXCL``)
and holding ``pid host time``. A second fill finds it and stops with a message naming the holder.
A lock left by a fill that died (same host, its pid no longer running) is stale: it is removed and
the fill goes on. A lock from another host is never taken over (that fill may be running there).

Excel marks an open workbook with ``~$<name>`` beside it; LibreOffice with ``.~lock.<name>#``.
While either exists the fill refuses: the application would overwrite the fill's work on its next
save, or the fill the trader's unsaved edits.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path


class JournalBusy(Exception):
    """The journal is open in Excel/LibreOffice, or another fill holds it."""


def lock_path(journal: Path) -> Path:
    return journal.with_name(f".~fill.{journal.name}.lock")


def office_locks(journal: Path) -> list[Path]:
    """Excel's and LibreOffice's owner files of ``journal`` that exist."""
    names = ["~$" + journal.name, ".~lock." + journal.name + "#"]
    if len(journal.stem) > 2:  # Excel shortens long names: ~$ replaces the first two characters
        names.append("~$" + journal.name[2:])
    return [journal.with_name(n) for n in names if journal.with_name(n).exists()]


def check_not_open(journal: Path) -> None:
    found = office_locks(journal)
    if found:
        app = "LibreOffice" if found[0].name.startswith(".~lock.") else "Excel"
        raise JournalBusy(f"{journal} is open in {app} (found {found[0].name}): close it first, then run the fill again")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FillLock:
    """``with FillLock(journal, wait=seconds):`` -- the whole fill runs inside; a fill started while
    another holds the lock waits up to ``wait`` seconds for it, then refuses."""

    def __init__(self, journal: Path, wait: float = 0.0):
        self.journal = Path(journal)
        self.path = lock_path(self.journal)
        self.held = False
        self.wait = wait

    def __enter__(self) -> "FillLock":
        me = f"{os.getpid()} {socket.gethostname()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n"
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self._remove_if_stale():
                    continue
                if time.monotonic() < deadline:  # another fill is running: queue behind it
                    time.sleep(0.2)
                    continue
                raise JournalBusy(f"{self.journal} is being filled by another run ({self._holder()}); "
                                  f"wait for it to finish (or delete {self.path.name} if no fill is running)") from None
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                    raise JournalBusy(f"cannot write in {self.journal.parent} ({exc.strerror}): "
                                      "the journal's folder must be writable") from None
                raise
            try:
                os.write(fd, me.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self.held = True
            return self

    def _holder(self) -> str:
        try:
            pid, host, *_ = self.path.read_text().split()
            return f"process {pid} on {host}"
        except (OSError, ValueError):
            return "a process that has not written its id yet"

    def _remove_if_stale(self) -> bool:
        try:
            parts = self.path.read_text().split()
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if len(parts) < 2:
            if age < 10:  # being written right now
                return False
        else:
            try:
                pid, host = int(parts[0]), parts[1]
            except ValueError:
                pid, host = -1, ""
            if host != socket.gethostname() or _alive(pid):
                return False
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        return True

    def __exit__(self, *exc) -> None:
        if self.held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.held = False
