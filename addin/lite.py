"""``python -m addin lite``: the functions as ONE ``main.py`` for xlwings Lite, plus its ``requirements.txt``.

xlwings Lite (Excel on Windows, macOS and the web) runs the code pasted into its ``main.py`` tab in
Pyodide; it cannot import this package. So the package's own source is bundled, never copied by
hand: ``addin/risk/*.py``, ``cells.py``, ``udf_meta.py`` and ``udfs.py`` in dependency order, each
module's relative imports removed (the names they imported are then already defined above them),
its standard-library imports hoisted to the top, and ``addin.risk`` rebuilt as a namespace object
``risk`` so that ``risk.leverage(...)`` keeps working. ``udf_meta`` keeps applying xlwings' own
``xw.func``/``xw.arg`` decorators, so Excel's function wizard shows the same descriptions as in
desktop Excel. The result imports only the standard library and ``xlwings``.

How xlwings Lite loads it (xlwings-server's wasm runtime, ``create_module_from_string``): a new
module object is made, the source is ``exec``-uted into its ``__dict__`` and only then is the module
put into ``sys.modules["main"]``. Code that looks its own module up in ``sys.modules`` while it is
being executed - ``@dataclass`` does, for every field, when annotations are strings - would find
nothing and the whole file would fail to load (no function registers). So the bundle starts by
registering its own module object (found as the module whose ``__dict__`` is its globals) before
any bundled code runs; the loader's assignment afterwards puts the same object there again.

Bundling refuses (``BundleError``) rather than guess: a module-level name defined differently in
two modules, an import of something outside the standard library and xlwings, or a relative
import it cannot resolve.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Top-level modules bundled after addin/risk/*.py (their order is worked out from their imports).
TOP_MODULES = ("cells", "udf_meta", "udfs")
ALLOWED_THIRD_PARTY = {"xlwings"}


# The Pyodide the tests run the bundle in (tests/pyodide/package.json pins the same npm version).
PYODIDE_TESTED = "314.0.7"

# Emitted right after the imports: see the module docstring. Plain code, no names left behind.
SELF_REGISTRATION = """\
# xlwings Lite exec()s this file into a new module and registers that module in sys.modules only
# afterwards; @dataclass (below) looks its module up there while the class is created. Register
# this module object now (the loader assigns the same object again when it is done).
_lite_module = next((m for m in _gc.get_referrers(globals())
                     if isinstance(m, _types.ModuleType) and m.__dict__ is globals()), None)
if _lite_module is not None:
    _sys.modules[__name__] = _lite_module
del _lite_module"""


class BundleError(RuntimeError):
    """The package's source cannot be bundled safely into one module."""


@dataclass
class _Module:
    name: str  # dotted, relative to the package: "risk.errors", "cells"
    path: Path
    tree: ast.Module
    source: str
    deps: set[str] = field(default_factory=set)
    hoisted: list[str] = field(default_factory=list)  # absolute import statements
    aliases: list[str] = field(default_factory=list)  # "b = a" for "from .x import a as b"
    drop: set[int] = field(default_factory=set)  # line numbers (1-based) removed from the body


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("leverage-addin")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def _xlwings_version() -> str:
    import xlwings

    return xlwings.__version__


def _discover() -> dict[str, _Module]:
    mods: dict[str, _Module] = {}
    paths = [p for p in sorted((PACKAGE_DIR / "risk").glob("*.py")) if p.name != "__init__.py"]
    for p in paths:
        mods[f"risk.{p.stem}"] = None  # type: ignore[assignment]
    for name in TOP_MODULES:
        mods[name] = None  # type: ignore[assignment]
    for name in mods:
        path = PACKAGE_DIR.joinpath(*name.split(".")).with_suffix(".py")
        source = path.read_text(encoding="utf-8")
        mods[name] = _Module(name, path, ast.parse(source, filename=str(path)), source)
    return mods


