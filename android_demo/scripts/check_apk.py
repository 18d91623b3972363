"""Check an APK against the rules that make a current Android phone refuse or break it.

Why a script and not a few greps: each rule below is an install failure (or a broken
app) on a real phone that the build tools do not report, and the thresholds move with
every Android release. One place holds them, prints one line per rule, and exits 1 on
any failure, so raising ``TARGET_SDK_FLOOR`` here turns the next floor into a red CI run
instead of a user's ``INSTALL_FAILED_DEPRECATED_SDK_VERSION``.

Rules (the failure a phone shows when broken):

* target SDK >= ``TARGET_SDK_FLOOR`` (Android 15: targets below 24 are refused; stores
  and later releases move the floor, so it tracks the newest level, 35);
* every activity/service/receiver/provider with an intent filter declares
  ``android:exported`` (target 31+: ``INSTALL_PARSE_FAILED_MANIFEST_MALFORMED``), and the
  launcher activity is exported (else it cannot be started);
* v2 and v3 signatures verify (target 30+: ``INSTALL_PARSE_FAILED_NO_CERTIFICATES``
  without v2; v3 carries key rotation), and v1 when the min SDK is below 24 (Android 6
  reads only v1);
* ``zipalign -c -p 4`` passes;
* ``resources.arsc`` is present, stored uncompressed and 4-byte aligned (target 30+:
  ``INSTALL_PARSE_FAILED_RESOURCES_ARSC_COMPRESSED``);
* stored native libraries start on a 16 KiB boundary (devices with 16 KiB pages,
  Android 15+, cannot map them otherwise).

usage: check_apk.py APK [--package NAME] [--activity CLASS] [--target-floor N]
"""

from __future__ import annotations

import argparse
import re
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: The lowest targetSdkVersion accepted: the newest API level Android enforces.
TARGET_SDK_FLOOR = 35
#: Manifest elements that can be started from outside the app.
COMPONENTS = ("activity", "activity-alias", "service", "receiver", "provider")
#: Page size of Android 15+ devices with 16 KiB pages: alignment of stored .so files.
NATIVE_LIB_ALIGN = 16384


@dataclass
class Badging:
    """What ``aapt dump badging`` says about the APK."""

    package: str | None
    min_sdk: int | None
    target_sdk: int | None
    launchable: list[str]


def parse_badging(text: str) -> Badging:
    """The package name, SDK levels and launchable activities from badging output."""
    pkg = re.search(r"^package: name='([^']+)'", text, re.M)
    sdk = re.search(r"^sdkVersion:'(\d+)'", text, re.M)
    target = re.search(r"^targetSdkVersion:'(\d+)'", text, re.M)
    return Badging(pkg.group(1) if pkg else None,
                   int(sdk.group(1)) if sdk else None,
                   int(target.group(1)) if target else None,
                   re.findall(r"^launchable-activity: name='([^']+)'", text, re.M))


@dataclass
class Component:
    """One manifest component from ``aapt dump xmltree``: its tag, name and flags."""

    tag: str
    name: str
    exported: bool | None  # None: attribute absent
    has_intent_filter: bool


def parse_components(xmltree: str) -> list[Component]:
    """The components of the manifest dump, each with exported and intent-filter facts.

    The dump nests by indentation: ``E: tag`` opens an element, ``A: attr=value`` lines
    belong to the element just above at lower indentation.
    """
    out: list[Component] = []
    current: Component | None = None
    depth = -1
    for line in xmltree.splitlines():
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if current is not None and indent <= depth and body.startswith("E: "):
            current = None
        if body.startswith("E: "):
            tag = body[3:].split()[0]
            if tag in COMPONENTS:
                current = Component(tag, "", None, False)
                depth = indent
                out.append(current)
            elif current is not None and tag == "intent-filter":
                current.has_intent_filter = True
        elif current is not None and body.startswith("A: ") and indent == depth + 2:
            name = re.match(r"A: android:name\([^)]*\)=\"([^\"]*)\"", body)
            if name:
                current.name = name.group(1)
            exported = re.match(r"A: android:exported\([^)]*\)=\(type 0x12\)0x([0-9a-f]+)", body)
            if exported:
                current.exported = int(exported.group(1), 16) != 0
    return out


