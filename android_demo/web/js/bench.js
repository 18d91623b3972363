// The benchmark page: times each selected model file (model x format x precision) on
// each selected backend (WASM 1 thread, WASM N threads, WebGPU), one fresh iframe per
// configuration, and shows and exports the records as JSON (field names documented in
// android_demo/README.md).
import { loadManifest, ort } from "./models.js";
import { litertVersion, runFrame } from "./calibrate.js";

const $ = (id) => document.getElementById(id);
const maxThreads = crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;
let report = null;

function fmt(v) {
  return v === null || v === undefined ? "" : typeof v === "number" ? v.toFixed(1) : String(v);
}

function addRow(r) {
  const tr = document.createElement("tr");
  const cells = [r.model, `${r.format} ${r.precision}`, r.backend, r.threads ?? "-", r.input, fmt(r.median_ms),
                 fmt(r.p10_ms), fmt(r.p90_ms), fmt(r.first_run_ms), fmt(r.session_ms), r.runs,
                 (r.file_size_bytes / 1024).toFixed(0)];
  cells.forEach((c, i) => {
    const td = document.createElement("td");
    td.textContent = String(c);
    if (i < 3) td.className = "l";
    tr.appendChild(td);
  });
  $("table").tBodies[0].appendChild(tr);
}

async function runAll() {
  $("start").disabled = true;
  $("save").disabled = true;
  $("table").tBodies[0].replaceChildren();
  document.body.dataset.state = "running";
  const models = [...document.querySelectorAll("input[name=model]:checked")].map((e) => e.value);
  const backends = [...document.querySelectorAll("input[name=backend]:checked")].map((e) => e.value);
  const size = Number($("size").value);
  const runs = Number($("runs").value);
  const warmup = Number($("warmup").value);
  report = {
    schema: 1,
    tool: "edgerestore android_demo bench.html",
    created: new Date().toISOString(),
    user_agent: navigator.userAgent,
    hardware_concurrency: navigator.hardwareConcurrency,
    cross_origin_isolated: crossOriginIsolated,
    onnxruntime_web: ort.env.versions?.web ?? null,
    litertjs: await litertVersion(),
    results: [],
    errors: [],
  };
  const configs = [];
  for (const b of backends) {
    for (const file of models) {
      if (b === "wasm1") configs.push({ file, ep: "wasm", threads: 1 });
      if (b === "wasmN") configs.push({ file, ep: "wasm", threads: maxThreads });
      if (b === "webgpu") configs.push({ file, ep: "webgpu", threads: 1 });
    }
  }
  let i = 0;
  for (const c of configs) {
    i++;
    const label = `${c.file} on ${c.ep}${c.ep === "wasm" ? ` x${c.threads}` : ""}`;
    $("status").textContent = `${i}/${configs.length}: ${label}...`;
    try {
      const r = await runFrame({ ...c, size, runs, warmup });
      report.results.push(r);
      addRow(r);
    } catch (e) {
      report.errors.push({ ...c, error: String(e.message ?? e) });
    }
  }
  const { results, errors, ...meta } = report;
  $("json").textContent = JSON.stringify({ ...meta, results: results.map(({ times_ms, ...r }) => r), errors }, null, 2);
  $("status").textContent = `done: ${report.results.length} configurations` +
    (report.errors.length ? `, ${report.errors.length} failed: ${report.errors.map((e) => e.error).join("; ")}` : "");
  window.benchReport = report;
  $("start").disabled = false;
  $("save").disabled = false;
  document.body.dataset.state = "done";
}

function save() {
  const blob = new Blob([JSON.stringify(report, null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `edgerestore-bench-${Date.now()}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function main() {
  const params = new URLSearchParams(location.search);
  $("nthreads").textContent = String(maxThreads);
  $("env").textContent = `${navigator.userAgent} | ${navigator.hardwareConcurrency} logical cores | `
    + `cross-origin isolated: ${crossOriginIsolated} | WebGPU: ${navigator.gpu ? "available" : "not available"}`;
  if (!navigator.gpu) $("webgpu").disabled = true;
  const manifest = await loadManifest();
  for (const m of manifest) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" name="model" checked> `;
    label.firstChild.value = m.file;
    label.append(`${m.file} (${(m.bytes / 1024).toFixed(0)} KiB)`);
    $("models").appendChild(label);
  }
  // URL overrides, e.g. bench.html?size=128&runs=5&warmup=1&backends=wasm1,wasmN,webgpu&autorun=1
  // (models=FILE,FILE selects files; a model name selects all of its files).
  for (const k of ["size", "runs", "warmup"]) if (params.has(k)) $(k).value = params.get(k);
  if (params.has("backends")) {
    const want = params.get("backends").split(",");
    for (const e of document.querySelectorAll("input[name=backend]")) e.checked = want.includes(e.value);
  }
  if (params.has("models")) {
    const want = params.get("models").split(",");
    const byFile = new Map(manifest.map((m) => [m.file, m.id]));
    for (const e of document.querySelectorAll("input[name=model]")) {
      e.checked = want.includes(e.value) || want.includes(byFile.get(e.value));
    }
  }
  $("start").addEventListener("click", runAll);
  $("save").addEventListener("click", save);
  document.body.dataset.state = "loaded";
  if (params.get("autorun") === "1") runAll();
}

main().catch((e) => {
  $("status").textContent = `error: ${e.message}`;
  document.body.dataset.state = "error";
});
