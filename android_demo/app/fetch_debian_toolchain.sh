#!/usr/bin/env bash
# Fetch the two Android build pieces that current Debian no longer ships, from the
# previous Debian release (bullseye): an API-23 android.jar (android-sdk-platform-23,
# whose jar is in libandroid-23-java) and the dx dexer (dalvik-exchange). They are
# downloaded with `apt-get download` through a private sources list and unpacked with
# dpkg-deb into $DEST; nothing is installed system-wide. The mirror is read from this
# machine's own apt configuration (the URI that serves the running release), so no host
# name lives in this file.
#
# usage: fetch_debian_toolchain.sh DEST      (prints nothing else on success)
set -euo pipefail
DEST=${1:?usage: fetch_debian_toolchain.sh DEST}
SUITE=${DEBIAN_PREVIOUS_SUITE:-bullseye}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
if [[ -f "$DEST/android.jar" && -f "$DEST/dx.jar" ]]; then exit 0; fi

. /etc/os-release
CODENAME=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}

# The mirror: first URI in the apt configuration that serves "$CODENAME" main.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f "$f" ]] || continue
  # deb822 stanzas: remember URIs and Suites per stanza.
  mirror=$(awk -v want="$CODENAME" '
    BEGIN { RS=""; FS="\n" }
    {
      uris=""; suites=""; enabled=1
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/)    { sub(/^URIs:[ \t]*/, "", $i); uris=$i }
        if ($i ~ /^Suites:/)  { sub(/^Suites:[ \t]*/, "", $i); suites=" " $i " " }
        if ($i ~ /^Enabled:[ \t]*no/) enabled=0
      }
      if (enabled && index(suites, " " want " ") > 0 && uris != "") { split(uris, u, " "); print u[1]; exit }
    }' "$f")
  [[ -n "$mirror" ]] && break
done
if [[ -z "$mirror" ]]; then
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    mirror=$(awk -v want="$CODENAME" '$1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == want) { print $i; exit } }' "$f")
    [[ -n "$mirror" ]] && break
  done
fi
[[ -n "$mirror" ]] || { echo "fetch_debian_toolchain: no apt source for '$CODENAME' found" >&2; exit 1; }

work="$DEST/apt"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $mirror $SUITE main" > "$work/sources.list"
APT_OPTS=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)
apt-get "${APT_OPTS[@]}" -qq update
(cd "$work/debs" && apt-get "${APT_OPTS[@]}" -qq download android-sdk-platform-23 libandroid-23-java dalvik-exchange)

root="$work/root"
mkdir -p "$root"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
jar=$(find "$root" -name android.jar -path '*23*' | head -n 1)
dx=$(find "$root" -path '*/share/java/*' -name 'com.android.dx.jar' | head -n 1)
[[ -n "$jar" && -n "$dx" ]] || { echo "fetch_debian_toolchain: android.jar or dx.jar missing in the packages" >&2; exit 1; }
cp -L "$jar" "$DEST/android.jar"
cp -L "$dx" "$DEST/dx.jar"
