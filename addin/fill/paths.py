"""Which file a fill edits: the real journal behind a symbolic link, and only if it may be written.

A journal named through a symbolic link (or a chain of links, relative or absolute) is edited where
it really is: :func:`real_journal` resolves the link once, before anything else, and the fill's lock,
the Excel/LibreOffice open-file check, the temporary file, the backups and the final replace all
happen beside the real file. Replacing the link itself would leave the real journal with the old
content and turn the link into a stray copy.

A journal whose permissions allow no writing (``chmod 444``; on Windows the "Read-only" attribute,
which Python reports the same way) is refused as Excel refuses to save over it: the fill's atomic
replace would otherwise swap a new file in, since replacing needs only the folder to be writable.
The check reads the permission bits as well as :func:`os.access`, so it holds for root, for whom
``os.access`` answers yes to every file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .lock import check_not_open
from .xlsx_edit import NotAJournal


class ReadOnlyJournal(NotAJournal):
    """The journal (or what it links to) may not be written: refused, nothing changed."""


def read_only(path: Path) -> bool:
    """True when ``path`` is a file its permissions do not let this user write (no write bit for
    anyone, or ``os.access`` says no)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(path, os.W_OK)


def real_journal(journal: Path) -> Path:
    """The file the fill must edit for ``journal``: the end of its symbolic-link chain (absolute),
    or ``journal`` itself when it is no link. Refuses (:class:`NotAJournal`, exit 2) a link that
    loops or points at nothing, and (:class:`ReadOnlyJournal`) a journal that is read-only. A link's
    own Excel/LibreOffice lock is checked here too (the lock beside the real file is checked under
    the fill's lock)."""
    journal = Path(journal)
    if journal.is_symlink():
        try:
            real = journal.resolve(strict=True)
        except (RuntimeError, OSError) as exc:  # Python < 3.13 raises RuntimeError on a loop
            if isinstance(exc, FileNotFoundError):
                raise NotAJournal(f"{journal} is a symbolic link to {os.readlink(journal)}, which does not exist: "
                                  "give --journal the real file, or restore what the link points at") from None
            if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
                raise NotAJournal(f"{journal} is a symbolic link that loops back on itself: give --journal "
                                  "the real journal file") from None
            raise
        if real.is_dir():
            raise NotAJournal(f"{journal} is a symbolic link to the folder {real}: give --journal a file")
        check_not_open(journal)  # the link's own owner files, if an application opened it by this name
    else:
        real = journal
    if read_only(real):
        shown = journal if real == journal else f"{journal} (a link to {real})"
        raise ReadOnlyJournal(f"{shown} is read-only: make it writable (chmod u+w, or clear 'Read-only' in "
                              "its Properties) or give --journal another file name")
    return real


__all__ = ["ReadOnlyJournal", "read_only", "real_journal"]
