// Model loading for the pages: onnxruntime-web for the .onnx files (configured for this
// origin's WASM files only) and LiteRT.js (litert.js) for the .tflite files, behind one
// interface, run(image, sigma) -> image; tiled inference with the runtime's rule.
import * as ort from "../ort/ort.min.mjs";
import { loadTflite } from "./litert.js";
import { imageSink, imageSource, runTiledStream } from "./tiling.js";
import { blendingSink, measureBlend } from "./input_blend.js";

export { ort };

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

let manifestCache = null;

/** models/models.json: {models: [one entry per file], export_targets}. */
async function loadManifestFull() {
  if (!manifestCache) {
    const res = await fetch(new URL("../models/models.json", import.meta.url));
    if (!res.ok) throw new Error(`models/models.json: HTTP ${res.status}`);
    manifestCache = await res.json();
  }
  return manifestCache;
}

export async function loadManifest() {
  return (await loadManifestFull()).models;
}

let tilingCache = null;

/** models/tiling.json: the Python runtime's tiling constants (scripts/tiling_rule.py). */
export async function loadTilingRule() {
  if (!tilingCache) {
    const res = await fetch(new URL("../models/tiling.json", import.meta.url));
    if (!res.ok) throw new Error(`models/tiling.json: HTTP ${res.status}`);
    tilingCache = await res.json();
  }
  return tilingCache;
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

/**
 * A loaded model of any format: {entry, ep, threads, runtime ("ort" | "litert"),
 * sessionMs, fixedTile ([h, w] or null), run(image, sigma) -> image}.
 */
export async function loadModel(entry, ep, threads) {
  if (entry.format === "tflite") return loadTflite(modelUrl(entry), entry, ep, threads);
  return loadOrtModel(entry, ep, threads);
}

/** An .onnx file on onnxruntime-web (WASM or WebGPU execution provider). */
async function loadOrtModel(entry, ep, threads) {
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
  return { entry, session, ep, sessionMs, run, runtime: "ort", fixedTile: null,
           threads: ep === "wasm" ? ort.env.wasm.numThreads : null,
           dispose: () => session.release() };
}

/**
 * Tiling options of the Python runtime for a model, all from its card: halo rf // 2,
 * tile origins multiples of tile_align, blend, tile size.
 */
export async function tilingOptions(model, tile = null) {
  const rule = await loadTilingRule();
  const halo = Math.floor(model.entry.receptive_field / 2);
  const fixed = model.fixedTile != null;
  const size = fixed ? model.fixedTile : [tile ?? rule.max_tile, tile ?? rule.max_tile];
  return { tile: size, halo, blend: rule.default_blend, fixed, align: model.entry.tile_align ?? 1 };
}

/** Name suffix of a distilled student: the phone-speed version of a model. */
export const FAST_SUFFIX = "_fast";

/**
 * The denoiser model (manifest id) to use by default. A photo restored as it is
 * (camera noise) gets the real-noise model, an image the page added Gaussian noise to
 * gets the Gaussian model; of a kind, the `_fast` student when the manifest lists it
 * (the phone-speed version), else the teacher. Falls back to any denoiser.
 */
export function defaultDenoiser(manifest, { syntheticNoise }) {
  const denoisers = manifest.filter((m) => m.role === "denoise");
  const kind = syntheticNoise ? "gaussian" : "real";
  const ofKind = denoisers.filter((m) => (m.noise_kind ?? (m.inputs.length > 1 ? "gaussian" : "real")) === kind);
  const pool = ofKind.length ? ofKind : denoisers;
  const fast = pool.find((m) => m.fast ?? m.id.endsWith(FAST_SUFFIX));
  return (fast ?? pool[0])?.id ?? null;
}

/** Whether a manifest entry takes a noise level input (denoise_posterior) or not. */
export function takesLevel(entry) {
  return entry.inputs.length > 1;
}

/** Run a model over a float image tile by tile; returns the output image (with `.blend`). */
export async function runModelTiled(model, img, sigma, tile = null, onTile = null) {
  const sink = imageSink();
  const plan = await runModelStream(model, imageSource(img), sink, sigma, { tile, onTile });
  return Object.assign(sink.image, { blend: plan.blend });
}

/**
 * Run a model over a tile source into a sink (full-resolution photos, see tiling.js).
 * A card with an input_blend table (the real-noise model) gets it applied once to the
 * whole image, as ExportedDenoiser does: the level is measured on the whole source
 * first and the rows are blended as they leave the tiler. Returns the tiling plan and
 * `blend` ({level, weight} or null).
 */
export async function runModelStream(model, src, sink, sigma, { tile = null, onTile = null, signal = null } = {}) {
  const opts = { ...(await tilingOptions(model, tile)), onTile, signal };
  const table = model.entry.input_blend;
  const blend = table ? measureBlend(src, table) : null;
  const out = blend ? blendingSink(sink, src, blend.weight) : sink;
  const plan = await runTiledStream(src, (part) => model.run(part, sigma), out, opts);
  return { ...plan, blend };
}
