#!/usr/bin/env bash
# Everything needed for build/edgerestore-demo.apk on a machine that has the project
# virtualenv, node/npm, a JDK and the Android tools (see README.md):
#   npm ci  ->  scripts/prepare_web.sh (re-export the ONNX models, copy the runtime)
#           ->  app/build.sh (Android SDK if ANDROID_HOME is set, else Debian tools)
# usage: android_demo/build.sh [VENV]
set -euo pipefail
DEMO=$(cd "$(dirname "$0")" && pwd)
VENV=${1:-$(dirname "$DEMO")/.venv}
cd "$DEMO"
[[ -d node_modules/onnxruntime-web ]] || npm ci --no-audit --no-fund
scripts/prepare_web.sh "$VENV"
app/build.sh