def _resolve(mod: _Module, node: ast.ImportFrom) -> str:
    """The package-relative module a relative import names ("risk", "risk.errors", "cells")."""
    base = mod.name.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _is_stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names or top == "__future__"


def _analyse(mods: dict[str, _Module]) -> None:
    risk_modules = {n for n in mods if n.startswith("risk.")}
    for mod in mods.values():
        body = mod.tree.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            mod.drop.update(range(body[0].lineno, body[0].end_lineno + 1))  # the module docstring
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mod.drop.update(range(node.lineno, node.end_lineno + 1))
            if isinstance(node, ast.ImportFrom) and node.level:
                target = _resolve(mod, node)
                if target == "":  # "from . import risk"
                    for a in node.names:
                        if a.name == "risk":
                            mod.deps |= risk_modules
                        elif a.name in mods:
                            mod.deps.add(a.name)
                        else:
                            raise BundleError(f"{mod.path.name}: cannot bundle 'from . import {a.name}'")
                        if a.asname and a.asname != a.name:
                            raise BundleError(f"{mod.path.name}: 'import ... as' of a module is not supported")
                    continue
                if target == "risk":
                    mod.deps |= risk_modules
                elif target in mods:
                    mod.deps.add(target)
                else:
                    raise BundleError(f"{mod.path.name}: relative import of {target!r}, which is not bundled")
                for a in node.names:
                    if a.name == "*":
                        raise BundleError(f"{mod.path.name}: 'import *' is not supported")
                    if a.asname and a.asname != a.name:
                        mod.aliases.append(f"{a.asname} = {a.name}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                tops = [a.name.split(".")[0] for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module.split(".")[0]]
                for top in tops:
                    if not (_is_stdlib(top) or top in ALLOWED_THIRD_PARTY):
                        raise BundleError(f"{mod.path.name}: imports {top!r}, which xlwings Lite does not have")
                if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                    mod.hoisted.append(ast.unparse(node))
            elif any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node)):
                for n in ast.walk(node):
                    if isinstance(n, ast.ImportFrom) and n.level:
                        raise BundleError(f"{mod.path.name}:{n.lineno}: a relative import inside a block")


def _order(mods: dict[str, _Module]) -> list[_Module]:
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise BundleError(f"import cycle through {name}")
        visiting.add(name)
        for dep in sorted(mods[name].deps):
            visit(dep)
        visiting.discard(name)
        done.append(name)

    for name in mods:  # risk.* alphabetically, then cells, udf_meta, udfs
        visit(name)
    return [mods[n] for n in done]


