// The restore page: pick/capture a photo (any size, EXIF orientation applied), optionally
// degrade it, restore it with the engine measured fastest on this device (or the one
// chosen), tile by tile at full resolution with a progress bar, time left and cancel,
// compare before/after with a slider, and save the full-resolution result. The denoiser
// is chosen per input: the real-noise (camera) model for a photo restored as it is, the
// Gaussian model when the page adds synthetic noise (models.js defaultDenoiser), each
// as its `_fast` student when the manifest has one; "denoiser" overrides it.
import * as R from "./restore.js";
import { defaultDenoiser, loadManifest, loadModel, runModelStream, runModelTiled, takesLevel } from "./models.js";
import { imageSource, rgbaSource } from "./tiling.js";
import { calibrate, engineKey, engineLabel, engines, forget, parseEngineKey, realGpuAdapter,
         remembered } from "./calibrate.js";

const $ = (id) => document.getElementById(id);
/** ADMM deblurring does whole-image FFTs each iteration: it runs at most at this size. */
const DEBLUR_MAX_SIDE = 1024;
const ROLE = { denoise: "denoise", deblur: "map_denoiser" };
const KIND_LABEL = { real: "real camera noise", gaussian: "Gaussian noise" };
const state = { manifest: null, models: {}, photo: null, noisy: null, work: null, kernel: null,
                sigmaN: null, busy: false, abort: null, last: null, engine: {}, degradeTouched: false };
window.demo = state;

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "err" : "";
}

function drawRGBA(canvas, rgba, h, w) {
  canvas.width = w;
  canvas.height = h;
  canvas.getContext("2d").putImageData(new ImageData(rgba, w, h), 0, 0);
}

function draw(canvas, img) {
  drawRGBA(canvas, R.toRGBA(img), img.h, img.w);
}

function updateSplit() {
  const v = Number($("split").value);
  $("after").style.clipPath = `inset(0 0 0 ${v}%)`;
  $("bar").style.left = `${v}%`;
}

function progress(done, total, t0) {
  $("progress").value = total ? done / total : 0;
  if (!done) {
    $("eta").textContent = "";
    return;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const left = (elapsed / done) * (total - done);
  $("eta").textContent = `${done}/${total} tiles, ${elapsed.toFixed(0)} s elapsed, ${left.toFixed(0)} s left`;
}

/** The denoiser (manifest id) for the current input: chosen, else the default rule. */
function denoiserId() {
  const chosen = $("model").value;
  if (chosen !== "auto") return chosen;
  return defaultDenoiser(state.manifest, { syntheticNoise: $("degrade").value === "noise" });
}

function describeModel(id) {
  const e = state.manifest.find((m) => m.id === id);
  if (!e) return id;
  return `${id} (${KIND_LABEL[e.noise_kind] ?? e.task}${e.fast ? ", fast student" : ""})`;
}

function showDenoiser() {
  if (!state.manifest) return;
  const id = denoiserId();
  $("modelnote").textContent = `denoiser: ${describeModel(id)}${$("model").value === "auto" ? ", by default for this input" : ", chosen"}`;
}

/** The engine for a model id or role: chosen in the page, else remembered, else measured now. */
async function engineFor(role) {
  const chosen = $("engine").value;
  if (chosen !== "auto") return { ...parseEngineKey(chosen), how: "chosen" };
  const stored = remembered(role);
  if (stored) return { ...stored, how: `remembered: ${stored.median_ms.toFixed(0)} ms per 256x256 tile` };
  const t0 = performance.now();
  const res = await calibrate(role, (i, n, c) => status(`first use: measuring engine ${i}/${n} (${engineLabel(c)})...`));
  return { ...res.best, how: `measured ${res.results.length} engines in ${((performance.now() - t0) / 1000).toFixed(0)} s, `
    + `${res.best.median_ms.toFixed(0)} ms per 256x256 tile` };
}

async function model(role) {
  const eng = await engineFor(role);
  const key = engineKey(eng);
  if (state.models[role]?.key !== key) {
    const entry = state.manifest.find((m) => (m.id === role || m.role === role)
      && m.format === eng.format && m.precision === eng.precision);
    if (!entry) throw new Error(`no ${eng.format} ${eng.precision} file for ${role} in models.json`);
    status(`loading ${entry.file} (${(entry.bytes / 1024).toFixed(0)} KiB), ${engineLabel(eng)}...`);
    state.models[role]?.model.dispose?.();
    state.models[role] = { key, model: await loadModel(entry, eng.ep, eng.threads) };
  }
  state.engine[role] = eng;
  return state.models[role].model;
}

/** Decode a photo (EXIF orientation applied) to RGBA, longest side as chosen (0: full). */
async function loadPhoto(blob, fromFile = false) {
  const bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  const maxSide = Number($("maxside").value);
  const scale = maxSide ? Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height)) : 1;
  const w = Math.max(8, Math.round(bitmap.width * scale));
  const h = Math.max(8, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  state.photo = { h, w, rgba: ctx.getImageData(0, 0, w, h).data };
  // A photo the user picks or takes is restored as it is (camera noise, the real-noise
  // model) unless the user chose a degradation; the sample keeps the synthetic noise.
  if (fromFile && !state.degradeTouched) $("degrade").value = "none";
  degrade();
}

