// LiteRT.js wrapper: runs the exported .tflite files (fixed 256x256 tiles, float I/O,
// int8 or fp32 inside) on XNNPACK in WebAssembly or on WebGPU, from this origin's
// litert/ folder. Same model interface as models.js's ORT path: run(image, sigma).
import * as litert from "../litert/core.js";

export { litert };

let loaded = null;

/**
 * Load the LiteRT WASM module once per page. `threads` > 1 needs the threaded build
 * (relaxed SIMD + SharedArrayBuffer, so a cross-origin isolated page); LiteRT picks the
 * relaxed-SIMD or the compatibility build itself.
 */
export function loadLiteRtOnce(threads) {
  if (!loaded) {
    const dir = new URL("../litert/", import.meta.url).href;
    const wantThreads = threads > 1 && crossOriginIsolated;
    loaded = litert.loadLiteRt(dir, { threads: wantThreads })
      .then(() => ({ threaded: wantThreads }))
      .catch(async (e) => {
        if (!wantThreads) throw e;
        // No relaxed SIMD or no threads in this browser: the single-thread build.
        litert.unloadLiteRt();
        await litert.loadLiteRt(dir, {});
        return { threaded: false, fallback: String(e.message ?? e) };
      });
  }
  return loaded;
}

/** A loaded .tflite model: {entry, ep, threads, sessionMs, fixedTile, run(image, sigma)}. */
export async function loadTflite(url, entry, ep, threads) {
  const info = await loadLiteRtOnce(threads);
  const t0 = performance.now();
  const usedThreads = ep === "wasm" ? (info.threaded ? threads : 1) : null;
  const options = ep === "webgpu"
    ? { accelerator: "webgpu" }
    : { accelerator: "wasm", cpuOptions: { numThreads: usedThreads } };
  const model = await litert.loadAndCompile(url, options);
  const sessionMs = performance.now() - t0;
  const [imageInput, levelInput] = entry.inputs;
  const names = model.getInputDetails().map((d) => d.name);
  for (const n of names) {
    if (n !== imageInput && n !== levelInput) throw new Error(`${entry.file}: unexpected input ${n}`);
  }
  async function run(img, sigma) {
    const inputs = names.map((n) => (n === imageInput
      ? new litert.Tensor(Float32Array.from(img.data), [1, img.c, img.h, img.w])
      : new litert.Tensor(Float32Array.of(sigma), [1])));
    let outputs = null;
    try {
      outputs = await model.run(inputs);
      let out = outputs[0];
      let moved = null;
      if (ep === "webgpu") {
        moved = await out.moveTo("wasm");
        out = moved;
      }
      const data = Float32Array.from(out.toTypedArray());
      moved?.delete();
      return { c: entry.channels, h: img.h, w: img.w, data };
    } finally {
      for (const t of inputs) if (!t.deleted) t.delete();
      if (outputs) for (const t of outputs) if (!t.deleted) t.delete();
    }
  }
  return { entry, ep, threads: usedThreads, sessionMs, runtime: "litert", run,
           fixedTile: entry.tile, dispose: () => model.delete() };
}
