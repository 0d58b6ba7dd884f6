"""The xlwings Lite bundle in REAL Pyodide (npm ``pyodide``, the version tests/pyodide/package.json
pins), loaded through the same reproduction of xlwings-server's wasm loader as in CPython
(tests/pyodide/lite_runtime.py), with the real xlwings wheel (pure Python, unpacked from the local
file). One Pyodide boot runs every case of tests/test_lite.py (all functions, ~12 ways of passing
their cells each); each result must equal CPython's through the same loader, value and type.

Needs Node (skips, saying so, where it is absent). ``.ci/run`` runs ``npm ci`` in tests/pyodide and
downloads the wheel; run alone, this test does both itself when they are missing.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xlwings

from addin.lite import PYODIDE_TESTED
from addin.udf_meta import REGISTRY
from test_lite import CASES, LOADER_CASES, run_loader

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "pyodide"
WHEELS = HARNESS / ".wheels"
NODE = shutil.which("node")


def xlwings_wheel() -> Path:
    """The pure-Python xlwings wheel of the installed version (what xlwings Lite installs)."""
    name = f"xlwings-{xlwings.__version__}-py3-none-any.whl"
    if not (WHEELS / name).exists():
        proc = subprocess.run([sys.executable, "-m", "pip", "download", f"xlwings=={xlwings.__version__}",
                               "--no-deps", "--only-binary=:all:", "--platform", "any", "-d", str(WHEELS)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"could not download the xlwings wheel:\n{proc.stderr}"
    return WHEELS / name


def node_modules() -> None:
    if not (HARNESS / "node_modules" / "pyodide" / "package.json").exists():
        npm = shutil.which("npm")
        assert npm, "node is installed but npm is not: cannot install tests/pyodide's packages"
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HARNESS, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, f"npm ci failed in {HARNESS}:\n{proc.stderr}"


@pytest.fixture(scope="module")
def reports(lite_dir, tmp_path_factory) -> tuple[dict, dict]:
    if NODE is None:
        pytest.skip("Node.js is not installed (node not on PATH): the real-Pyodide run of the xlwings Lite "
                    "bundle needs it; the CPython reproduction of the loader in test_lite.py still ran")
    node_modules()
    wheel = xlwings_wheel()
    tmp = tmp_path_factory.mktemp("pyodide")
    (tmp / "cases.json").write_text(json.dumps(LOADER_CASES))
    proc = subprocess.run([NODE, str(HARNESS / "run.mjs"), str(wheel), str(lite_dir / "main.py"),
                           str(tmp / "cases.json"), str(tmp / "pyodide.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"Pyodide run failed:\n{proc.stdout}\n{proc.stderr}"
    pyodide = json.loads((tmp / "pyodide.json").read_text())
    cpython = run_loader(lite_dir / "main.py", tmp)
    return pyodide, cpython


@pytest.fixture(scope="module")
def lite_dir(tmp_path_factory) -> Path:
    from addin.lite import write_lite

    out = tmp_path_factory.mktemp("lite")
    write_lite(out)
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_it_really_is_pyodide_with_the_pinned_versions(reports):
    pyodide, _ = reports
    assert pyodide["platform"] == "emscripten"
    assert pyodide["pyodide"] == PYODIDE_TESTED
    assert pyodide["xlwings"] == xlwings.__version__
    assert pyodide["func_decorator"] == "xlwings.pro.udfs_officejs.xlfunc"
    package = json.loads((HARNESS / "package.json").read_text())
    assert package["dependencies"]["pyodide"] == PYODIDE_TESTED, "addin/lite.py and package.json disagree"


def test_every_function_registers_in_pyodide(reports):
    pyodide, cpython = reports
    assert pyodide["log"] == [], "\n".join(pyodide["log"])
    assert pyodide["registered"]
    assert sorted(f["name"] for f in pyodide["meta"]["functions"]) == sorted(REGISTRY)
    assert pyodide["meta"] == cpython["meta"], "Pyodide registers other metadata than CPython"
    assert pyodide["code"] == cpython["code"]


def test_every_result_equals_cpython(reports):
    pyodide, cpython = reports
    assert len(pyodide["calls"]) == len(cpython["calls"]) == len(CASES)
    differ = [(f, label, p, c) for (f, label, _), p, c in zip(CASES, pyodide["calls"], cpython["calls"])
              if not _same(p, c)]
    assert not differ, f"{len(differ)} of {len(CASES)} cases differ, e.g. {differ[:3]}"
    assert all(status == "ok" for status, _ in pyodide["calls"])
