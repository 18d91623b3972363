#!/usr/bin/env bash
# Build the signed debug APK android_demo/build/edgerestore-demo.apk from this folder's
# Java source and manifest plus the web app in ../web (its models/ and ort/ must be
# prepared first: ../scripts/prepare_web.sh, or ../build.sh which does everything).
#
# Two toolchains:
#   * a standard Android SDK when ANDROID_HOME (or ANDROID_SDK_ROOT) is set: the newest
#     platforms/android-*/android.jar and build-tools/*/{d8,aapt2,zipalign,apksigner};
#   * otherwise Debian's: aapt, zipalign, apksigner from the running release and, from
#     the previous release, android.jar (API 23) and the dx dexer, fetched by
#     fetch_debian_toolchain.sh into build/toolchain/ (no system-wide install).
# Both need javac/keytool (a JDK). A debug keystore is created once in build/.
#
# What a current phone requires of the APK (android_demo/ci.sh checks each one):
# the manifest's targetSdkVersion (35), android:exported on the launcher Activity,
# resources.arsc stored uncompressed and 4-byte aligned (-0 arsc, zipalign -p 4), and
# v2 + v3 signatures (v1 as well, for Android 6, the minSdkVersion).
#
# usage: app/build.sh [--toolchain sdk|debian]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEMO=$(dirname "$HERE")
WEB="$DEMO/web"
OUT="$DEMO/build"
APK="$OUT/edgerestore-demo.apk"
STAGE="$OUT/apk"

toolchain=""
if [[ "${1:-}" == "--toolchain" ]]; then toolchain=${2:?}; fi
SDK=${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}
if [[ -z "$toolchain" ]]; then
  if [[ -n "$SDK" && -d "$SDK/build-tools" && -d "$SDK/platforms" ]]; then toolchain=sdk; else toolchain=debian; fi
fi

for f in index.html bench.html ort/ort.min.mjs models/models.json; do
  [[ -f "$WEB/$f" ]] || { echo "build.sh: $WEB/$f missing; run android_demo/scripts/prepare_web.sh first" >&2; exit 1; }
done
command -v javac >/dev/null || { echo "build.sh: javac not found (install a JDK)" >&2; exit 1; }

rm -rf "$STAGE"
mkdir -p "$STAGE/classes" "$STAGE/dex" "$STAGE/assets"
cp -r "$WEB" "$STAGE/assets/web"

if [[ "$toolchain" == sdk ]]; then
  platform=$(ls -d "$SDK"/platforms/android-* | sort -V | tail -n 1)
  tools=$(ls -d "$SDK"/build-tools/* | sort -V | tail -n 1)
  ANDROID_JAR="$platform/android.jar"
  AAPT2="$tools/aapt2"; D8="$tools/d8"; ZIPALIGN="$tools/zipalign"; APKSIGNER="$tools/apksigner"
else
  "$HERE/fetch_debian_toolchain.sh" "$OUT/toolchain"
  ANDROID_JAR="$OUT/toolchain/android.jar"
  DX_JAR="$OUT/toolchain/dx.jar"
  for t in aapt zipalign apksigner; do
    command -v $t >/dev/null || { echo "build.sh: $t not found (apt-get install aapt zipalign apksigner)" >&2; exit 1; }
  done
  ZIPALIGN=zipalign; APKSIGNER=apksigner
fi
echo "build.sh: toolchain=$toolchain android.jar=$ANDROID_JAR"

# Java 8 bytecode: the newest that dx understands, and enough for this source.
javac -nowarn -Xlint:-options -source 8 -target 8 -bootclasspath "$ANDROID_JAR" \
  -d "$STAGE/classes" $(find "$HERE/src" -name '*.java')

unaligned="$STAGE/unaligned.apk"
if [[ "$toolchain" == sdk ]]; then
  "$D8" --min-api 23 --lib "$ANDROID_JAR" --output "$STAGE/dex" $(find "$STAGE/classes" -name '*.class')
  "$AAPT2" compile --dir "$HERE/res" -o "$STAGE/res.zip"
  "$AAPT2" link -o "$unaligned" --manifest "$HERE/AndroidManifest.xml" -I "$ANDROID_JAR" \
    -A "$STAGE/assets" -R "$STAGE/res.zip" -0 arsc
  python3 - "$unaligned" "$STAGE/dex/classes.dex" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "a", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[2], "classes.dex")
PY
else
  java -cp "$DX_JAR" com.android.dx.command.Main --dex --min-sdk-version=23 \
    --output="$STAGE/dex/classes.dex" "$STAGE/classes"
  aapt package -f -0 arsc -M "$HERE/AndroidManifest.xml" -S "$HERE/res" -I "$ANDROID_JAR" \
    -A "$STAGE/assets" -F "$unaligned"
  (cd "$STAGE/dex" && aapt add "$unaligned" classes.dex >/dev/null)
fi

"$ZIPALIGN" -f -p 4 "$unaligned" "$STAGE/aligned.apk"

KS="$OUT/debug.keystore"
if [[ ! -f "$KS" ]]; then
  keytool -genkeypair -keystore "$KS" -storepass android -keypass android \
    -alias androiddebugkey -keyalg RSA -keysize 2048 -validity 10000 \
    -dname "CN=Android Debug,O=Android,C=US" >/dev/null 2>&1
fi
"$APKSIGNER" sign --ks "$KS" --ks-pass pass:android --key-pass pass:android \
  --ks-key-alias androiddebugkey --v1-signing-enabled true --v2-signing-enabled true \
  --v3-signing-enabled true --v4-signing-enabled false --out "$APK" "$STAGE/aligned.apk"
rm -f "$APK.idsig"
"$APKSIGNER" verify "$APK"
echo "build.sh: wrote $APK ($(stat -c %s "$APK") bytes)"