def _top_level_names(mod: _Module) -> dict[str, str]:
    """Module-level names a module binds (imports excluded), with the source of the binding."""
    names: dict[str, str] = {}
    for node in mod.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = ast.unparse(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names[n.id] = ast.unparse(node)
    return names


def _check_collisions(ordered: list[_Module]) -> None:
    seen: dict[str, tuple[str, str]] = {}
    for mod in ordered:
        for name, src in _top_level_names(mod).items():
            if name in seen and seen[name][1] != src:
                raise BundleError(f"'{name}' is defined differently in {seen[name][0]} and {mod.name}: "
                                  "rename one (the bundle puts every module in one namespace)")
            seen.setdefault(name, (mod.name, src))
    if "risk" in seen:
        raise BundleError(f"'risk' is defined in {seen['risk'][0]}; the bundle needs the name for addin.risk")


def _risk_namespace() -> str:
    from . import risk

    names = sorted(n for n in risk.__all__ if not inspect.ismodule(getattr(risk, n)))
    body = "".join(f"    {n}={n},\n" for n in names)
    return ("# addin.risk as one namespace, as the package exposes it (udfs call risk.leverage(...))\n"
            f"risk = _types.SimpleNamespace(\n{body})\n")


def _body(mod: _Module) -> str:
    lines = mod.source.splitlines()
    kept = [line for i, line in enumerate(lines, start=1) if i not in mod.drop]
    text = "\n".join(kept).strip("\n")
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    if mod.aliases:
        text = "\n".join(mod.aliases) + "\n\n" + text
    return text


def _merge_imports(statements: list[str]) -> list[str]:
    """One line per module: "import a", then "from m import x, y" with the names merged."""
    plain: set[str] = set()
    froms: dict[str, set[str]] = {}
    for stmt in statements:
        node = ast.parse(stmt).body[0]
        if isinstance(node, ast.Import):
            plain |= {ast.unparse(ast.Import(names=[a])) for a in node.names}
        else:
            froms.setdefault(node.module, set()).update(
                a.name if not a.asname else f"{a.name} as {a.asname}" for a in node.names)
    return sorted(plain) + [f"from {m} import {', '.join(sorted(ns))}" for m, ns in sorted(froms.items())]


def bundle_source() -> str:
    """The text of the single-file ``main.py``."""
    mods = _discover()
    _analyse(mods)
    ordered = _order(mods)
    _check_collisions(ordered)
    digest = hashlib.sha256()
    for mod in ordered:
        digest.update(mod.name.encode() + b"\0" + mod.source.encode())
    imports: list[str] = []
    for mod in ordered:
        for stmt in mod.hoisted:
            if stmt not in imports:
                imports.append(stmt)
    first_doc = (ast.get_docstring(mods["udfs"].tree) or "").splitlines()[0]
    header = [
        f"# Leverage & Margin functions for xlwings Lite - generated by `python -m addin lite` from",
        f"# leverage-addin {_version()} (xlwings {_xlwings_version()}), source sha256 {digest.hexdigest()[:16]}.",
        "# DO NOT EDIT: regenerate it from the package. Bundled modules, in order:",
        *(f"#   addin/{m.name.replace('.', '/')}.py" for m in ordered),
        "# Paste this whole file into the main.py tab of xlwings Lite; it needs only xlwings.",
        f"# Tested with xlwings {_xlwings_version()} under xlwings-server's wasm loader in CPython and in",
        f"# Pyodide {PYODIDE_TESTED} (tests/test_lite.py, tests/test_lite_pyodide.py).",
        f'"""{first_doc}"""',
        "",
        "from __future__ import annotations",
        "",
        "import gc as _gc",
        "import sys as _sys",
        "import types as _types",
        *_merge_imports(imports),
        "",
        "",
        SELF_REGISTRATION,
    ]
    parts = ["\n".join(header)]
    risk_done = False
    for mod in ordered:
        if not mod.name.startswith("risk.") and not risk_done:
            parts.append(_risk_namespace())
            risk_done = True
        parts.append(f"# {'=' * 96}\n# addin/{mod.name.replace('.', '/')}.py\n# {'=' * 96}\n\n{_body(mod)}")
    text = "\n\n\n".join(parts) + "\n"
    compile(text, "main.py", "exec")  # a syntax error here is a bundler bug: fail before writing
    return text


# xlwings Lite's docs ("Dependencies"): it records the exact versions it installed in its own
# requirements-pinned.txt and reinstalls those on every restart, so requirements.txt should not pin
# an exact version; an upper bound is what they suggest (their example: ``xlwings<1.0.0``).
XLWINGS_UPPER_BOUND = "1.0.0"


def requirements() -> str:
    """xlwings Lite installs what requirements.txt lists; the bundle needs only xlwings (pure Python).
    The lower bound is the version the bundle was generated and tested with (the decorator options it
    uses, such as ``err_to_str``, exist from there); the upper bound follows xlwings Lite's advice."""
    return f"xlwings>={_xlwings_version()},<{XLWINGS_UPPER_BOUND}\n"


def write_lite(out_dir: Path | str) -> list[Path]:
    """Write ``main.py`` and ``requirements.txt`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    main_py, req = out / "main.py", out / "requirements.txt"
    main_py.write_text(bundle_source(), encoding="utf-8")
    req.write_text(requirements(), encoding="utf-8")
    return [main_py, req]
