#!/usr/bin/env bash
# Build the one-folder bundle dist/lamapaint/ (editor + CLI over one runtime, CPU torch, no
# weights) and its tarball dist/lamapaint-VERSION-linux-ARCH.tar.gz, from a clean checkout.
#
#   packaging/build.sh            reuse build/bundle-venv when it is there
#   packaging/build.sh --clean    start from nothing (venv, PyInstaller cache, dist)
#
# It installs into its own virtual environment, build/bundle-venv, never the developer's .venv:
# the bundle then holds the runtime dependencies and PyInstaller only, nothing from [test]/[dev],
# and lamapaint itself is a regular (non-editable) install. Where the default package index
# serves CUDA builds of torch, set LAMAPAINT_TORCH_INDEX=https://download.pytorch.org/whl/cpu.
# Everything it writes is under build/ and dist/ (both ignored by git). Then: packaging/smoke.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=build/bundle-venv
PY=$VENV/bin/python
started=$(date +%s)

if [[ "${1:-}" == "--clean" ]]; then
    rm -rf "$VENV" build/pyinstaller build/icons dist/lamapaint dist/lamapaint-*.tar.gz
fi

echo "== virtual environment $VENV"
[[ -x $PY ]] || python3 -m venv "$VENV"
torch_index=()
[[ -n "${LAMAPAINT_TORCH_INDEX:-}" ]] && torch_index=(--index-url "$LAMAPAINT_TORCH_INDEX")
"$PY" -m pip install -q "${torch_index[@]}" -c constraints.txt torch
"$PY" -m pip install -q -c constraints.txt . "pyinstaller>=6.22,<7"
"$PY" - <<'PYCHECK'
import sys, torch
if torch.version.cuda is not None or torch.version.hip is not None:
    sys.exit(f"torch {torch.__version__} is a GPU build; the bundle ships the CPU build "
             "(set LAMAPAINT_TORCH_INDEX=https://download.pytorch.org/whl/cpu and run with --clean)")
print(f"torch {torch.__version__} (CPU)")
PYCHECK
version=$("$PY" -c "import lamapaint; print(lamapaint.__version__)")

echo "== icons"
QT_QPA_PLATFORM=offscreen "$PY" resources/icons/make_icons.py build/icons

echo "== PyInstaller"
pyi_started=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/lamapaint.spec
pyi_seconds=$(( $(date +%s) - pyi_started ))

echo "== desktop integration files (share/, for a packager or a manual install)"
share=dist/lamapaint/share
mkdir -p "$share/applications" "$share/metainfo" "$share/mime/packages"
cp resources/linux/io.github.lamapaint.Lamapaint.desktop "$share/applications/"
cp resources/linux/io.github.lamapaint.Lamapaint.metainfo.xml "$share/metainfo/"
cp resources/linux/io.github.lamapaint.Lamapaint.mime.xml "$share/mime/packages/"
cp -r build/icons/hicolor "$share/icons"
cp LICENSE README.md CHANGELOG.md dist/lamapaint/

echo "== tarball"
tarball=dist/lamapaint-$version-linux-$(uname -m).tar.gz
tar czf "$tarball" -C dist lamapaint
total_seconds=$(( $(date +%s) - started ))

echo "bundle:     dist/lamapaint ($(du -sh dist/lamapaint | cut -f1))"
echo "tarball:    $tarball ($(( $(stat -c %s "$tarball") / 1000000 )) MB)"
echo "build time: PyInstaller ${pyi_seconds} s, whole script ${total_seconds} s"