def parse_schemes(verify: str) -> dict[int, bool]:
    """Scheme version -> verified, from ``apksigner verify --verbose``."""
    return {int(v): ok == "true"
            for v, ok in re.findall(r"^Verified using v(\d) scheme[^:]*: (true|false)", verify, re.M)}


def data_offset(apk: Path, info: zipfile.ZipInfo) -> int:
    """Offset of an entry's data in the file (after its local header), for alignment."""
    with apk.open("rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def zip_problems(apk: Path) -> list[str]:
    """resources.arsc and native-library storage problems; [] when there are none."""
    problems = []
    with zipfile.ZipFile(apk) as z:
        infos = {i.filename: i for i in z.infolist()}
    arsc = infos.get("resources.arsc")
    if arsc is None:
        problems.append("resources.arsc missing")
    elif arsc.compress_type != zipfile.ZIP_STORED:
        problems.append("resources.arsc is compressed")
    elif data_offset(apk, arsc) % 4:
        problems.append("resources.arsc is not 4-byte aligned")
    for name, info in infos.items():
        if (name.startswith("lib/") and name.endswith(".so")
                and info.compress_type == zipfile.ZIP_STORED
                and data_offset(apk, info) % NATIVE_LIB_ALIGN):
            problems.append(f"{name} is not {NATIVE_LIB_ALIGN}-byte aligned")
    return problems


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def check(apk: Path, package: str | None, activity: str | None, floor: int) -> list[str]:
    """Every rule's result line; a line starting with FAIL is a failed rule."""
    lines = []

    def rule(name: str, ok: bool, detail: str) -> None:
        lines.append(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

    badging_run = run("aapt", "dump", "badging", str(apk))
    b = parse_badging(badging_run.stdout)
    rule("badging", badging_run.returncode == 0 and b.package is not None,
         f"package {b.package}, minSdk {b.min_sdk}, targetSdk {b.target_sdk}")
    if package:
        rule("package", b.package == package, f"{b.package} (want {package})")
    rule("target-sdk", b.target_sdk is not None and b.target_sdk >= floor,
         f"targetSdkVersion {b.target_sdk} (floor {floor})")
    if activity:
        rule("launchable-activity", activity in b.launchable, f"{b.launchable} (want {activity})")

    tree = run("aapt", "dump", "xmltree", str(apk), "AndroidManifest.xml")
    comps = parse_components(tree.stdout)
    missing = [f"{c.tag} {c.name}" for c in comps if c.has_intent_filter and c.exported is None]
    rule("exported", tree.returncode == 0 and bool(comps) and not missing,
         f"{len(comps)} component(s); with an intent filter but no android:exported: "
         f"{missing or 'none'}")
    if activity:
        short = activity.removeprefix(f"{b.package}.") if b.package else activity
        launcher = [c for c in comps if c.name in (activity, f".{short}", short)]
        rule("launcher-exported", bool(launcher) and all(c.exported for c in launcher),
             f"{activity} exported={[c.exported for c in launcher]}")

    verify = run("apksigner", "verify", "--verbose", str(apk))
    schemes = parse_schemes(verify.stdout)
    need = [2, 3] + ([1] if (b.min_sdk or 1) < 24 else [])
    rule("signatures", verify.returncode == 0 and all(schemes.get(v) for v in need),
         f"verified schemes {sorted(v for v, ok in schemes.items() if ok)} (need {sorted(need)})")

    align = run("zipalign", "-c", "-p", "4", str(apk))
    rule("zipalign", align.returncode == 0, "zipalign -c -p 4")

    problems = zip_problems(apk)
    rule("zip-storage", not problems,
         "; ".join(problems) or "resources.arsc stored and aligned, native libraries aligned")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("apk", type=Path)
    ap.add_argument("--package")
    ap.add_argument("--activity")
    ap.add_argument("--target-floor", type=int, default=TARGET_SDK_FLOOR)
    args = ap.parse_args(argv)
    if not args.apk.is_file():
        print(f"check_apk: no such file: {args.apk}", file=sys.stderr)
        return 2
    lines = check(args.apk, args.package, args.activity, args.target_floor)
    print("\n".join(lines))
    return 1 if any(line.startswith("FAIL") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
