"""The README's promises: its function reference is the functions' own metadata, and it starts with
the two commands CI runs."""

from __future__ import annotations

from conftest import ROOT

from addin.reference import BEGIN, END, function_reference


def test_function_reference_in_readme_is_generated_from_the_functions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] + "\n" == function_reference().rstrip("\n") + "\n", (
        "README's function reference is stale: regenerate it with `python -m addin functions`")


def test_readme_starts_with_the_sample_fill_and_the_test_command():
    commands = [line[6:] for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("    $ ")]
    assert "python -m addin fill --sample" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readmes_two_commands_verbatim():
    readme = [line[6:] for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
              if line.startswith("    $ ")][:2]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert all(command in ci for command in readme), "CI must run the README's commands as they are written"
