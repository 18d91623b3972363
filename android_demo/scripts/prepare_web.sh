#!/usr/bin/env bash
# Fill the git-ignored parts of android_demo/web/ from the project itself:
#   web/models/   ONNX files re-exported from models/weights/*.safetensors with
#                 `edgerestore export` (fp32) plus their .onnx.json sidecars and a
#                 models.json manifest the pages read;
#   web/ort/      the onnxruntime-web runtime (ES module + WASM, from node_modules)
#                 so that ort.env.wasm.wasmPaths points at the page's own origin;
#   web/samples/  a test photo (scikit-image's bundled astronaut, 256x256).
# usage: scripts/prepare_web.sh [VENV]   (default: the repository's .venv)
set -euo pipefail
DEMO=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(dirname "$DEMO")
VENV=${1:-$REPO/.venv}
[[ -x "$VENV/bin/python" ]] || { echo "prepare_web.sh: no python in $VENV" >&2; exit 1; }
ORT="$DEMO/node_modules/onnxruntime-web/dist"
[[ -f "$ORT/ort.min.mjs" ]] || { echo "prepare_web.sh: run 'npm ci' in android_demo first" >&2; exit 1; }

mkdir -p "$DEMO/web/ort"
# ort.min.mjs drives both the WASM and the WebGPU (JSEP) execution providers from one
# binary, ort-wasm-simd-threaded.jsep.{mjs,wasm}.
for f in ort.min.mjs ort-wasm-simd-threaded.jsep.mjs ort-wasm-simd-threaded.jsep.wasm; do
  cp "$ORT/$f" "$DEMO/web/ort/$f"
done
node -e 'process.stdout.write(require(process.argv[1]).version)' \
  "$DEMO/node_modules/onnxruntime-web/package.json" > "$DEMO/web/ort/VERSION"

"$VENV/bin/python" "$DEMO/scripts/prepare_models.py" --venv "$VENV" --web "$DEMO/web" \
  --work "$DEMO/build/export"
