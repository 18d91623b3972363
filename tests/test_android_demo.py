"""Static consistency of android_demo/ (cheap: no browser, no Node, no Android tools).

The heavy checks (headless Chromium running the exported models, the APK build and its
verification) live in android_demo/ci.sh. These only catch drift between the pieces:
files the build scripts and pages rely on, the manifest and the Java source, the
benchmark page's JSON fields and ``edgerestore bench``'s, the weights the demo exports.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "android_demo"
REPO = DEMO.parent


def read(rel: str) -> str:
    return (DEMO / rel).read_text(encoding="utf-8")


def check_apk():
    """android_demo/scripts/check_apk.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("check_apk", DEMO / "scripts" / "check_apk.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_apk"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_files_exist_and_scripts_are_executable():
    for rel in ("README.md", "ci.sh", "build.sh", "app/build.sh", "app/fetch_debian_toolchain.sh",
                "scripts/prepare_web.sh", "scripts/prepare_models.py", "scripts/make_fixtures.py",
                "scripts/serve.mjs", "tests/run.mjs", "package.json", "package-lock.json",
                "app/AndroidManifest.xml", "web/index.html", "web/bench.html",
                "web/bench_frame.html", "web/js/restore.js", "web/js/models.js",
                "web/js/litert.js", "web/js/tiling.js", "web/js/calibrate.js",
                "scripts/check_apk.py", "scripts/tiling_rule.py", "app/res/values/strings.xml"):
        assert (DEMO / rel).is_file(), rel
    for rel in ("ci.sh", "build.sh", "app/build.sh", "app/fetch_debian_toolchain.sh",
                "scripts/prepare_web.sh"):
        assert (DEMO / rel).stat().st_mode & 0o111, f"{rel} is not executable"


def test_pages_load_only_files_of_the_web_folder():
    for page in ("index.html", "bench.html", "bench_frame.html"):
        html = read(f"web/{page}")
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert "//" not in ref, f"{page} loads {ref} from another origin"
            if ref.endswith((".js", ".css", ".html")):
                assert (DEMO / "web" / ref).is_file(), f"{page} refers to missing {ref}"
    js = "\n".join(p.read_text() for p in (DEMO / "web" / "js").glob("*.js"))
    assert re.search(r"https?://", js) is None, "a script names a remote URL"
    assert "ort.env.wasm.wasmPaths" in read("web/js/models.js")
    # The runtime files the pages import are the ones prepare_web.sh copies.
    prepare = read("scripts/prepare_web.sh")
    for f in ("ort.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm"):
        assert f in prepare
    assert '"../ort/ort.min.mjs"' in read("web/js/models.js")
    # LiteRT.js: the page imports the copy prepare_web.sh makes, with its WASM builds.
    assert '"../litert/core.js"' in read("web/js/litert.js")
    for f in ("litert_wasm_internal", "litert_wasm_compat_internal",
              "litert_wasm_threaded_internal", "wasm-utils.js", "tiling_rule.py"):
        assert f in prepare
    assert 'new URL("../litert/", import.meta.url)' in read("web/js/litert.js")


def test_manifest_and_activity_agree():
    manifest = read("app/AndroidManifest.xml")
    package = re.search(r'package="([\w.]+)"', manifest).group(1)
    activity = re.search(r'<activity\s+android:name="([\w.]+)"', manifest).group(1)
    cls = (package + activity) if activity.startswith(".") else activity
    java = DEMO / "app" / "src" / Path(*cls.split(".")).with_suffix(".java")
    assert java.is_file(), java
    source = java.read_text()
    assert f"package {package};" in source
    assert "android.intent.action.MAIN" in manifest
    assert "android.intent.category.LAUNCHER" in manifest
    for header in ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy"):
        assert header in source, f"WebView responses lack {header}"
        assert header in read("scripts/serve.mjs"), f"serve.mjs lacks {header}"
    assert "shouldInterceptRequest" in source and 'assets.open("web"' in source
    ci = read("ci.sh")
    assert f"--package {package}" in ci and f"--activity {cls}" in ci
    # What a current phone needs of the manifest (check_apk.py verifies the built APK).
    target = int(re.search(r'android:targetSdkVersion="(\d+)"', manifest).group(1))
    assert target >= check_apk().TARGET_SDK_FLOOR
    assert re.search(r'<activity[^>]*android:exported="true"', manifest)
    assert "setOnApplyWindowInsetsListener" in source


def test_no_host_names_in_the_build_scripts():
    for rel in ("ci.sh", "build.sh", "app/build.sh", "app/fetch_debian_toolchain.sh",
                "scripts/prepare_web.sh", "package-lock.json", ".npmrc"):
        assert re.search(r"https?://", read(rel)) is None, rel


def test_benchmark_fields_match_edgerestore_bench():
    bench = pytest.importorskip("edgerestore.runtime.bench")
    src = read("web/js/bench_frame.js")
    record = src[src.index("return {", src.index("const medianMs")):]
    keys = re.findall(r"^\s{4}(\w+)(?::|,)", record, flags=re.M)
    assert tuple(keys[: len(bench.FIELDS)]) == tuple(bench.FIELDS)
    listed = re.search(r"const FIELDS = \[([^\]]+)\]", read("tests/run.mjs")).group(1)
    assert tuple(re.findall(r'"(\w+)"', listed)) == tuple(bench.FIELDS)
    readme = read("README.md")
    for field in bench.FIELDS:
        assert f"`{field}`" in readme, f"README does not document {field}"


def test_exported_models_exist_as_weights():
    src = read("scripts/prepare_models.py")
    names = re.findall(r'\("(\w+)", "(?:denoise|map_denoiser)"\)', src)
    assert names, "no models listed in prepare_models.py"
    for name in names:
        weights = REPO / "src" / "edgerestore" / "models" / "weights" / f"{name}.safetensors"
        assert weights.is_file(), name


def test_package_lock_matches_package_json():
    pkg = json.loads(read("package.json"))
    lock = json.loads(read("package-lock.json"))
    root = lock["packages"][""]
    assert root.get("dependencies", {}) == pkg.get("dependencies", {})
    assert root.get("devDependencies", {}) == pkg.get("devDependencies", {})
    for name, version in {**pkg["dependencies"], **pkg["devDependencies"]}.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


XMLTREE = """N: android=http://schemas.android.com/apk/res/android
  E: manifest (line=7)
    A: package="org.example" (Raw: "org.example")
    E: application (line=14)
      E: activity (line=19)
        A: android:name(0x01010003)=".Main" (Raw: ".Main")
        A: android:exported(0x01010010)=(type 0x12)0xffffffff
        E: intent-filter (line=24)
          E: action (line=25)
            A: android:name(0x01010003)="android.intent.action.MAIN" (Raw: "x")
      E: service (line=30)
        A: android:name(0x01010003)=".Sync" (Raw: ".Sync")
        E: intent-filter (line=31)
      E: receiver (line=40)
        A: android:name(0x01010003)=".Boot" (Raw: ".Boot")
        A: android:exported(0x01010010)=(type 0x12)0x0
      E: activity (line=50)
        A: android:name(0x01010003)=".Other" (Raw: ".Other")
"""


def test_check_apk_parses_manifest_components():
    comps = {c.name: c for c in check_apk().parse_components(XMLTREE)}
    assert set(comps) == {".Main", ".Sync", ".Boot", ".Other"}
    assert comps[".Main"].exported is True and comps[".Main"].has_intent_filter
    assert comps[".Sync"].exported is None and comps[".Sync"].has_intent_filter
    assert comps[".Boot"].exported is False and not comps[".Boot"].has_intent_filter
    assert comps[".Other"].exported is None and not comps[".Other"].has_intent_filter


def test_check_apk_parses_badging_and_signature_schemes():
    m = check_apk()
    b = m.parse_badging("package: name='org.example' versionCode='1'\nsdkVersion:'23'\n"
                        "targetSdkVersion:'34'\nlaunchable-activity: name='org.example.Main'  "
                        "label=''\n")
    assert (b.package, b.min_sdk, b.target_sdk, b.launchable) == (
        "org.example", 23, 34, ["org.example.Main"])
    schemes = m.parse_schemes("Verifies\nVerified using v1 scheme (JAR signing): true\n"
                              "Verified using v2 scheme (APK Signature Scheme v2): true\n"
                              "Verified using v3 scheme (APK Signature Scheme v3): false\n")
    assert schemes == {1: True, 2: True, 3: False}


def test_check_apk_finds_compressed_or_misaligned_resources(tmp_path):
    m = check_apk()
    good = tmp_path / "good.apk"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr(zipfile.ZipInfo("resources.arsc"), b"x" * 100)  # 30 + 14 bytes: aligned
    assert m.zip_problems(good) == []
    bad = tmp_path / "bad.apk"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("a", b"y")
        z.writestr("resources.arsc", b"x" * 100, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("lib/arm64-v8a/libx.so", b"z" * 10)
    problems = m.zip_problems(bad)
    assert problems[0] == "resources.arsc is compressed"
    assert problems[1].startswith("lib/arm64-v8a/libx.so is not 16384-byte aligned")
    empty = tmp_path / "empty.apk"
    zipfile.ZipFile(empty, "w").close()
    assert m.zip_problems(empty) == ["resources.arsc missing"]
