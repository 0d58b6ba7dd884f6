"""The add-in functions' own metadata: name, category, description and argument docs.

:func:`func` and :func:`arg` apply xlwings' decorators (so Excel's function wizard shows the
descriptions, in classic xlwings and in xlwings Lite) and also record the same text here, because
on Linux and macOS xlwings' decorators keep nothing. The README's function reference and the
tests read :data:`REGISTRY`, so the docs cannot drift from the code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import xlwings as xw

CATEGORY = "Leverage & Margin"
EXCEL_TEXT_LIMIT = 255  # Application.MacroOptions cuts descriptions here


@dataclass
class ArgInfo:
    name: str
    doc: str
    default: object = inspect.Parameter.empty

    @property
    def optional(self) -> bool:
        return self.default is not inspect.Parameter.empty


@dataclass
class FuncInfo:
    name: str
    description: str
    topic: str
    category: str
    args: list[ArgInfo] = field(default_factory=list)
    function: Callable | None = None

    @property
    def signature(self) -> str:
        parts = [f"[{a.name}={_show_default(a.default)}]" if a.optional else a.name for a in self.args]
        return f"{self.name}({', '.join(parts)})"


def _show_default(v: object) -> str:
    if isinstance(v, bool):
        return "FALSE" if not v else "TRUE"
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _description(f: Callable) -> str:
    """The docstring's first paragraph on one line: what Excel's function wizard shows."""
    return inspect.cleandoc(f.__doc__ or "").split("\n\n")[0].replace("\n", " ")


REGISTRY: dict[str, FuncInfo] = {}
_pending_docs: dict[str, dict[str, str]] = {}


def arg(name: str, doc: str) -> Callable:
    """Describe one argument (kept for Excel's function wizard). Ranges arrive as lists of rows."""

    def deco(f: Callable) -> Callable:
        _pending_docs.setdefault(f.__name__, {})[name] = doc
        # xlwings' decorators copy the docstring when the first of them runs (this one, applied
        # before func's): make it the one-paragraph wizard text already, for classic and Lite alike.
        f.__doc__ = _description(f)
        # err_to_str: an error cell arrives as its text ("#N/A") and becomes a message naming the
        # argument; xlwings' default turns it into None, which an optional argument would take as
        # "use the default" and compute a wrong number without a word.
        return xw.arg(name, ndim=2, doc=doc, err_to_str=True)(f)

    return deco


def func(topic: str) -> Callable:
    """Register an add-in function under ``topic`` (the README groups by it) in one Excel category."""

    def deco(f: Callable) -> Callable:
        docs = _pending_docs.pop(f.__name__, {})
        sig = inspect.signature(f)
        missing = [p for p in sig.parameters if p not in docs]
        if missing:
            raise TypeError(f"{f.__name__}: arguments without a doc: {', '.join(missing)}")
        too_long = [n for n, d in docs.items() if len(d) > EXCEL_TEXT_LIMIT]
        if too_long:
            raise TypeError(f"{f.__name__}: argument docs beyond Excel's {EXCEL_TEXT_LIMIT} characters: {', '.join(too_long)}")
        info = FuncInfo(
            name=f.__name__,
            description=_description(f),
            topic=topic,
            category=CATEGORY,
            args=[ArgInfo(p.name, docs[p.name], p.default) for p in sig.parameters.values()],
        )
        if len(info.description) > EXCEL_TEXT_LIMIT:
            raise TypeError(f"{f.__name__}: description beyond Excel's {EXCEL_TEXT_LIMIT} characters")
        f.__doc__ = info.description  # xlwings shows the docstring as the wizard's one-line description
        wrapped = xw.func(category=CATEGORY)(f)
        info.function = wrapped
        REGISTRY[f.__name__] = info
        return wrapped

    return deco
