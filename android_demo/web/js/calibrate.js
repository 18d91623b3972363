// Which engine (model file x runtime x backend x threads) restores fastest on *this*
// device: the restore page measures its candidates once, at first use, in the
// benchmark's fresh frames (each its own ORT / LiteRT instance, since both fix the WASM
// thread count when they start), and remembers the winner in localStorage. Phones
// differ too much (WebView without threads, GPUs with small limits, slow or missing
// relaxed SIMD) for any fixed choice to be right everywhere.
import { loadManifest } from "./models.js";

export const STORAGE_KEY = "edgerestore.calibration.v1";
/** Calibration runs per candidate: one untimed, then the median of these. */
export const CALIBRATION = { size: 256, warmup: 1, runs: 2 };
/** A candidate whose first (cold) run takes this many times the best median is dropped. */
export const CUTOFF_FACTOR = 3;

/** Run one benchmark configuration in a fresh hidden frame; resolves to its record. */
export function runFrame(params) {
  return new Promise((resolve, reject) => {
    const frame = document.createElement("iframe");
    frame.hidden = true;
    frame.src = `bench_frame.html?${new URLSearchParams(params)}`;
    const onMessage = (ev) => {
      if (ev.source !== frame.contentWindow) return;
      window.removeEventListener("message", onMessage);
      frame.remove();
      if (ev.data.type === "bench-result") resolve(ev.data.record);
      else reject(new Error(ev.data.error));
    };
    window.addEventListener("message", onMessage);
    document.body.appendChild(frame);
  });
}

export async function litertVersion() {
  const res = await fetch(new URL("../litert/VERSION", import.meta.url));
  return res.ok ? (await res.text()).trim() : null;
}

export function maxWasmThreads() {
  return crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;
}

/** A real GPU adapter (not a CPU fallback such as SwiftShader), or null. */
export async function realGpuAdapter() {
  if (!navigator.gpu) return null;
  try {
    const a = await navigator.gpu.requestAdapter();
    if (!a || a.isFallbackAdapter || a.info?.isFallbackAdapter) return null;
    return a;
  } catch {
    return null;
  }
}

/**
 * Engine key of the page URL and the stored choice, the same for every role (each role
 * has its own file of a format and precision): "format-precision@ep@threads".
 */
export function engineKey(c) {
  return `${c.format}-${c.precision}@${c.ep}@${c.ep === "wasm" ? c.threads : 0}`;
}

export function parseEngineKey(key) {
  const m = /^(onnx|tflite)-(fp32|int8)@(wasm|webgpu)@(\d+)$/.exec(key ?? "");
  if (!m) return null;
  return { format: m[1], precision: m[2], ep: m[3], threads: Math.max(1, Number(m[4])) };
}

/** Human-readable engine name. */
export function engineLabel(c) {
  const rt = c.format === "tflite" ? "LiteRT.js" : "onnxruntime-web";
  const be = c.ep === "webgpu" ? "WebGPU" : `WASM ${c.threads} thread${c.threads > 1 ? "s" : ""}`;
  return `${rt} ${c.precision} on ${be}`;
}

/**
 * Every engine the page can offer for a model (its manifest id) or a role (all of its
 * models' files, one candidate per engine key): each file on WASM with 1 and (when the
 * page may use threads) N threads, and the fp32 files on WebGPU when the browser has a
 * real GPU adapter (int8 kernels are a CPU speed-up).
 */
export async function engines(role, { gpu = null } = {}) {
  const files = (await loadManifest()).filter((m) => m.id === role || m.role === role);
  const n = maxWasmThreads();
  const out = [];
  const seen = new Set();
  const add = (c) => {
    if (!seen.has(engineKey(c))) { seen.add(engineKey(c)); out.push(c); }
  };
  for (const m of files) {
    const base = { file: m.file, format: m.format, precision: m.precision };
    add({ ...base, ep: "wasm", threads: 1 });
    if (n > 1) add({ ...base, ep: "wasm", threads: n });
    if (gpu && m.precision === "fp32") add({ ...base, ep: "webgpu", threads: 1 });
  }
  return out;
}

export function remembered(role) {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}")[role] ?? null;
  } catch {
    return null;
  }
}

export function forget() {
  localStorage.removeItem(STORAGE_KEY);
}

/**
 * Time every candidate engine for `role` (a model id, or a role with one model) at
 * 256x256 and remember the fastest under that key.
 * Returns {best, results, errors}; onProgress(i, n, candidate) before each one.
 */
export async function calibrate(role, onProgress = () => {}) {
  // Likely fastest first (int8, LiteRT, more threads), so that the cutoff prunes early.
  const rank = (c) => (c.precision === "int8" ? 0 : 2) + (c.format === "tflite" ? 0 : 1) - c.threads / 100;
  const candidates = (await engines(role, { gpu: await realGpuAdapter() })).sort((a, b) => rank(a) - rank(b));
  const results = [];
  const errors = [];
  let i = 0;
  for (const c of candidates) {
    onProgress(++i, candidates.length, c);
    try {
      const best = Math.min(...results.map((x) => x.median_ms));
      const cutoff = Number.isFinite(best) ? { cutoff_ms: CUTOFF_FACTOR * best } : {};
      const r = await runFrame({ file: c.file, ep: c.ep, threads: c.threads, ...CALIBRATION, ...cutoff });
      const used = { ...c, threads: r.threads ?? c.threads }; // LiteRT may fall back to 1
      results.push({ ...used, key: engineKey(used), median_ms: r.median_ms, cut: r.cut_after_first_run });
    } catch (e) {
      errors.push({ ...c, error: String(e.message ?? e) });
    }
  }
  if (!results.length) throw new Error(`calibration: no engine ran (${errors.map((e) => e.error).join("; ")})`);
  results.sort((a, b) => a.median_ms - b.median_ms);
  const best = { ...results[0], measured_at: new Date().toISOString(), user_agent: navigator.userAgent };
  let stored = {};
  try {
    stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}");
  } catch {
    stored = {};
  }
  stored[role] = { ...best, results };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  return { best, results, errors };
}
