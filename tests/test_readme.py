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


def readme_commands() -> list[str]:
    """The two commands the README opens with: the indented block right under its title, copy-pasteable
    (no prompt sign)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line[4:])
    return block


def test_readme_starts_with_the_sample_fill_and_the_test_command():
    commands = readme_commands()
    assert len(commands) == 2
    assert "python -m addin fill --sample" in commands[0]
    assert "pytest" in commands[1]
    assert not any(c.startswith("$") for c in commands), "copy-pasteable: no prompt sign"


def test_ci_runs_the_readmes_two_commands_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert all(command in ci for command in readme_commands()), "CI must run the README's commands as they are written"
