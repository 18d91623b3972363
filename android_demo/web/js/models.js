// onnxruntime-web wrapper: configure the runtime (local WASM files only), load the
// exported models listed in models/models.json, and run them on images (restore.js).
import * as ort from "../ort/ort.min.mjs";
import { runTiled } from "./restore.js";

export { ort };

/**
 * Backend settings from the page URL: ?ep=wasm|webgpu&threads=N. WASM threads need a
 * cross-origin isolated page; ORT fixes the thread count when the WASM module starts,
 * so changing it means reloading the page.
 */
export function backendFromUrl(search = location.search) {
  const p = new URLSearchParams(search);
  const ep = p.get("ep") === "webgpu" ? "webgpu" : "wasm";
  const maxThreads = crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;
  let threads = parseInt(p.get("threads") ?? "", 10);
  if (!(threads >= 1)) threads = maxThreads;
  return { ep, threads: Math.min(threads, maxThreads), maxThreads };
}

let configured = null;

/** Point ORT at this origin's ort/ folder and fix the WASM thread count (once). */
export function configureOrt(threads) {
  if (configured === null) {
    ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    configured = threads;
  }
  return configured;
}

export async function loadManifest() {
  const res = await fetch(new URL("../models/models.json", import.meta.url));
  if (!res.ok) throw new Error(`models/models.json: HTTP ${res.status}`);
  return (await res.json()).models;
}

export function modelUrl(entry) {
  return new URL(`../models/${entry.file}`, import.meta.url).href;
}

let gpuAdapter = null;

/**
 * Give ORT a WebGPU adapter whose devices are requested with the adapter's full
 * storage-buffer limit. ORT asks for a few compute limits only, so devices get the
 * WebGPU default of 8 storage buffers per shader stage, and the blind-spot model's
 * 9-input Concat needs 10. Adapters whose limit is 8 (many phones) cannot run it.
 */
async function setupWebGpu() {
  if (gpuAdapter) return gpuAdapter;
  if (!navigator.gpu) throw new Error("WebGPU is not available in this browser");
  const real = await navigator.gpu.requestAdapter();
  if (!real) throw new Error("WebGPU: no adapter");
  gpuAdapter = {
    limits: real.limits,
    features: real.features,
    info: real.info,
    isFallbackAdapter: real.isFallbackAdapter,
    requestDevice: (desc = {}) => real.requestDevice({
      ...desc,
      requiredLimits: {
        ...(desc.requiredLimits ?? {}),
        maxStorageBuffersPerShaderStage: real.limits.maxStorageBuffersPerShaderStage,
      },
    }),
  };
  ort.env.webgpu.adapter = gpuAdapter;
  return gpuAdapter;
}

/** A loaded model: {entry, session, ep, sessionMs, run(image, sigma) -> image}. */
export async function loadModel(entry, ep, threads) {
  configureOrt(threads);
  if (ep === "webgpu") await setupWebGpu();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(modelUrl(entry), {
    executionProviders: [ep],
    graphOptimizationLevel: "all",
  });
  const sessionMs = performance.now() - t0;
  const [imageInput, levelInput] = entry.inputs;
  async function run(img, sigma) {
    const feeds = {
      [imageInput]: new ort.Tensor("float32", Float32Array.from(img.data), [1, img.c, img.h, img.w]),
    };
    if (levelInput) feeds[levelInput] = new ort.Tensor("float32", Float32Array.of(sigma), [1]);
    const out = await session.run(feeds);
    const t = out[entry.output];
    const data = t.location && t.location !== "cpu" ? await t.getData(true) : t.data;
    return { c: img.c, h: img.h, w: img.w, data: Float32Array.from(data) };
  }
  return { entry, session, ep, sessionMs, run };
}

/** Tile margin that hides tile borders: the receptive-field radius, rounded up to 8. */
export function tileMargin(entry) {
  return Math.ceil(Math.ceil((entry.receptive_field - 1) / 2) / 8) * 8;
}

/** Run a model over an image in tiles (see restore.runTiled). */
export function runModelTiled(model, img, sigma, tile = 256, onTile = null) {
  return runTiled(img, tile, tileMargin(model.entry), (part) => model.run(part, sigma), onTile);
}
