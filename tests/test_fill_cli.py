"""The command line a newcomer uses without reading the source: help, template, uninstall."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from addin.statements import readers


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "addin", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def test_fill_help_lists_every_format_explains_the_mapping_and_has_no_markdown():
    out = run("fill", "--help")
    assert out.returncode == 0
    text = out.stdout
    for r in readers():
        assert r.FORMAT in text, r.FORMAT
    assert '"columns": {"trade_id": "Ticket"' in text and "--format csv --mapping" in text
    for markdown in ("``", "**", "](", "# "):
        assert markdown not in text, markdown
    for option in ("--journal", "--leverage", "--regulator", "--equity", "--stop-out-level", "--restore-deleted"):
        assert option in text
    assert "Your edits are safe" in text


def test_top_level_setup_and_template_help_are_complete():
    top = run("--help").stdout
    for cmd in ("fill", "template", "functions", "lite", "setup"):
        assert cmd in top
    setup = run("setup", "--help").stdout
    for step in ("paths", "config", "build-addin", "import-functions", "install-addin"):
        assert step in setup
    tpl = run("template", "--help").stdout
    assert "FILE.xlsx" in tpl and "never overwritten" in tpl and "example" in tpl


def test_template_writes_the_file_named_and_nothing_else(tmp_path):
    out = run("template", "Mine.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Mine.xlsx"], "no ./workbooks folder created"
    before = (tmp_path / "Mine.xlsx").read_bytes()
    again = run("template", "Mine.xlsx", cwd=tmp_path)
    assert again.returncode == 2 and "not overwritten" in again.stderr
    assert (tmp_path / "Mine.xlsx").read_bytes() == before
    assert run("template", cwd=tmp_path).returncode == 2  # the file name is required


def test_uninstall_removes_what_the_install_made_and_nothing_else(tmp_path):
    venv, lite, bin_dir = tmp_path / "venv", tmp_path / "lite", tmp_path / "bin"
    (venv / "bin").mkdir(parents=True)
    py = venv / "bin" / "python"  # a Python that imports the add-in
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    py.chmod(0o755)
    (venv / "bin" / "leverage-addin").write_text("#!/bin/sh\n")
    lite.mkdir()
    (lite / "main.py").write_text("x")
    (lite / "requirements.txt").write_text("x")
    bin_dir.mkdir()
    (bin_dir / "leverage-addin").symlink_to(venv / "bin" / "leverage-addin")
    (bin_dir / "other-tool").write_text("keep me")
    journal = tmp_path / "Journal.xlsx"
    journal.write_bytes(b"the trader's journal")
    env = {**os.environ, "LEVERAGE_HOME": str(tmp_path / "home")}
    out = subprocess.run(["bash", str(ROOT / "install" / "unix.sh"), "--uninstall", "--venv", str(venv),
                          "--lite-out", str(lite), "--bin-dir", str(bin_dir)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not venv.exists() and not lite.exists()
    assert sorted(p.name for p in bin_dir.iterdir()) == ["other-tool"]
    assert journal.read_bytes() == b"the trader's journal"
    assert "your journals are untouched" in out.stdout


def test_a_foreign_command_link_is_left_alone(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "leverage-addin").symlink_to(Path("/usr/bin/true"))
    out = subprocess.run(["bash", str(ROOT / "install" / "unix.sh"), "--uninstall", "--venv", str(tmp_path / "v"),
                          "--lite-out", str(tmp_path / "l"), "--bin-dir", str(bin_dir)],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "LEVERAGE_HOME": str(tmp_path)})
    assert out.returncode == 0 and (bin_dir / "leverage-addin").is_symlink()
    assert "not the link this installer made" in out.stdout
