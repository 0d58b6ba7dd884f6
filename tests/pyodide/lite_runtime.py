"""xlwings Lite's loading sequence for main.py, step by step, for CPython and for Pyodide alike.

Reproduces (our own code, written from reading it) xlwings-server's wasm runtime
``xlwings_server/wasm/wasm_runtime.py`` at commit 8862003 (2026-08-19; the file last changed in
0f8f92a, "added custom functions caller"), which matches xlwings 0.37.8's ``xlwings.server``:

1. ``config.py`` sets ``XLWINGS_ON_SERVER=true`` before xlwings is imported, so ``xw.func``/``xw.arg``
   are ``xlwings.server``'s (Office.js) decorators; the wasm build's ``.env`` carries the license key
   (``noncommercial`` for the tests, as xlwings-server's own ``tests/.env.testwasm``).
2. ``custom_functions_meta(main_py_text)``: ``create_module_from_string(text, "main")`` - a module
   from ``importlib.util.module_from_spec(spec_from_loader("main", loader=None))``, the text
   ``exec``-uted into its ``__dict__``, THEN ``sys.modules["main"] = module`` - and
   ``xlwings.server.custom_functions_meta(module)``. Any exception while creating the module is
   caught and logged and the metadata is ``{}``: Excel registers no function at all.
3. ``custom_functions_code(main_py_text)``: the module created again, one JavaScript stub per
   function that has ``__xlfunc__`` (``CustomFunctions.associate("NAME", ...)``).
4. Each cell: the task pane's ``base()`` sends ``{"client": "Office.js", "func_name", "args",
   "caller_address": "[Book]Sheet!A1", "version", ...}`` and the runtime awaits
   ``xlwings.server.custom_functions_call(data, module, typehint_to_value={Caller: caller})``
   where ``caller = caller_from_address(...)``. Here ``module`` is the registered ``main``.

Run as a script (CPython):  python lite_runtime.py MAIN.py CASES.json REPORT.json
In Pyodide the Node harness (run.mjs) imports this file and awaits :func:`run_report`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import sys
import traceback

# Step 1: what the wasm build's config.py and .env do before anything imports xlwings.
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import xlwings as xw  # noqa: E402
import xlwings.server  # noqa: E402
from xlwings.server import Caller, caller_from_address  # noqa: E402

MODULE_NAME = "main"
CALLER_ADDRESS = "[TradeJournal.xlsx]Planner!C5"
LOG: list[str] = []  # what the runtime would print to the browser console


def create_module_from_string(module_string: str, module_name: str):
    """Step 2/3: exec first, register after (this order is the point of the reproduction)."""
    spec = importlib.util.spec_from_loader(module_name, loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(module_string, module.__dict__)
    sys.modules[module_name] = module
    return module


def custom_functions_meta(module_string: str) -> dict:
    try:
        module = create_module_from_string(module_string, MODULE_NAME)
    except Exception as e:  # the runtime logs and registers nothing
        LOG.append(f"Parsing error [custom_functions_meta]: {e!r}\n{traceback.format_exc()}")
        return {}
    return xlwings.server.custom_functions_meta(module)


def custom_functions_code(module_string: str) -> str:
    try:
        module = create_module_from_string(module_string, MODULE_NAME)
    except Exception as e:
        LOG.append(f"Parsing error [custom_functions_code]: {e!r}")
        return ""
    code = ""
    for _, obj in inspect.getmembers(module):
        if hasattr(obj, "__xlfunc__"):
            name = obj.__xlfunc__["name"]
            code += f'CustomFunctions.associate("{name.upper()}", {name});\n'
    return code


async def custom_functions_call(data: dict):
    try:
        caller = caller_from_address(data.get("caller_address"))
    except xw.XlwingsError:
        caller = None
    module = sys.modules.get(MODULE_NAME)
    if module is None:
        return {"error": "main is not loaded: no function is registered", "details": ""}
    try:
        return await xlwings.server.custom_functions_call(data, module=module, typehint_to_value={Caller: caller})
    except Exception as e:
        return {"error": str(e), "details": traceback.format_exc()}


def request(func_name: str, args: list) -> dict:
    """The body base() in custom-functions-code.js sends for one cell."""
    return {
        "client": "Office.js",
        "func_name": func_name,
        "args": args,
        "caller_address": CALLER_ADDRESS,
        "session_id": "test-session",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": xlwings.__version__,
        "runtime": "1.4",
    }


async def run_report(source: str, cases: list) -> dict:
    """The whole sequence on ``source`` (main.py's text) and ``cases`` ([func_name, args] pairs as
    Excel sends them); a JSON-able report."""
    sys.modules.pop(MODULE_NAME, None)
    meta = custom_functions_meta(source)
    code = custom_functions_code(source)
    calls = []
    for func_name, args in cases:
        result = await custom_functions_call(request(func_name, args))
        if isinstance(result, dict) and "error" in result:
            calls.append(["error", result["error"]])
        else:
            calls.append(["ok", result])
    module = sys.modules.get(MODULE_NAME)
    return {
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "xlwings": xlwings.__version__,
        "func_decorator": f"{xw.func.__module__}.{xw.func.__name__}",
        "meta": meta,
        "code": code,
        "registered": module is not None,
        "xlfunc_names": sorted(n for n, o in inspect.getmembers(module) if hasattr(o, "__xlfunc__"))
        if module is not None else [],
        "calls": calls,
        "log": LOG,
    }


def main(argv: list[str]) -> int:
    main_py, cases_json, out_json = argv
    with open(main_py, encoding="utf-8") as fh:
        source = fh.read()
    with open(cases_json, encoding="utf-8") as fh:
        cases = json.load(fh)
    report = asyncio.run(run_report(source, cases))
    with open(out_json, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
