#!/usr/bin/env bash
# Fill the git-ignored parts of android_demo/web/ from the project itself:
#   web/models/   ONNX files re-exported from src/edgerestore/models/weights/*.safetensors with
#                 `edgerestore export` (fp32) plus their .onnx.json sidecars and a
#                 models.json manifest the pages read;
#   web/ort/      the onnxruntime-web runtime (ES module + WASM, from node_modules)
#                 so that ort.env.wasm.wasmPaths points at the page's own origin;
#   web/litert/   LiteRT.js (@litertjs/core's ES module, its one dependency, and the
#                 relaxed-SIMD, threaded and compatibility WASM builds);
#   web/models/tiling.json  the Python runtime's tiling rule as data (tiling_rule.py);
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

LITERT="$DEMO/node_modules/@litertjs"
[[ -f "$LITERT/core/dist/index.js" ]] || { echo "prepare_web.sh: run 'npm ci' in android_demo first" >&2; exit 1; }
rm -rf "$DEMO/web/litert"
mkdir -p "$DEMO/web/litert"
# The module imports its dependency by package name; the pages have no bundler, so
# the import is pointed at the copy next to it.
sed 's#from "@litertjs/wasm-utils"#from "./wasm-utils.js"#' "$LITERT/core/dist/index.js" > "$DEMO/web/litert/core.js"
grep -q 'from "./wasm-utils.js"' "$DEMO/web/litert/core.js" || { echo "prepare_web.sh: LiteRT.js import not rewritten" >&2; exit 1; }
cp "$LITERT/wasm-utils/dist/index.js" "$DEMO/web/litert/wasm-utils.js"
# The JSPI build (WebNN, WebGPU/CPU partitioning) is not used by the pages.
for v in litert_wasm_internal litert_wasm_compat_internal litert_wasm_threaded_internal; do
  cp "$LITERT/core/wasm/$v.js" "$LITERT/core/wasm/$v.wasm" "$DEMO/web/litert/"
done
node -e 'process.stdout.write(require(process.argv[1]).version)' \
  "$LITERT/core/package.json" > "$DEMO/web/litert/VERSION"

"$VENV/bin/python" "$DEMO/scripts/prepare_models.py" --venv "$VENV" --web "$DEMO/web" \
  --work "$DEMO/build/export"
"$VENV/bin/python" "$DEMO/scripts/tiling_rule.py" "$DEMO/web/models/tiling.json"
