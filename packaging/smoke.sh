#!/usr/bin/env bash
# Run the built bundle (packaging/build.sh first) the way a user would, and fail loudly:
#   1. lamapaint-cli --version (and its wall time: the bundle's start-up cost)
#   2. a LaMa removal on a JPEG through torch (random weights: this checks the code path, not the
#      fill), whose output must keep every 8x8 block away from the mask bit for bit (block-wise save)
#   3. a removal on the sample PNG with no model installed (the OpenCV fallback)
#   4. the editor under Xvfb opening the JPEG: window exposed, photo shown, screenshot taken
# The helper Python (build/bundle-venv) only makes the inputs and checks the outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${1:-dist/lamapaint}
PY=build/bundle-venv/bin/python
[[ -x $BUNDLE/lamapaint-cli && -x $BUNDLE/lamapaint ]] || { echo "smoke: no bundle at $BUNDLE; run packaging/build.sh" >&2; exit 1; }
[[ -x $PY ]] || { echo "smoke: no $PY; run packaging/build.sh" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "smoke: xvfb-run missing (apt-get install xvfb xauth)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export LAMAPAINT_HOME=$WORK/home  # no settings, models or autosaves of the user's
now() { date +%s.%N; }
seconds() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

echo "== inputs"
"$PY" - "$WORK" <<'PYINPUTS'
import sys
from pathlib import Path
from PIL import Image
from safetensors.torch import save_file
from lamapaint.inpaint.lama import build_generator

work = Path(sys.argv[1])
Image.open("resources/samples/coffee.png").convert("RGB").save(work / "coffee.jpg", quality=90)
save_file(build_generator("lama-fourier").state_dict(), str(work / "random-lama-fourier.safetensors"))
PYINPUTS

echo "== 1. lamapaint-cli --version"
expected="lamapaint $("$PY" -c 'import lamapaint; print(lamapaint.__version__)')"
t0=$(now); got=$("$BUNDLE/lamapaint-cli" --version); t1=$(now)
[[ "$got" == "$expected" ]] || { echo "smoke: --version said '$got', expected '$expected'" >&2; exit 1; }
cold=$(seconds "$t0" "$t1")
t0=$(now); "$BUNDLE/lamapaint-cli" --version >/dev/null; t1=$(now)
echo "$got (cold ${cold} s, warm $(seconds "$t0" "$t1") s)"
"$BUNDLE/lamapaint" --version

echo "== 2. JPEG removal with LaMa (torch in the bundle), block-wise save"
t0=$(now)
"$BUNDLE/lamapaint-cli" remove "$WORK/coffee.jpg" --mask resources/samples/coffee_mask.png \
    --model lama-fourier --weights "$WORK/random-lama-fourier.safetensors" --precision fp32 -o "$WORK/coffee-cleaned.jpg"
echo "removal took $(seconds "$t0" "$(now)") s (process start included)"
"$PY" - "$WORK/coffee.jpg" "$WORK/coffee-cleaned.jpg" resources/samples/coffee_mask.png <<'PYBLOCKS'
import sys
import jpeglib
import numpy as np
from PIL import Image

original, cleaned = jpeglib.read_dct(sys.argv[1]), jpeglib.read_dct(sys.argv[2])
mask = np.asarray(Image.open(sys.argv[3])) > 0
# Away from the mask = outside every 16x16 MCU (4:2:0) the mask touches, plus one MCU around it.
mh, mw = -(-mask.shape[0] // 16), -(-mask.shape[1] // 16)
padded = np.zeros((mh * 16, mw * 16), bool)
padded[: mask.shape[0], : mask.shape[1]] = mask
touched = padded.reshape(mh, 16, mw, 16).any(axis=(1, 3))
near = touched.copy()
near[1:] |= touched[:-1]; near[:-1] |= touched[1:]
near[:, 1:] |= near[:, :-1].copy(); near[:, :-1] |= near[:, 1:].copy()
far = np.repeat(np.repeat(~near, 2, axis=0), 2, axis=1)  # in luma blocks
y0, y1 = original.Y, cleaned.Y
far = far[: y0.shape[0], : y0.shape[1]]
same = (y0 == y1).all(axis=(2, 3))
if not np.array_equal(original.qt, cleaned.qt):
    sys.exit("smoke: the cleaned JPEG has other quantisation tables: it was re-encoded, not saved block-wise")
if not same[far].all():
    sys.exit(f"smoke: {int((~same[far]).sum())} luma blocks away from the mask changed: not a block-wise save")
if same[np.repeat(np.repeat(touched, 2, 0), 2, 1)[: y0.shape[0], : y0.shape[1]]].all():
    sys.exit("smoke: no block under the mask changed: the removal did nothing")
print(f"block-wise save: {int(same[far].sum())} luma blocks away from the mask identical, {int((~same).sum())} re-encoded")
PYBLOCKS

echo "== 3. PNG removal without a model (OpenCV fallback)"
"$BUNDLE/lamapaint-cli" remove resources/samples/coffee.png --mask resources/samples/coffee_mask.png -o "$WORK/coffee-cleaned.png"
"$PY" -c "
import sys; from PIL import Image; import numpy as np
a, b = (np.asarray(Image.open(p).convert('RGB')) for p in ('resources/samples/coffee.png', sys.argv[1]))
m = np.asarray(Image.open('resources/samples/coffee_mask.png')) > 0
assert a.shape == b.shape, 'size changed'
assert (a[~m] == b[~m]).all(), 'pixels outside the mask changed'
assert (a[m] != b[m]).any(), 'nothing was filled'
print('PNG: pixels outside the mask unchanged, hole filled')" "$WORK/coffee-cleaned.png"

echo "== 4. the editor under Xvfb"
t0=$(now)
out=$(env -u WAYLAND_DISPLAY QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$BUNDLE/lamapaint" --smoke-test "$WORK/editor.png" "$WORK/coffee.jpg")
t1=$(now)
echo "$out"
exposed=$(sed -n 's/.*exposed_at=\([0-9.]*\).*/\1/p' <<<"$out")
shown=$(sed -n 's/.*photo_at=\([0-9.]*\).*/\1/p' <<<"$out")
"$PY" -c "
import sys; from PIL import Image; import numpy as np
im = np.asarray(Image.open(sys.argv[1]).convert('RGB'))
assert im.shape[0] > 300 and im.shape[1] > 400, f'screenshot too small: {im.shape}'
assert im.reshape(-1, 3).std(axis=0).max() > 10, 'screenshot is one flat colour'
print(f'screenshot {im.shape[1]}x{im.shape[0]}')" "$WORK/editor.png"
mkdir -p build && cp "$WORK/editor.png" build/smoke-editor.png
echo "editor: window exposed after $(seconds "$t0" "$exposed") s, photo shown after $(seconds "$t0" "$shown") s, whole run $(seconds "$t0" "$t1") s (Xvfb start included)"
echo "smoke: all passed"
