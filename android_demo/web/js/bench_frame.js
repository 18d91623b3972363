// Time one (model file, backend, threads, size) configuration and post the record to
// the parent page. Runs inside a fresh iframe so each configuration gets its own ORT /
// LiteRT instance (both fix the WASM thread count when their module starts). The
// restore page's first-use calibration uses the same frames with fewer runs.
import * as R from "./restore.js";
import { loadManifest, loadModel } from "./models.js";

async function measure() {
  const p = new URLSearchParams(location.search);
  const file = p.get("file");
  const ep = p.get("ep") === "webgpu" ? "webgpu" : "wasm";
  const threads = Math.max(1, Number(p.get("threads") ?? 1));
  const warmup = Number(p.get("warmup") ?? 2);
  const runs = Math.max(1, Number(p.get("runs") ?? 10));
  const entry = (await loadManifest()).find((m) => m.file === file);
  if (!entry) throw new Error(`${file} not in models.json`);
  // .tflite files have one input shape: their tile.
  const fixed = entry.tile ? entry.tile[0] : null;
  const size = fixed ?? Number(p.get("size") ?? 256);

  // A fixed pseudo-random input (the models' latency does not depend on content).
  const img = R.makeImage(entry.channels, size, size, new Float32Array(entry.channels * size * size));
  const u = R.rng(7);
  for (let i = 0; i < img.data.length; i++) img.data[i] = u();
  const sigma = entry.training_sigma / 255;

  const model = await loadModel(entry, ep, threads); // session_ms: fetch + parse + compile
  const t0 = performance.now();
  await model.run(img, sigma);
  const firstRunMs = performance.now() - t0;
  // Calibration passes cutoff_ms (a multiple of the best median so far): a candidate
  // whose first run is already slower than that is not timed further.
  const cutoff = Number(p.get("cutoff_ms") ?? Infinity);
  const cut = firstRunMs > cutoff;
  for (let i = 0; i < (cut ? 0 : warmup); i++) await model.run(img, sigma);
  const times = cut ? [firstRunMs] : [];
  for (let i = 0; i < (cut ? 0 : runs); i++) {
    const t = performance.now();
    await model.run(img, sigma);
    times.push(performance.now() - t);
  }
  model.dispose();
  // The fields and order of `edgerestore bench` (edgerestore.runtime.bench.FIELDS), then
  // browser-only extras. Process RSS is not visible to a page: peak_rss_mb is null.
  const medianMs = R.percentile(times, 50);
  const macs = entry.macs_per_pixel ?? null;
  return {
    model: entry.id,
    file: entry.file,
    format: entry.format ?? "onnx",
    precision: entry.precision,
    backend: ep,
    threads: model.threads,
    input: `${size}x${size}`,
    runs: times.length,
    warmup: cut ? 0 : warmup,
    median_ms: medianMs,
    p10_ms: R.percentile(times, 10),
    p90_ms: R.percentile(times, 90),
    first_run_ms: firstRunMs,
    session_ms: model.sessionMs,
    peak_rss_mb: null,
    file_size_bytes: entry.bytes,
    macs_per_pixel: macs,
    gmacs_per_s: macs ? (macs * size * size) / (medianMs * 1e6) : null,
    input_shape: [1, entry.channels, size, size],
    mean_ms: times.reduce((a, b) => a + b, 0) / times.length,
    min_ms: Math.min(...times),
    max_ms: Math.max(...times),
    times_ms: times,
    runtime: model.runtime,
    cut_after_first_run: cut,
  };
}

measure().then(
  (record) => parent.postMessage({ type: "bench-result", record }, location.origin),
  (e) => parent.postMessage({ type: "bench-error", error: String(e?.message ?? e) }, location.origin),
);
