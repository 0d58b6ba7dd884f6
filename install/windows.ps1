<#
.SYNOPSIS
  Set up the leverage add-in for desktop Excel on Windows (classic xlwings, COM).

.DESCRIPTION
  1. creates a virtual environment and installs the package into it (xlwings pinned, with pywin32);
  2. writes the add-in's user configuration (%USERPROFILE%\.leverage-addin\leverage-addin.conf):
     INTERPRETER_WIN = this environment's python.exe, UDF MODULES = addin.udfs;
  3. builds leverage-addin.xlam from xlwings' own custom add-in template (conf sheet leverage-addin.conf:
     UDF Modules = addin.udfs);
  4. opens it in a hidden Excel, names its VBA project (LeverageAddin, PROJECT_NAME "leverage-addin", so
     it reads its own settings and no other add-in built from xlwings' template shares them) and imports
     the function wrappers into it with xlwings' import_udfs (needs "Trust access to the VBA project
     object model" once; the script says how if it is off);
  5. copies it into Excel's XLSTART folder (removing an earlier leverage.xlam), so every workbook
     (a plain .xlsx journal too) has the functions.
  Each step is a `python -m addin setup` command; its --help explains every step and option.
  Safe to run again: it reuses the environment, merges the configuration and rebuilds the add-in.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install\windows.ps1
  powershell -ExecutionPolicy Bypass -File install\windows.ps1 -Python "C:\Python312\python.exe"
#>
[CmdletBinding()]
param(
    [string]$Python = "",
    [string]$Venv = (Join-Path $env:LOCALAPPDATA "LeverageAddin\venv"),
    [string]$Source = (Split-Path -Parent $PSScriptRoot),
    [switch]$SkipExcel
)

$ErrorActionPreference = "Stop"

function Step([string]$Message) { Write-Host "==> $Message" }
function Fail([string]$Message, [int]$Code = 1) {
    Write-Host "ERROR: $Message" -ForegroundColor Red
    exit $Code
}
function Run([string]$Exe, [string[]]$Arguments, [string]$What) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "$What failed (exit code $LASTEXITCODE): see the messages above" $LASTEXITCODE }
}

# 1. Python and the virtual environment --------------------------------------------------------
if (-not $Python) {
    if (Get-Command py -ErrorAction SilentlyContinue) { $Python = "py" }
    elseif (Get-Command python -ErrorAction SilentlyContinue) { $Python = "python" }
    else { Fail "Python was not found. Install Python 3.11 or newer from https://www.python.org/downloads/ (tick 'Add python.exe to PATH'), then run this again." }
}
Step "checking $Python"
& $Python -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"
if ($LASTEXITCODE -ne 0) { Fail "$Python is not Python 3.11 or newer: pass -Python C:\path\to\python.exe" }

$VenvPython = Join-Path $Venv "Scripts\python.exe"
if (Test-Path $VenvPython) {
    Step "reusing the virtual environment $Venv"
} else {
    Step "creating the virtual environment $Venv"
    Run $Python @("-m", "venv", $Venv) "creating the virtual environment"
}

Step "installing the add-in package from $Source"
Run $VenvPython @("-m", "pip", "install", "--disable-pip-version-check", "--quiet", $Source) "pip install"
Run $VenvPython @("-c", "import addin.udfs, xlwings, win32com; print('    xlwings', xlwings.__version__)") "checking the installation"

# The add-in's VBA loads xlwings64-<version>.dll from the environment (next to python.exe or one level up).
$Dll = Get-ChildItem -Path $Venv, (Join-Path $Venv "Scripts") -Filter "xlwings64-*.dll" -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not $Dll) { Fail "xlwings64-*.dll is missing from ${Venv}: 64-bit Python and 64-bit Excel are needed; reinstall with a 64-bit Python" }
Step "found $($Dll.FullName)"

# 2. configuration --------------------------------------------------------------------------------
Step "writing the add-in configuration"
Run $VenvPython @("-m", "addin", "setup", "config", "--interpreter", $VenvPython) "writing the configuration"

# 3. the custom add-in ----------------------------------------------------------------------------
$Addin = Join-Path $env:USERPROFILE ".leverage-addin\leverage-addin.xlam"
Step "building $Addin from xlwings' add-in template"
Run $VenvPython @("-m", "addin", "setup", "build-addin", "--out", $Addin) "building the add-in"

if ($SkipExcel) {
    Step "skipping the Excel steps (-SkipExcel): import the functions and install $Addin yourself"
    exit 0
}

if (Get-Process -Name EXCEL -ErrorAction SilentlyContinue) {
    Fail "Excel is running: save your work, close every Excel window, then run this again."
}

# 4. the function wrappers (xlwings' "Import Functions") --------------------------------------------
Step "importing the functions into the add-in (Excel opens hidden for a moment)"
& $VenvPython -m addin setup import-functions --addin $Addin
if ($LASTEXITCODE -eq 3) {
    Write-Host ""
    Write-Host "What to click: Excel > File > Options > Trust Center > Trust Center Settings... > Macro Settings >" -ForegroundColor Yellow
    Write-Host "  tick 'Trust access to the VBA project object model' > OK > OK, close Excel, run this script again." -ForegroundColor Yellow
    exit 3
}
if ($LASTEXITCODE -ne 0) { Fail "importing the functions failed: see the messages above" }

# 5. install into XLSTART ---------------------------------------------------------------------------
Step "installing the add-in into Excel's XLSTART folder"
Run $VenvPython @("-m", "addin", "setup", "install-addin", "--addin", $Addin) "installing the add-in"

Write-Host ""
Write-Host "Done. Start Excel and type =LEVERAGE(0.02) in any cell: it shows 50."
Write-Host "The functions are in the 'Leverage & Margin' category of Insert Function (Shift+F3)."
Write-Host "If Excel blocks the add-in: File > Options > Trust Center > Trust Center Settings > Trusted Locations,"
Write-Host "and make sure the XLSTART folder is listed (it is by default)."
