"""Which file a fill edits: a journal reached through symbolic links, read-only journals and backups.

A trader keeps the journal in a synced folder and links to it from the desktop, or protects it (and
a backup) with "Read-only". The fill must edit the real journal beside its real folder (lock, office
lock, temporary file, backups), never turn the link into a stray copy, and never replace or destroy
what the trader made read-only. Every case runs the real command line (in process) on a real journal.
The read-only *folder* case is covered in ``test_fill_edits.py`` (simulated, since tests may run as root).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from test_fill import ROOT, cli, cli_inprocess, folder_listing

from addin.fill import fill_journal, sample_statement
from addin.fill.backups import backup_path, rotate_backup
from journal_reader import read_journal

MAPPING = ROOT / "addin" / "statements" / "example_mapping.json"
EXAMPLE = ROOT / "addin" / "samples" / "example_trades.csv"
MORE = ("--format", "csv", "--mapping", MAPPING)  # the example CSV: trades the sample journal lacks


@pytest.fixture(scope="module")
def sample_journal(tmp_path_factory) -> bytes:
    """The bytes of a journal filled from the sample statement (41 trades)."""
    j = tmp_path_factory.mktemp("sample") / "j.xlsx"
    fill_journal([sample_statement()], j, progress=False)
    return j.read_bytes()


def trade_ids(journal: Path) -> set[str]:
    return {t.trade_id for t in read_journal(journal).trades}


def listing(*folders: Path) -> dict:
    return {str(f): folder_listing(f) | {p.name: ("link", os.readlink(p)) for p in f.iterdir() if p.is_symlink()}
            for f in folders}


def fill_more(journal: Path) -> tuple[int, str, str]:
    return cli_inprocess(EXAMPLE, *MORE, "--journal", journal, "--no-progress")


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_a_journal_through_a_symlink_is_edited_where_it_really_is(tmp_path, sample_journal, relative):
    real_dir, link_dir = tmp_path / "Dropbox" / "Trading", tmp_path / "Desktop"
    real_dir.mkdir(parents=True)
    link_dir.mkdir()
    real = real_dir / "Journal.xlsx"
    real.write_bytes(sample_journal)
    link = link_dir / "Journal.xlsx"
    link.symlink_to(Path("..") / "Dropbox" / "Trading" / "Journal.xlsx" if relative else real)
    before = trade_ids(real)

    run = cli(EXAMPLE, *MORE, "--journal", link, "--no-progress")  # a fresh interpreter: the real command

    assert run.returncode == 0, run.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()  # the link is still the link
    after = trade_ids(real)
    assert before < after and len(after) > len(before)  # the real journal holds the new trades
    # lock, temporary files and backups all beside the real file; nothing left beside the link
    assert sorted(p.name for p in link_dir.iterdir()) == ["Journal.xlsx"]
    assert sorted(p.name for p in real_dir.iterdir()) == ["Journal.xlsx", "Journal.xlsx.bak1"]
    assert (real_dir / "Journal.xlsx.bak1").read_bytes() == sample_journal
    assert f"updated {real.resolve()} " in run.stdout  # the summary names the file that was written


def test_a_chain_of_symlinks_reaches_the_real_journal(tmp_path, sample_journal):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = tmp_path / "b" / "real.xlsx"
    real.write_bytes(sample_journal)
    middle = tmp_path / "b" / "middle.xlsx"
    middle.symlink_to("real.xlsx")  # relative, same folder
    first = tmp_path / "a" / "first.xlsx"
    first.symlink_to(Path("..") / "b" / "middle.xlsx")

    rc, out, err = fill_more(first)

    assert rc == 0, err
    assert first.is_symlink() and middle.is_symlink()
    assert len(trade_ids(real)) == 50  # the 41 sample trades and the example's 9
    assert (tmp_path / "b" / "real.xlsx.bak1").read_bytes() == sample_journal
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["middle.xlsx", "real.xlsx", "real.xlsx.bak1"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["first.xlsx"]


@pytest.mark.parametrize("app_lock", [".~lock.Journal.xlsx#", "~$Journal.xlsx"])
def test_the_office_lock_beside_the_real_file_refuses_a_fill_through_the_link(tmp_path, sample_journal, app_lock):
    real_dir, link_dir = tmp_path / "real", tmp_path / "link"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "Journal.xlsx"
    real.write_bytes(sample_journal)
    (real_dir / app_lock).write_text("someone,host,01.01.2026 10:00,")
    link = link_dir / "Journal.xlsx"
    link.symlink_to(real)
    before = listing(real_dir, link_dir)

    rc, out, err = fill_more(link)

    assert rc == 2 and "is open in" in err and app_lock in err and "Traceback" not in err
    assert listing(real_dir, link_dir) == before


def test_the_office_lock_beside_the_link_refuses_too(tmp_path, sample_journal):
    """An application that opened the journal by the link's name leaves its owner file there."""
    real = tmp_path / "real.xlsx"
    real.write_bytes(sample_journal)
    link = tmp_path / "Journal.xlsx"
    link.symlink_to(real)
    (tmp_path / ".~lock.Journal.xlsx#").write_text("x")
    before = listing(tmp_path)
    rc, out, err = fill_more(link)
    assert rc == 2 and "LibreOffice" in err
    assert listing(tmp_path) == before