/** The photo's pixels as a planar float image, at most `maxSide` on the longest side. */
function photoImage(maxSide = Infinity) {
  const { h, w, rgba } = state.photo;
  const scale = Math.min(1, maxSide / Math.max(h, w));
  if (scale === 1) return R.fromRGBA(rgba, h, w);
  const sw = Math.round(w * scale), sh = Math.round(h * scale);
  const src = new OffscreenCanvas(w, h);
  src.getContext("2d").putImageData(new ImageData(rgba, w, h), 0, 0);
  const dst = new OffscreenCanvas(sw, sh);
  const ctx = dst.getContext("2d");
  ctx.drawImage(src, 0, 0, sw, sh);
  return R.fromRGBA(ctx.getImageData(0, 0, sw, sh).data, sh, sw);
}

/**
 * Noisy copy of the photo straight from its bytes: the same values (and noise sequence)
 * as R.addNoise(fromRGBA(photo)), without a clean float copy of a full-size photo.
 */
function noisyFromPhoto(sigma, seed) {
  const { h, w, rgba } = state.photo;
  const n = h * w;
  const g = R.gaussian(R.rng(seed));
  const data = new Float32Array(3 * n);
  for (let ch = 0; ch < 3; ch++) {
    for (let i = 0; i < n; i++) data[ch * n + i] = Math.fround(rgba[4 * i + ch] / 255) + sigma * g();
  }
  return R.makeImage(3, h, w, data);
}

/** PSNR of a planar float image against the photo's bytes (the clean reference). */
function psnrVsPhoto(img) {
  const { rgba } = state.photo;
  const n = img.h * img.w;
  let se = 0;
  for (let ch = 0; ch < 3; ch++) {
    for (let i = 0; i < n; i++) {
      const d = img.data[ch * n + i] - Math.fround(rgba[4 * i + ch] / 255);
      se += d * d;
    }
  }
  return 10 * Math.log10((3 * n) / se);
}

/** Build the model input from the photo according to the "Degrade" settings. */
function degrade() {
  if (!state.photo) return;
  const mode = $("degrade").value;
  const sigma = Number($("sigma").value) / 255;
  state.kernel = null;
  state.sigmaN = null;
  state.noisy = null;
  state.work = null;
  state.last = null;
  let text = "";
  if (mode === "noise") {
    state.noisy = noisyFromPhoto(sigma, 1);
    state.sigmaN = sigma;
    $("task").value = "denoise";
    draw($("before"), state.noisy);
    text = `input PSNR ${psnrVsPhoto(state.noisy).toFixed(2)} dB`;
  } else if (mode === "blur") {
    const clean = photoImage(DEBLUR_MAX_SIDE);
    state.kernel = R.gaussianKernel(Number($("blurstd").value));
    state.sigmaN = 2.55 / 255;
    state.work = { clean, input: R.addNoise(R.blurCircular(clean, state.kernel), state.sigmaN, 2) };
    $("task").value = "deblur";
    draw($("before"), state.work.input);
    text = `input PSNR ${R.psnr(state.work.input, clean).toFixed(2)} dB`;
  } else {
    drawRGBA($("before"), state.photo.rgba, state.photo.h, state.photo.w);
  }
  const b = $("before");
  $("after").width = b.width;
  $("after").height = b.height;
  $("after").getContext("2d").drawImage(b, 0, 0);
  $("save").hidden = true;
  $("metrics").textContent = `${b.width}x${b.height} ${text}`;
  $("run").disabled = false;
  showDenoiser();
  document.body.dataset.state = "ready";
  status("ready: press Run");
}

