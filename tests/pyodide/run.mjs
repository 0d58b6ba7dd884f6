// Runs the xlwings Lite bundle in real Pyodide (npm "pyodide", pinned in package.json) through the
// same loading sequence as tests/pyodide/lite_runtime.py does in CPython, and writes its report.
//
//   node run.mjs XLWINGS.whl MAIN.py CASES.json REPORT.json
//
// The xlwings wheel is pure Python: it is unpacked into Pyodide's site-packages from the local
// file (no network: micropip and Pyodide's package CDN are not used).
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const [wheel, mainPy, casesJson, reportJson] = process.argv.slice(2);
if (!reportJson) {
  console.error("usage: node run.mjs XLWINGS.whl MAIN.py CASES.json REPORT.json");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const pyodide = await loadPyodide();
const booted = Date.now();

pyodide.FS.mkdirTree("/work");
pyodide.FS.writeFile(`/work/${basename(wheel)}`, readFileSync(wheel));
pyodide.FS.writeFile("/work/lite_runtime.py", readFileSync(join(here, "lite_runtime.py")));
pyodide.FS.writeFile("/work/main.py", readFileSync(mainPy));
pyodide.FS.writeFile("/work/cases.json", readFileSync(casesJson));

pyodide.globals.set("WHEEL", `/work/${basename(wheel)}`);
pyodide.globals.set("PYODIDE_VERSION", pyodide.version);
pyodide.globals.set("BOOT_MS", booted - started);
const out = await pyodide.runPythonAsync(`
import json, site, sys, zipfile
zipfile.ZipFile(WHEEL).extractall(site.getsitepackages()[0])
sys.path.insert(0, "/work")
import lite_runtime
with open("/work/main.py", encoding="utf-8") as fh:
    source = fh.read()
with open("/work/cases.json", encoding="utf-8") as fh:
    cases = json.load(fh)
report = await lite_runtime.run_report(source, cases)
report["pyodide"] = PYODIDE_VERSION
report["boot_ms"] = BOOT_MS
json.dumps(report)
`);
// Python's JSON text as it is: re-encoding in JavaScript would turn 50.0 into 50.
writeFileSync(reportJson, out);
console.log(`pyodide ${pyodide.version}: booted in ${booted - started} ms, done in ${Date.now() - started} ms`);