@pytest.mark.parametrize("target", ["missing.xlsx", "loop"])
def test_a_dangling_or_looping_symlink_is_refused_in_one_line(tmp_path, target):
    link = tmp_path / "Journal.xlsx"
    if target == "loop":
        other = tmp_path / "other.xlsx"
        other.symlink_to(link)
        link.symlink_to(other)
    else:
        link.symlink_to(target)
    before = listing(tmp_path)
    rc, out, err = cli_inprocess("--sample", "--journal", link, "--no-progress")
    assert rc == 2 and "Traceback" not in err
    assert ("does not exist" in err) if target != "loop" else ("loops" in err)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("through_link", [False, True], ids=["file", "link"])
def test_a_read_only_journal_is_refused_as_excel_does(tmp_path, sample_journal, through_link):
    real = tmp_path / "Journal.xlsx"
    real.write_bytes(sample_journal)
    real.chmod(0o444)
    target = real
    if through_link:
        target = tmp_path / "link.xlsx"
        target.symlink_to(real)
    before = listing(tmp_path)

    rc, out, err = fill_more(target)

    assert rc == 2, err
    assert "is read-only" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2  # the reason, then "nothing was written"
    assert listing(tmp_path) == before
    assert stat.S_IMODE(real.stat().st_mode) == 0o444


def _fake_backups(journal: Path) -> None:
    journal.write_bytes(b"current")
    for k in range(1, 6):
        backup_path(journal, k).write_bytes(f"bak{k}".encode())


def test_a_read_only_backup_keeps_its_slot_and_the_others_rotate_around_it(tmp_path):
    journal = tmp_path / "j.xlsx"
    _fake_backups(journal)
    backup_path(journal, 2).chmod(0o444)

    made = rotate_backup(journal)

    assert made == backup_path(journal, 1)
    got = {k: backup_path(journal, k).read_bytes() for k in range(1, 6)}
    # .bak2 untouched; bak1 -> bak3, bak3 -> bak4, bak4 -> bak5; the oldest writable (bak5) removed
    assert got == {1: b"current", 2: b"bak2", 3: b"bak1", 4: b"bak3", 5: b"bak4"}
    assert stat.S_IMODE(backup_path(journal, 2).stat().st_mode) == 0o444


def test_a_read_only_oldest_backup_is_never_destroyed(tmp_path):
    journal = tmp_path / "j.xlsx"
    _fake_backups(journal)
    backup_path(journal, 5).chmod(0o444)
    backup_path(journal, 1).chmod(0o444)

    made = rotate_backup(journal)

    assert made == backup_path(journal, 2)  # the newest backup goes in the first writable slot
    got = {k: backup_path(journal, k).read_bytes() for k in range(1, 6)}
    assert got == {1: b"bak1", 2: b"current", 3: b"bak2", 4: b"bak3", 5: b"bak5"}


def test_all_five_backups_read_only_refuses_the_fill_with_nothing_changed(tmp_path, sample_journal):
    journal = tmp_path / "Journal.xlsx"
    journal.write_bytes(sample_journal)
    for k in range(1, 6):
        backup_path(journal, k).write_bytes(sample_journal)
        backup_path(journal, k).chmod(0o444)
    before = listing(tmp_path)

    rc, out, err = fill_more(journal)

    assert rc == 2 and "are read-only" in err and "Traceback" not in err
    assert listing(tmp_path) == before


def test_a_real_fill_keeps_a_read_only_backup(tmp_path, sample_journal):
    journal = tmp_path / "Journal.xlsx"
    journal.write_bytes(sample_journal)
    protected = backup_path(journal, 1)
    protected.write_bytes(b"the trader's own copy")
    protected.chmod(0o444)

    rc, out, err = fill_more(journal)

    assert rc == 0, err
    assert protected.read_bytes() == b"the trader's own copy"
    assert backup_path(journal, 2).read_bytes() == sample_journal
    assert not list(tmp_path.glob("*.bak3"))
