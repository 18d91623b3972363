// The restore page: pick/capture a photo, optionally degrade it, run the exported
// models with onnxruntime-web, and compare before/after with a slider.
import * as R from "./restore.js";
import { backendFromUrl, loadManifest, loadModel, ort, runModelTiled } from "./models.js";

const $ = (id) => document.getElementById(id);
const backend = backendFromUrl();
const state = { manifest: null, models: {}, clean: null, photo: null, input: null, kernel: null,
                sigmaN: null, output: null, busy: false, last: null };
window.demo = state;

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "err" : "";
}

function draw(canvas, img) {
  canvas.width = img.w;
  canvas.height = img.h;
  canvas.getContext("2d").putImageData(new ImageData(R.toRGBA(img), img.w, img.h), 0, 0);
}

function updateSplit() {
  const v = Number($("split").value);
  $("after").style.clipPath = `inset(0 0 0 ${v}%)`;
  $("bar").style.left = `${v}%`;
}

async function model(role) {
  if (!state.models[role]) {
    const entry = state.manifest.find((m) => m.role === role);
    if (!entry) throw new Error(`no model with role ${role} in models.json`);
    status(`loading ${entry.file} (${(entry.bytes / 1024).toFixed(0)} KiB) on ${backend.ep}...`);
    state.models[role] = await loadModel(entry, backend.ep, backend.threads);
  }
  return state.models[role];
}

/** Decode an image file / URL into a 3-channel image with the chosen longest side. */
async function loadPhoto(blob) {
  const bitmap = await createImageBitmap(blob);
  const maxSide = Number($("maxside").value);
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(8, Math.round(bitmap.width * scale));
  const h = Math.max(8, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, w, h);
  state.photo = R.fromRGBA(ctx.getImageData(0, 0, w, h).data, h, w);
  degrade();
}

/** Build the model input from the photo according to the "Degrade" settings. */
function degrade() {
  if (!state.photo) return;
  const mode = $("degrade").value;
  const sigma = Number($("sigma").value) / 255;
  state.kernel = null;
  state.sigmaN = null;
  if (mode === "noise") {
    state.input = R.addNoise(state.photo, sigma, 1);
    state.sigmaN = sigma;
    state.clean = state.photo;
  } else if (mode === "blur") {
    state.kernel = R.gaussianKernel(Number($("blurstd").value));
    state.sigmaN = 2.55 / 255;
    state.input = R.addNoise(R.blurCircular(state.photo, state.kernel), state.sigmaN, 2);
    state.clean = state.photo;
    $("task").value = "deblur";
  } else {
    state.input = R.cloneImage(state.photo, Float32Array);
    state.clean = null;
  }
  if (mode === "noise") $("task").value = "denoise";
  state.output = null;
  draw($("before"), state.input);
  draw($("after"), state.input);
  $("download").hidden = true;
  const psnrIn = state.clean ? `input PSNR ${R.psnr(state.input, state.clean).toFixed(2)} dB` : "";
  $("metrics").textContent = `${state.input.w}x${state.input.h} ${psnrIn}`;
  $("run").disabled = false;
  document.body.dataset.state = "ready";
  status("ready: press Run");
}

async function run() {
  if (state.busy || !state.input) return;
  state.busy = true;
  $("run").disabled = true;
  document.body.dataset.state = "running";
  const task = $("task").value;
  try {
    const t0 = performance.now();
    let out;
    let detail = "";
    if (task === "denoise") {
      const m = await model("denoise");
      const sigma = state.sigmaN ?? Number($("sigma").value) / 255;
      const t1 = performance.now();
      out = await runModelTiled(m, state.input, sigma, 256, (i, n) => status(`denoising tile ${i}/${n}`));
      detail = `sigma ${(sigma * 255).toFixed(1)}/255, ${(performance.now() - t1).toFixed(0)} ms inference`;
    } else {
      const m = await model("map_denoiser");
      const kernel = state.kernel ?? R.gaussianKernel(Number($("blurstd").value));
      const res = await R.admmDeblur(state.input, kernel, (img) => runModelTiled(m, img, null, 256), {
        sigmaN: state.sigmaN ?? 2.55 / 255, iters: Number($("iters").value), tol: 1e-4,
        onIteration: (it, x, info) => {
          status(`ADMM iteration ${it}: change ${info.change.toExponential(2)}, ${info.ms.toFixed(0)} ms`);
        },
      });
      out = res.x;
      detail = `ADMM ${res.iterations} iterations${res.converged ? " (converged)" : ""}, kernel ${kernel.kh}x${kernel.kw}`;
    }
    const ms = performance.now() - t0;
    state.output = out;
    draw($("after"), out);
    const rec = { task, ms, detail, backend: backend.ep, threads: backend.threads,
                  width: out.w, height: out.h };
    let text = `${task} ${out.w}x${out.h} on ${backend.ep} (${backend.threads} thread(s)): ${ms.toFixed(0)} ms, ${detail}`;
    if (state.clean) {
      rec.psnr_in = R.psnr(state.input, state.clean);
      rec.psnr_out = R.psnr(out, state.clean);
      text += `\nPSNR ${rec.psnr_in.toFixed(2)} dB -> ${rec.psnr_out.toFixed(2)} dB`;
    }
    state.last = rec;
    $("metrics").textContent = text;
    const link = $("download");
    link.href = $("after").toDataURL("image/png");
    link.hidden = false;
    status("done");
    document.body.dataset.state = "done";
  } catch (e) {
    status(`error: ${e.message ?? e}`, true);
    document.body.dataset.state = "error";
    console.error(e);
  } finally {
    state.busy = false;
    $("run").disabled = false;
  }
}

function setupBackendControls() {
  $("ep").value = backend.ep;
  for (let t = 1; t <= backend.maxThreads; t++) {
    const o = document.createElement("option");
    o.value = o.textContent = String(t);
    $("threads").appendChild(o);
  }
  $("threads").value = String(backend.threads);
  const reload = () => {
    const p = new URLSearchParams(location.search);
    p.set("ep", $("ep").value);
    p.set("threads", $("threads").value);
    location.search = p.toString();
  };
  $("ep").addEventListener("change", reload);
  $("threads").addEventListener("change", reload);
  if (!navigator.gpu) $("ep").querySelector("option[value=webgpu]").disabled = true;
  $("backend").textContent = `onnxruntime-web ${ort.env.versions?.web ?? ""} | backend ${backend.ep}, `
    + `${backend.threads} WASM thread(s) | cross-origin isolated: ${crossOriginIsolated} | `
    + `WebGPU: ${navigator.gpu ? "available" : "not available"}`;
}

async function main() {
  setupBackendControls();
  $("split").addEventListener("input", updateSplit);
  updateSplit();
  $("file").addEventListener("change", () => {
    const f = $("file").files[0];
    if (f) loadPhoto(f).catch((e) => status(`cannot read the photo: ${e.message}`, true));
  });
  $("sample").addEventListener("click", async () => {
    const res = await fetch("samples/astronaut.png");
    await loadPhoto(await res.blob());
  });
  for (const id of ["degrade", "sigma", "blurstd"]) $(id).addEventListener("change", degrade);
  $("maxside").addEventListener("change", () => { if ($("file").files[0]) loadPhoto($("file").files[0]); });
  $("run").addEventListener("click", run);
  try {
    state.manifest = await loadManifest();
    status(`models: ${state.manifest.map((m) => m.file).join(", ")}; pick a photo or press "Sample photo"`);
    document.body.dataset.state = "loaded";
  } catch (e) {
    status(`cannot load models/models.json: ${e.message}`, true);
    document.body.dataset.state = "error";
  }
}

main();