/** Denoise the whole photo tile by tile; rows go straight into the output RGBA. */
async function denoise(signal) {
  const id = denoiserId();
  state.key = id;
  const m = await model(id);
  const sigma = state.sigmaN ?? Number($("sigma").value) / 255;
  const level = takesLevel(m.entry);
  const { h, w } = state.photo;
  status(`denoising ${w}x${h} with ${describeModel(id)}${level ? ` (sigma ${(sigma * 255).toFixed(1)})` : ""}, `
    + `${engineLabel(state.engine[id])}...`);
  const src = state.noisy ? imageSource(state.noisy) : rgbaSource(state.photo.rgba, h, w);
  const rgba = new Uint8ClampedArray(4 * h * w);
  const clean = state.noisy ? state.photo.rgba : null;
  let se = 0;
  const sink = {
    write(y0, part) {
      const n = part.h * part.w;
      for (let ch = 0; ch < 3; ch++) {
        for (let i = 0; i < n; i++) {
          const v = part.data[ch * n + i];
          const p = 4 * (y0 * w + i);
          rgba[p + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          if (clean) {
            const d = v - Math.fround(clean[p + ch] / 255);
            se += d * d;
          }
        }
      }
      for (let i = 0; i < n; i++) rgba[4 * (y0 * w + i) + 3] = 255;
    },
  };
  const tStart = performance.now();
  const plan = await runModelStream(m, src, sink, sigma, {
    signal, onTile: (done, total) => progress(done, total, tStart),
  });
  drawRGBA($("after"), rgba, h, w);
  const rec = { tiles: plan.tiles, tile: `${plan.tileW}x${plan.tileH}`, sigma: level ? sigma * 255 : null,
                inference_ms: performance.now() - tStart, model: m.entry.file, model_id: id,
                noise_kind: m.entry.noise_kind ?? null, tile_align: m.entry.tile_align ?? 1,
                input_blend: plan.blend };
  if (clean) rec.psnr_out = 10 * Math.log10((3 * h * w) / se);
  if (state.noisy) rec.psnr_in = psnrVsPhoto(state.noisy);
  return rec;
}

/** Deblur (ADMM with the MAP denoiser) at most DEBLUR_MAX_SIDE on the longest side. */
async function deblur(signal) {
  state.key = ROLE.deblur;
  const m = await model(ROLE.deblur);
  const work = state.work ?? { clean: null, input: photoImage(DEBLUR_MAX_SIDE) };
  const kernel = state.kernel ?? R.gaussianKernel(Number($("blurstd").value));
  const iters = Number($("iters").value);
  const tStart = performance.now();
  const res = await R.admmDeblur(work.input, kernel, (img) => runModelTiled(m, img, null), {
    sigmaN: state.sigmaN ?? 2.55 / 255, iters, tol: 1e-4,
    onIteration: (it, x, info) => {
      if (signal.aborted) throw new DOMException("cancelled", "AbortError");
      progress(it, iters, tStart);
      status(`ADMM iteration ${it}: change ${info.change.toExponential(2)}, ${info.ms.toFixed(0)} ms`);
    },
  });
  draw($("after"), res.x);
  const rec = { iterations: res.iterations, converged: res.converged, kernel: `${kernel.kh}x${kernel.kw}`,
                model: m.entry.file };
  if (work.clean) {
    rec.psnr_in = R.psnr(work.input, work.clean);
    rec.psnr_out = R.psnr(res.x, work.clean);
  }
  return rec;
}

async function run() {
  if (state.busy || !state.photo) return;
  state.busy = true;
  state.abort = new AbortController();
  $("run").disabled = true;
  $("cancel").disabled = false;
  $("save").hidden = true;
  document.body.dataset.state = "running";
  const task = $("task").value;
  const t0 = performance.now();
  progress(0, 1, t0);
  try {
    const detail = task === "denoise" ? await denoise(state.abort.signal) : await deblur(state.abort.signal);
    const ms = performance.now() - t0;
    const eng = state.engine[state.key];
    const b = $("after");
    const rec = { task, ms, width: b.width, height: b.height, engine: engineKey(eng),
                  engine_label: engineLabel(eng), engine_how: eng.how, ...detail };
    let text = `${task} ${b.width}x${b.height} with ${rec.engine_label} (${eng.how}): ${(ms / 1000).toFixed(1)} s`;
    text += task === "denoise" ? `, ${rec.tiles} tiles of ${rec.tile}` : `, ADMM ${rec.iterations} iterations`;
    if (task === "denoise") text = `${rec.model_id}: ${text}`;
    if (rec.input_blend) text += `\nnoise level ${rec.input_blend.level.toFixed(2)}/255: output weight ${rec.input_blend.weight.toFixed(3)}`;
    if (rec.psnr_out !== undefined) text += `\nPSNR ${rec.psnr_in.toFixed(2)} dB -> ${rec.psnr_out.toFixed(2)} dB`;
    state.last = rec;
    $("metrics").textContent = text;
    $("save").hidden = false;
    status("done");
    document.body.dataset.state = "done";
  } catch (e) {
    const cancelled = e?.name === "AbortError";
    status(cancelled ? "cancelled" : `error: ${e.message ?? e}`, !cancelled);
    document.body.dataset.state = cancelled ? "cancelled" : "error";
    if (!cancelled) console.error(e);
  } finally {
    state.busy = false;
    state.abort = null;
    $("run").disabled = false;
    $("cancel").disabled = true;
  }
}

/** Save the after canvas (full resolution) as a PNG file. */
function save() {
  $("after").toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `restored-${$("after").width}x${$("after").height}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, "image/png");
}

async function setupEngines() {
  const p = new URLSearchParams(location.search);
  const list = await engines(ROLE.denoise, { gpu: await realGpuAdapter() });
  if (navigator.gpu && !list.some((c) => c.ep === "webgpu")) {
    // A CPU fallback adapter (or none): still selectable, but never picked automatically.
    for (const m of state.manifest.filter((e) => e.role === ROLE.denoise && e.precision === "fp32")) {
      const c = { file: m.file, format: m.format, precision: m.precision, ep: "webgpu", threads: 1 };
      if (!list.some((o) => engineKey(o) === engineKey(c))) list.push(c);
    }
  }
  for (const id of new Set(state.manifest.filter((m) => m.role === ROLE.denoise).map((m) => m.id))) {
    const o = document.createElement("option");
    o.value = id;
    o.textContent = describeModel(id);
    $("model").appendChild(o);
  }
  const wantModel = p.get("model");
  if (wantModel && [...$("model").options].some((o) => o.value === wantModel)) $("model").value = wantModel;
  $("model").addEventListener("change", showDenoiser);
  for (const c of list) {
    const o = document.createElement("option");
    o.value = engineKey(c);
    o.textContent = engineLabel(c);
    $("engine").appendChild(o);
  }
  const want = p.get("engine");
  if (want && [...$("engine").options].some((o) => o.value === want)) $("engine").value = want;
  $("engine").addEventListener("change", () => {
    // ORT and LiteRT fix their WASM thread count when they start: a new choice reloads.
    p.set("engine", $("engine").value);
    location.search = p.toString();
  });
  $("recalibrate").addEventListener("click", () => {
    forget();
    p.set("engine", "auto");
    location.search = p.toString();
  });
  const stored = remembered(denoiserId());
  $("backend").textContent = `cross-origin isolated: ${crossOriginIsolated} | WebGPU: `
    + `${navigator.gpu ? "available" : "not available"} | engine: `
    + ($("engine").value !== "auto" ? "chosen" : stored ? `auto, measured ${stored.key}` : "auto, measured at first Run");
}

async function main() {
  $("split").addEventListener("input", updateSplit);
  updateSplit();
  $("file").addEventListener("change", () => {
    const f = $("file").files[0];
    if (f) loadPhoto(f, true).catch((e) => status(`cannot read the photo: ${e.message}`, true));
  });
  $("sample").addEventListener("click", async () => {
    const res = await fetch("samples/astronaut.png");
    await loadPhoto(await res.blob());
  });
  for (const id of ["degrade", "sigma", "blurstd"]) $(id).addEventListener("change", degrade);
  $("degrade").addEventListener("change", () => { state.degradeTouched = true; showDenoiser(); });
  $("maxside").addEventListener("change", () => { if ($("file").files[0]) loadPhoto($("file").files[0], true); });
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", () => state.abort?.abort());
  $("save").addEventListener("click", save);
  try {
    state.manifest = await loadManifest();
    await setupEngines();
    showDenoiser();
    status(`models: ${[...new Set(state.manifest.map((m) => m.id))].join(", ")}; pick a photo or press "Sample photo"`);
    document.body.dataset.state = "loaded";
  } catch (e) {
    status(`cannot load models/models.json: ${e.message}`, true);
    document.body.dataset.state = "error";
  }
}

main();
