#!/usr/bin/env bash
# CI entry point of the Android / phone-browser demo. Installs what it needs (Debian
# packages when missing, `npm ci`), re-exports the models with the project virtualenv,
# runs the browser tests, builds the APK, checks it (signature, alignment, badging,
# contents) and runs the browser tests again on the web app unpacked from the APK.
# Ends with "N passed, M failed" and exits non-zero if anything failed.
#
# usage: android_demo/ci.sh [VENV]     (VENV: the project's virtualenv, default .venv)
set -uo pipefail
DEMO=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$DEMO")
VENV=${1:-.venv}
[[ "$VENV" = /* ]] || VENV="$REPO/$VENV"
BUILD="$DEMO/build"
LOGS="$BUILD/ci-logs"
mkdir -p "$LOGS"
cd "$DEMO"
start=$(date +%s)
passed=0
failed=0

# step NAME COMMAND...: run, log to build/ci-logs/NAME.log, count one pass or failure.
step() {
  local name=$1; shift
  local t0=$(date +%s)
  if "$@" > "$LOGS/$name.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name ($(( $(date +%s) - t0 )) s)"
  else
    failed=$((failed + 1)); echo "FAIL $name ($(( $(date +%s) - t0 )) s); last lines of $LOGS/$name.log:"
    tail -n 25 "$LOGS/$name.log" | sed 's/^/    /'
  fi
}

# browser NAME ARGS...: the node test runner, whose own "N passed, M failed" is added in.
browser() {
  local name=$1; shift
  local t0=$(date +%s)
  node tests/run.mjs "$@" 2>&1 | tee "$LOGS/$name.log" | sed 's/^/    /'
  local last p f
  last=$(tail -n 1 "$LOGS/$name.log")
  if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  else
    p=0; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
  echo "$( ((f == 0)) && echo "ok  " || echo "FAIL") $name: $p passed, $f failed ($(( $(date +%s) - t0 )) s)"
}

install_system() {
  local need=()
  command -v chromium >/dev/null || need+=(chromium)
  command -v javac >/dev/null || need+=(default-jdk-headless)
  command -v aapt >/dev/null || need+=(aapt)
  command -v zipalign >/dev/null || need+=(zipalign)
  command -v apksigner >/dev/null || need+=(apksigner)
  command -v unzip >/dev/null || need+=(unzip)
  command -v node >/dev/null || need+=(nodejs npm)
  if ((${#need[@]})); then
    local SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
  echo "chromium: $(chromium --version 2>/dev/null)"; javac -version; node --version
}

check_apk() {
  local apk="$BUILD/edgerestore-demo.apk"
  [[ -f "$apk" ]] || { echo "no $apk"; return 1; }
  # Every rule that makes a current phone refuse or break the APK (target SDK floor,
  # exported components, v2/v3 signatures, alignment, stored resources.arsc).
  "$VENV/bin/python" scripts/check_apk.py "$apk" --package org.edgerestore.demo \
    --activity org.edgerestore.demo.MainActivity || return 1
  aapt dump badging "$apk" | head -n 3
  local files
  files=$(unzip -Z1 "$apk")
  for f in classes.dex AndroidManifest.xml resources.arsc assets/web/index.html assets/web/bench.html \
           assets/web/js/restore.js assets/web/js/models.js assets/web/models/models.json \
           assets/web/ort/ort.min.mjs assets/web/ort/ort-wasm-simd-threaded.jsep.wasm \
           assets/web/js/litert.js assets/web/js/tiling.js assets/web/js/calibrate.js \
           assets/web/models/tiling.json assets/web/litert/core.js assets/web/litert/wasm-utils.js \
           assets/web/litert/litert_wasm_internal.wasm assets/web/litert/litert_wasm_compat_internal.wasm \
           assets/web/litert/litert_wasm_threaded_internal.wasm; do
    grep -qx "$f" <<< "$files" || { echo "missing in APK: $f"; return 1; }
  done
  for m in $(node -e 'for (const m of require(process.argv[1]).models) console.log(m.file)' "$DEMO/web/models/models.json"); do
    grep -qx "assets/web/models/$m" <<< "$files" || { echo "missing in APK: $m"; return 1; }
  done
  echo "APK $(stat -c %s "$apk") bytes, $(wc -l <<< "$files") entries"
}

unpack_apk() {
  rm -rf "$BUILD/apk-unpacked"
  unzip -q "$BUILD/edgerestore-demo.apk" 'assets/*' -d "$BUILD/apk-unpacked"
}

step system-packages install_system
step npm-ci npm ci --no-audit --no-fund
step export-models scripts/prepare_web.sh "$VENV"
step python-reference "$VENV/bin/python" scripts/make_fixtures.py --models web/models --out "$BUILD/fixtures"
browser browser-tests --results "$BUILD/test-results.json" --timeout 2700
step build-apk app/build.sh
step check-apk check_apk
step unpack-apk unpack_apk
browser browser-tests-apk-assets --root "$BUILD/apk-unpacked/assets/web" --only apk --no-webgpu \
  --results "$BUILD/test-results-apk.json"

echo "android_demo/ci.sh took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
((failed == 0))
