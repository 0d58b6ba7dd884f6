#!/usr/bin/env bash
# Set up the leverage add-in on macOS or Linux: a virtual environment with the package, the
# `leverage-addin` command, and the two files to paste into xlwings Lite (Excel on Mac, Windows
# and the web). Desktop Excel on macOS cannot run classic xlwings functions (they need Windows/COM):
# on a Mac the functions reach Excel through xlwings Lite. Safe to run again: it reuses the
# environment and rewrites the files.
#
#   install/unix.sh [--python python3] [--venv DIR] [--source DIR|SPEC] [--lite-out DIR] [--bin-dir DIR]
#   install/unix.sh --uninstall [--venv DIR] [--lite-out DIR] [--bin-dir DIR]   (same options as the install)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
HOME_DIR="${LEVERAGE_HOME:-$HOME/.leverage-addin}"
VENV="$HOME_DIR/venv"
LITE_OUT="$HOME_DIR/lite"
BIN_DIR="$HOME/.local/bin"
SOURCE="$(dirname "$HERE")"

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    cat <<USAGE

Options:
  --python EXE     Python 3.11 or newer to build the environment with (default: $PYTHON)
  --venv DIR       the virtual environment (default: $VENV)
  --source SRC     what to pip-install: this checkout (default: $SOURCE) or a package spec
  --lite-out DIR   where to write main.py and requirements.txt for xlwings Lite (default: $LITE_OUT)
  --bin-dir DIR    where to link the leverage-addin command (default: $BIN_DIR)
  --uninstall      remove what the install made: the command link, the environment, the two
                   xlwings Lite files (and their folders when left empty); journals are never touched
USAGE
}

UNINSTALL=0
step() { printf '==> %s\n' "$*"; }
fail() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --python) PYTHON="${2:?--python needs a value}"; shift 2 ;;
        --venv) VENV="${2:?--venv needs a value}"; shift 2 ;;
        --source) SOURCE="${2:?--source needs a value}"; shift 2 ;;
        --lite-out) LITE_OUT="${2:?--lite-out needs a value}"; shift 2 ;;
        --bin-dir) BIN_DIR="${2:?--bin-dir needs a value}"; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option: $1" ;;
    esac
done

if [ "$UNINSTALL" = 1 ]; then
    LINK="$BIN_DIR/leverage-addin"
    if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$VENV/bin/leverage-addin" ]; then
        step "removing the command link $LINK"
        rm -f "$LINK"
    elif [ -e "$LINK" ]; then
        printf '    %s is not the link this installer made; left as it is\n' "$LINK"
    fi
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import addin.udfs' 2>/dev/null; then
        step "removing the virtual environment $VENV"
        rm -rf "$VENV"
    elif [ -e "$VENV" ]; then
        printf '    %s does not hold the add-in; left as it is\n' "$VENV"
    fi
    for f in main.py requirements.txt; do
        if [ -f "$LITE_OUT/$f" ]; then
            step "removing $LITE_OUT/$f"
            rm -f "$LITE_OUT/$f"
        fi
    done
    rmdir "$LITE_OUT" 2>/dev/null || true
    rmdir "$HOME_DIR" 2>/dev/null || true
    step "uninstalled (your journals are untouched)"
    exit 0
fi

case "$(uname -s)" in
    Darwin) PLATFORM=macOS ;;
    Linux) PLATFORM=Linux ;;
    *) fail "this script is for macOS and Linux; on Windows run install/windows.ps1" ;;
esac

step "checking $PYTHON ($PLATFORM)"
command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found: install Python 3.11 or newer (https://www.python.org/downloads/) or pass --python"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || fail "$("$PYTHON" -V 2>&1) is too old: the add-in needs Python 3.11 or newer (pass --python)"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
    || fail "$PYTHON cannot create virtual environments (Debian/Ubuntu: sudo apt install python3-venv)"

if [ -x "$VENV/bin/python" ]; then
    step "reusing the virtual environment $VENV"
else
    step "creating the virtual environment $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV" || fail "could not create $VENV"
fi
PY="$VENV/bin/python"

step "installing the add-in package from $SOURCE"
"$PY" -m pip install --disable-pip-version-check --quiet "$SOURCE" \
    || fail "pip could not install $SOURCE (see the messages above; a network connection to PyPI is needed)"

step "checking the installation"
"$PY" -c 'import addin.udfs, xlwings; from addin.udf_meta import REGISTRY; print(f"    {len(REGISTRY)} functions, xlwings {xlwings.__version__}")' \
    || fail "the package is installed but does not import"

step "linking the leverage-addin command into $BIN_DIR"
mkdir -p "$BIN_DIR"
ln -sf "$VENV/bin/leverage-addin" "$BIN_DIR/leverage-addin"
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) printf '    note: %s is not on your PATH; add it, or run %s\n' "$BIN_DIR" "$VENV/bin/leverage-addin" ;;
esac

step "writing the xlwings Lite files into $LITE_OUT"
"$PY" -m addin lite --out "$LITE_OUT" | sed 's/^/    /' || fail "could not write the xlwings Lite files"

cat <<DONE

Done. Next, to use the functions in Excel (Mac, Windows or Excel on the web) through xlwings Lite:
  1. In Excel: Home > Add-ins > search "xlwings Lite" > Add.
  2. Open the xlwings Lite pane (Home > xlwings Lite).
  3. Replace everything in its main.py tab with the contents of $LITE_OUT/main.py
  4. Replace its requirements.txt tab with the contents of $LITE_OUT/requirements.txt
  5. In a cell: =LEVERAGE(0.02)  ->  50
  6. A journal from this project: leverage-addin runtime lite JOURNAL.xlsx  (once, Excel closed)
The command line: leverage-addin --help   (README.md, "Excel set-up", has the details)
DONE
